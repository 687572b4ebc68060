using Deprov.Testing;

namespace Deprov.Store.Sqlite.Tests;

/// <summary>The seam that lets engine, hosting and server tests run on another store: <see cref="TestStore"/>.</summary>
public sealed class TestStoreTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sqlite")]
    [InlineData(" SQLite ")]
    public void Named_UnsetOrSqlite_IsTheEmbeddedStore(string? name) => Assert.Same(TestStore.Sqlite, TestStore.Named(name));

    [Fact]
    public void Named_UnknownStore_FailsNamingTheVariableAndTheKnownStores()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TestStore.Named("oracle"));
        Assert.Contains("DEPROV_TEST_STORE='oracle'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'sqlite'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateAsync_SameFolderAgain_ReopensTheSameStoreWithItsData()
    {
        var first = await TestEnvironment.CreateAsync(store: TestStore.Sqlite);
        var person = Some.Person();
        await first.Engine.Store.UpsertPeopleAsync([person], CancellationToken.None);
        Assert.Same(TestStore.Sqlite, first.Store);
        await first.Engine.DisposeAsync(); // the engine stops; its folder stays, as after a crash

        await using var again = await TestEnvironment.CreateAsync(directory: first.Directory, store: TestStore.Sqlite);

        Assert.Equal(person, await again.Engine.Store.GetPersonAsync(person.Id, CancellationToken.None));
    }

    [Fact]
    public async Task CreateAsync_FreshStores_AreEmptyAndApart()
    {
        await using var a = await TestStore.Sqlite.CreateAsync(CancellationToken.None);
        await using var b = await TestStore.Sqlite.CreateAsync(CancellationToken.None);
        await a.UpsertPeopleAsync([Some.Person()], CancellationToken.None);

        Assert.Equal(1, await a.CountPeopleAsync(CancellationToken.None));
        Assert.Equal(0, await b.CountPeopleAsync(CancellationToken.None));
        Assert.True(await b.GetSchemaVersionAsync(CancellationToken.None) >= 1);
    }
}
