import SQLKit

/// The ledger's tables, as numbered migrations that run once each on start.
///
/// The SQL is the common subset of SQLite and PostgreSQL (BIGINT times in milliseconds, INTEGER
/// flags, TEXT keys, no autoincrement), so one ledger implementation serves both.
enum LedgerSchema {
    static let migrations: [(version: Int, statements: [SQLQueryString])] = [
        (1, [
            """
            CREATE TABLE accounts (
                name TEXT PRIMARY KEY,
                balance_nanos BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                digest TEXT NOT NULL UNIQUE,
                display_prefix TEXT NOT NULL,
                account TEXT NOT NULL REFERENCES accounts(name),
                env TEXT NOT NULL,
                preset TEXT NOT NULL,
                name TEXT,
                created_at BIGINT NOT NULL,
                expires_at BIGINT,
                revoked_at BIGINT,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX api_keys_updated_at ON api_keys (updated_at)",
            "CREATE INDEX accounts_updated_at ON accounts (updated_at)",
            """
            CREATE TABLE usage_rows (
                request_id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL,
                account TEXT NOT NULL,
                env TEXT NOT NULL,
                user_id TEXT,
                endpoint TEXT NOT NULL,
                requested_model TEXT,
                served_model TEXT,
                status INTEGER NOT NULL,
                error_code TEXT,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cost_nanos BIGINT NOT NULL,
                latency_ms BIGINT NOT NULL,
                ttfb_ms BIGINT,
                attempts INTEGER NOT NULL,
                streamed INTEGER NOT NULL,
                estimated INTEGER NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX usage_rows_created_at ON usage_rows (created_at)",
            """
            CREATE TABLE usage_properties (
                request_id TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (request_id, name)
            )
            """,
        ]),
        // Every change of a balance (top-up or debit) bumps its version, so an instance can
        // tell a fresh read from a stale one.
        (2, ["ALTER TABLE accounts ADD COLUMN balance_version BIGINT NOT NULL DEFAULT 0"]),
        // The change feed (`Ledger+Changes`): one counter row whose lock puts the writers of keys
        // and accounts in commit order, and the position each change got. Then the balance
        // leases of instances sharing a PostgreSQL ledger (`Ledger+Leases`).
        (3, [
            "CREATE TABLE sluice_change_counter (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO sluice_change_counter (id, value) VALUES (1, 0)",
            "ALTER TABLE accounts ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE api_keys ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX accounts_change_seq ON accounts (change_seq)",
            "CREATE INDEX api_keys_change_seq ON api_keys (change_seq)",
            """
            CREATE TABLE credit_leases (
                account TEXT NOT NULL REFERENCES accounts(name),
                holder TEXT NOT NULL,
                amount_nanos BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (account, holder)
            )
            """,
        ]),
    ]

    /// The PostgreSQL advisory lock held while migrating, so instances starting together migrate
    /// one after the other (the later ones then find nothing to do).
    static let migrationLockKey: Int64 = 0x5_1C1CE_1ED6E5

    /// Applies every migration not yet recorded in `sluice_migrations`, each in a transaction;
    /// on PostgreSQL under the advisory lock, since even `CREATE TABLE IF NOT EXISTS` fails
    /// when two sessions run it at once.
    static func migrate(_ database: any SQLDatabase, dialect: LedgerDialect) async throws {
        guard dialect == .postgres else { return try await applyPending(database, begin: "BEGIN IMMEDIATE") }
        try await database.raw("SELECT pg_advisory_lock(\(bind: migrationLockKey))").run()
        do {
            try await applyPending(database, begin: "BEGIN")
        } catch {
            try? await database.raw("SELECT pg_advisory_unlock(\(bind: migrationLockKey))").run()
            throw error
        }
        try await database.raw("SELECT pg_advisory_unlock(\(bind: migrationLockKey))").run()
    }

    /// SQLite: each migration re-checks inside its `BEGIN IMMEDIATE` transaction, since another
    /// process may have applied it since the list was read.
    private static func applyPending(_ database: any SQLDatabase, begin: SQLQueryString) async throws {
        try await database.raw("CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").run()
        let applied = Set(try await database.raw("SELECT version FROM sluice_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
        for migration in migrations where !applied.contains(migration.version) {
            try await database.raw(begin).run()
            do {
                if try await database.raw("SELECT version FROM sluice_migrations WHERE version = \(bind: migration.version)").first() != nil {
                    try await database.raw("COMMIT").run()
                    continue
                }
                for statement in migration.statements { try await database.raw(statement).run() }
                try await database.raw("INSERT INTO sluice_migrations (version, applied_at) VALUES (\(bind: migration.version), \(bind: Ledger.nowMs()))").run()
                try await database.raw("COMMIT").run()
            } catch {
                try? await database.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}
