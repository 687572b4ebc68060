using Deprov.Core.Store;
using Deprov.Store.Postgres;
using Deprov.Testing.Postgres;
using Deprov.Testing.StoreContract;

namespace Deprov.Store.Postgres.Tests;

/// <summary>A fresh, migrated database on the shared throw-away server for every store a contract test asks for.</summary>
public sealed class PostgresStoreFactory : IStoreFactory
{
    public async Task<IStore> CreateAsync()
    {
        var server = await PostgresServer.SharedAsync();
        var store = new PostgresStore(await server.CreateDatabaseAsync());
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}

public sealed class PostgresStoreContractTests : StoreContractTests<PostgresStoreFactory>;

public sealed class PostgresAccessStoreContractTests : AccessStoreContractTests<PostgresStoreFactory>;

public sealed class PostgresReconciliationStoreContractTests : ReconciliationStoreContractTests<PostgresStoreFactory>;

public sealed class PostgresCaseStoreContractTests : CaseStoreContractTests<PostgresStoreFactory>;

public sealed class PostgresRecordsStoreContractTests : RecordsStoreContractTests<PostgresStoreFactory>;
