using Deprov.Core.Store;
using Deprov.Store.Sqlite;
using Deprov.Testing;
using Deprov.Testing.StoreContract;

namespace Deprov.Store.Sqlite.Tests;

public sealed class SqliteStoreFactory : IStoreFactory
{
    public async Task<IStore> CreateAsync()
    {
        var store = new SqliteStore(Path.Combine(TestEnvironment.NewTempDirectory("deprov-sqlite"), "deprov.db"), SqliteDurability.Full);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}

public sealed class SqliteStoreContractTests : StoreContractTests<SqliteStoreFactory>;

public sealed class SqliteAccessStoreContractTests : AccessStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteReconciliationStoreContractTests : ReconciliationStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteCaseStoreContractTests : CaseStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteRecordsStoreContractTests : RecordsStoreContractTests<SqliteStoreFactory>;
