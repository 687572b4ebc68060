using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Security;
using Deprov.Core.Store;
using System.Data.Common;

namespace Deprov.Store.Relational;

/// <summary>Console users, API keys, audit search and the console's exposure series.</summary>
public abstract partial class RelationalStore
{
    private const string UserColumns = "name, role, password_hash, created_at, created_by";
    private const string ApiKeyColumns = "id, name, role, hash, created_by, created_at, last_used_at, revoked_at";

    public Task CreateUserAsync(UserAccount user, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            if (Scalar(c, tx, $"SELECT 1 FROM users WHERE {Sql.NoCase("name")} = {Sql.NoCase("@n")}", ("@n", user.Name)) is not null)
            {
                throw new ValidationException($"A user named '{user.Name}' already exists.");
            }

            Exec(c, tx, "INSERT INTO users(name, role, password_hash, created_at, created_by) VALUES (@n, @r, @h, @at, @by)",
                ("@n", user.Name), ("@r", (int)user.Role), ("@h", user.PasswordHash), ("@at", T(user.CreatedAt)), ("@by", user.CreatedBy));
            AppendAudit(c, tx, [audit]);
            return 0;
        }, cancellationToken);

    public Task<UserAccount?> FindUserAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, $"SELECT {UserColumns} FROM users WHERE {Sql.NoCase("name")} = {Sql.NoCase("@n")}", ("@n", name));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadUser(r) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<UserAccount>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {UserColumns} FROM users ORDER BY {Sql.NoCase("name")}, name");
            using var r = cmd.ExecuteReader();
            var list = new List<UserAccount>();
            while (r.Read())
            {
                list.Add(ReadUser(r));
            }

            return list;
        }, cancellationToken);

    public Task<int> CountUsersAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => Convert.ToInt32(Scalar(c, null, "SELECT COUNT(*) FROM users"), System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    public Task CreateApiKeyAsync(ApiKey key, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            if (Scalar(c, tx, "SELECT 1 FROM api_keys WHERE id = @id", ("@id", key.Id)) is not null)
            {
                throw new ValidationException($"An API key with id '{key.Id}' already exists.");
            }

            Exec(c, tx, $"INSERT INTO api_keys({ApiKeyColumns}) VALUES (@id, @n, @r, @h, @by, @at, @used, @rev)",
                ("@id", key.Id), ("@n", key.Name), ("@r", (int)key.Role), ("@h", key.Hash), ("@by", key.CreatedBy), ("@at", T(key.CreatedAt)),
                ("@used", T(key.LastUsedAt)), ("@rev", T(key.RevokedAt)));
            AppendAudit(c, tx, [audit]);
            return 0;
        }, cancellationToken);

    public Task<ApiKey?> FindApiKeyByHashAsync(byte[] hash, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, $"SELECT {ApiKeyColumns} FROM api_keys WHERE hash = @h", ("@h", hash));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadApiKey(r) : null;
        }, cancellationToken);

    public Task TouchApiKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            Exec(c, tx, $"UPDATE api_keys SET last_used_at = {Sql.Greatest("COALESCE(last_used_at, 0)", "@at")} WHERE id = @id", ("@at", T(at)), ("@id", id));
            return 0;
        }, cancellationToken);

    public Task<bool> RevokeApiKeyAsync(string id, AuditEntry audit, DateTimeOffset at, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            using var cmd = Command(c, tx, "UPDATE api_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL", ("@at", T(at)), ("@id", id));
            if (cmd.ExecuteNonQuery() == 0)
            {
                return false;
            }

            AppendAudit(c, tx, [audit]);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ApiKey>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {ApiKeyColumns} FROM api_keys ORDER BY created_at, id");
            using var r = cmd.ExecuteReader();
            var list = new List<ApiKey>();
            while (r.Read())
            {
                list.Add(ReadApiKey(r));
            }

            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<AuditRecord>>(c =>
        {
            // Newest first by primary key: a selective filter uses its partial index, the others stop after Limit rows.
            using var cmd = Command(c, null,
                $"SELECT {AuditColumns} FROM audit WHERE (person_id = @p OR @p IS NULL) AND (case_id = @c OR @c IS NULL) AND (actor = @a OR @a IS NULL) " +
                "AND (action = @act OR @act IS NULL) AND (seq < @before OR @before IS NULL) ORDER BY seq DESC LIMIT @limit",
                ("@p", query.PersonId), ("@c", query.CaseId), ("@a", query.Actor), ("@act", query.Action), ("@before", query.BeforeSeq),
                ("@limit", Math.Clamp(query.Limit, 1, 1000)));
            using var r = cmd.ExecuteReader();
            var list = new List<AuditRecord>();
            while (r.Read())
            {
                list.Add(ReadAudit(r));
            }

            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<ExposurePoint>> GetExposureSeriesAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ExposurePoint>>(c =>
        {
            using var cmd = Command(c, null,
                $"SELECT cut_verified_at, {Sql.Greatest("cut_verified_at - cut_at", "0")} FROM cases WHERE cut_verified_at IS NOT NULL AND cut_verified_at >= @since " +
                $"AND kind != {(int)Core.Model.CaseKind.Restore} ORDER BY cut_verified_at",
                ("@since", T(since)));
            using var r = cmd.ExecuteReader();
            var list = new List<ExposurePoint>();
            while (r.Read())
            {
                list.Add(new ExposurePoint(D(r.GetInt64(0)), r.GetInt64(1) / (double)TimeSpan.TicksPerMillisecond));
            }

            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<Core.Planning.LegalHold>> ListLegalHoldsAsync(int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Core.Planning.LegalHold>>(c =>
        {
            using var cmd = Command(c, null, "SELECT id, person_id, system_id, reason, set_by, set_at FROM legal_holds WHERE released_at IS NULL ORDER BY set_at DESC LIMIT @l",
                ("@l", limit));
            using var r = cmd.ExecuteReader();
            var list = new List<Core.Planning.LegalHold>();
            while (r.Read())
            {
                list.Add(new Core.Planning.LegalHold(r.GetString(0), r.GetString(1), SN(r, 2), r.GetString(3), r.GetString(4), D(r.GetInt64(5))));
            }

            return list;
        }, cancellationToken);

    private static UserAccount ReadUser(DbDataReader r) =>
        new(r.GetString(0), (Role)r.GetInt32(1), r.GetString(2), D(r.GetInt64(3)), r.GetString(4));

    private static ApiKey ReadApiKey(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), (Role)r.GetInt32(2), (byte[])r[3], r.GetString(4), D(r.GetInt64(5)), DN(r, 6), DN(r, 7));
}
