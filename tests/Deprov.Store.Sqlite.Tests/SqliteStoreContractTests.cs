using Deprov.Core.Store;
using Deprov.Testing;
using Deprov.Testing.StoreContract;

namespace Deprov.Store.Sqlite.Tests;

public sealed class SqliteStoreFactory : IStoreFactory
{
    public Task<IStore> CreateAsync() => TestStore.Sqlite.CreateAsync(CancellationToken.None);
}

public sealed class SqliteStoreContractTests : StoreContractTests<SqliteStoreFactory>;

public sealed class SqliteAccessStoreContractTests : AccessStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteReconciliationStoreContractTests : ReconciliationStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteCaseStoreContractTests : CaseStoreContractTests<SqliteStoreFactory>;

public sealed class SqliteRecordsStoreContractTests : RecordsStoreContractTests<SqliteStoreFactory>;
