import SQLKit

/// The ledger's tables, as numbered migrations that run once each on start.
///
/// The SQL is the common subset of SQLite and PostgreSQL (BIGINT times in milliseconds, INTEGER
/// flags), so one ledger implementation serves both.
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
    ]

    /// Applies every migration not yet recorded in `sluice_migrations`, each in a transaction.
    static func migrate(_ database: any SQLDatabase) async throws {
        try await database.raw("CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").run()
        let applied = Set(try await database.raw("SELECT version FROM sluice_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
        for migration in migrations where !applied.contains(migration.version) {
            try await database.raw("BEGIN").run()
            do {
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
