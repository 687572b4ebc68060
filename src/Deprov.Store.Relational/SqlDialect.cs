using System.Text;

namespace Deprov.Store.Relational;

/// <summary>
/// The few places where SQLite's and PostgreSQL's SQL differ, as fragments the shared statements are built from. Everything
/// else the store writes is SQL both accept: <c>@name</c> parameters, <c>ON CONFLICT</c> upserts, <c>RETURNING</c>,
/// <c>CASE</c> instead of summed booleans. Tables, columns and integer encodings are the same in both schemas.
/// </summary>
internal sealed class SqlDialect
{
    public static readonly SqlDialect Sqlite = new(postgres: false);

    public static readonly SqlDialect Postgres = new(postgres: true);

    private readonly bool _postgres;

    private SqlDialect(bool postgres) => _postgres = postgres;

    /// <summary>The larger of two non-null values (SQLite's two-argument MAX, PostgreSQL's GREATEST).</summary>
    public string Greatest(string a, string b) => _postgres ? $"GREATEST({a}, {b})" : $"MAX({a}, {b})";

    /// <summary>Null-safe "not equal".</summary>
    /// <summary>Null-safe equality: true when both sides are equal or both are NULL.</summary>
    public string IsNotDistinct => _postgres ? "IS NOT DISTINCT FROM" : "IS";

    public string IsDistinct => _postgres ? "IS DISTINCT FROM" : "IS NOT";

    /// <summary>A case-insensitive key: SQLite declares the column COLLATE NOCASE, PostgreSQL compares lower-cased.</summary>
    public string NoCase(string expression) => _postgres ? $"lower({expression})" : expression;

    /// <summary>The rows of a JSON array of strings bound to <paramref name="parameter"/>, as a sub-select for IN.</summary>
    public string IdList(string parameter) =>
        _postgres ? $"(SELECT jsonb_array_elements_text(CAST({parameter} AS text)::jsonb))" : $"(SELECT value FROM json_each({parameter}))";

    /// <summary>Comma-joined values of a group.</summary>
    public string StringAgg(string expression) => _postgres ? $"string_agg({expression}, ',')" : $"group_concat({expression}, ',')";

    /// <summary>The memberships of an account (its JSON column, see MembershipSet) as rows named <c>j</c>, for a FROM list.</summary>
    public string Memberships(string column) =>
        _postgres ? $"jsonb_array_elements(CAST({column} AS jsonb)) AS j(value)" : $"json_each({column}) j";

    /// <summary>The fields of a membership row <c>j</c>: entitlement id, grant source, expiry and since.</summary>
    public string MEntitlement => _postgres ? "(j.value->>0)" : "json_extract(j.value, '$[0]')";

    public string MSource => _postgres ? "CAST(j.value->>1 AS bigint)" : "json_extract(j.value, '$[1]')";

    public string MExpires => _postgres ? "CAST(j.value->>2 AS bigint)" : "json_extract(j.value, '$[2]')";

    public string MSince => _postgres ? "CAST(j.value->>3 AS bigint)" : "json_extract(j.value, '$[3]')";

    /// <summary>The membership rows <c>j</c> of a group, as the column's JSON text again.</summary>
    public string MembershipAgg => _postgres ? "CAST(jsonb_agg(j.value) AS text)" : "json_group_array(json(j.value))";

    /// <summary>Membership rows built from four expressions, aggregated into the column's JSON text.</summary>
    public string MembershipRows(string entitlement, string source, string expires, string since) =>
        _postgres
            ? $"CAST(jsonb_agg(jsonb_build_array({entitlement}, {source}, {expires}, CAST({since} AS bigint))) AS text)"
            : $"json_group_array(json_array({entitlement}, {source}, {expires}, {since}))";

    /// <summary>The column's set with one membership (no expiry) appended.</summary>
    public string AppendMembership(string column, string entitlement, string source, string since) =>
        _postgres
            ? $"CAST(CAST(COALESCE({column}, '[]') AS jsonb) || jsonb_build_array(jsonb_build_array(CAST({entitlement} AS text), CAST({source} AS bigint), NULL, CAST({since} AS bigint))) AS text)"
            : $"json_insert(COALESCE({column}, '[]'), '$[#]', json_array({entitlement}, {source}, NULL, {since}))";

    /// <summary>
    /// The row lock a claim's SELECT takes on the steps it returns (alias <paramref name="alias"/>): on PostgreSQL, rows another
    /// transaction holds are skipped rather than waited for, so concurrent claimers never take the same step. SQLite has
    /// one writer, which is the lock.
    /// </summary>
    public string ClaimLock(string alias) => _postgres ? $" FOR UPDATE OF {alias} SKIP LOCKED" : string.Empty;

    /// <summary>
    /// A statement written with SQLite's positional parameters (<c>?1</c>, <c>?2</c>…, or bare <c>?</c> in order) in the
    /// provider's own positional form (PostgreSQL: <c>$1</c>, <c>$2</c>…).
    /// </summary>
    public string Positional(string sql)
    {
        if (!_postgres)
        {
            return sql;
        }

        var sb = new StringBuilder(sql.Length + 8);
        var next = 1;
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] != '?')
            {
                sb.Append(sql[i]);
                continue;
            }

            var j = i + 1;
            while (j < sql.Length && char.IsAsciiDigit(sql[j]))
            {
                j++;
            }

            sb.Append('$');
            if (j > i + 1)
            {
                sb.Append(sql, i + 1, j - i - 1);
                i = j - 1;
            }
            else
            {
                sb.Append(next++);
            }
        }

        return sb.ToString();
    }
}
