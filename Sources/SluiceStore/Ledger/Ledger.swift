import Foundation
import Logging
import SluiceCore
import SQLKit
import SQLiteKit

/// Accounts, keys, balances and usage rows, kept in SQLite or PostgreSQL through SQLKit.
///
/// One implementation serves both databases: the SQL is their common subset, and the few
/// places where they must differ ask `dialect` (how a transaction takes its locks, advisory
/// locks around migrations, row locks for leases). The request path never waits on it: keys
/// are cached by the server and usage rows are written in batches. The methods are grouped by
/// concern in `Ledger+Accounts`, `Ledger+Keys`, `Ledger+Usage`, `Ledger+Leases`.
public final class Ledger: Sendable {
    let pool: LedgerConnectionPool
    /// Where the data lives, for messages.
    public let location: LedgerLocation
    let dialect: LedgerDialect
    /// SQLite: where write transactions queue for the file's one write lock (nil on PostgreSQL,
    /// whose row locks let writers of different rows proceed together).
    let writerGate: LedgerWriterGate?
    /// SQLite files: writes usage batches with statements prepared once (nil on PostgreSQL and
    /// for an in-memory database, where usage goes through SQLKit).
    let usageWriter: SQLiteUsageWriter?

    init(pool: LedgerConnectionPool, location: LedgerLocation, usageWriter: SQLiteUsageWriter? = nil) {
        self.pool = pool
        self.location = location
        self.dialect = location.dialect
        self.usageWriter = usageWriter
        if case .sqlite(let path) = location { writerGate = LedgerWriterGate.forFile(path) } else { writerGate = nil }
    }

    /// Opens the ledger at `location` and brings its schema up to date.
    public static func open(_ location: LedgerLocation, logger: Logger) async throws -> Ledger {
        let ledger: Ledger
        switch location {
        case .sqlite(let path): ledger = try await openSQLite(path: path, logger: logger)
        case .postgres(let url): ledger = try await openPostgres(url: url, logger: logger)
        }
        do {
            try await ledger.asWriter { try await ledger.withConnection { try await LedgerSchema.migrate($0, dialect: ledger.dialect) } }
        } catch {
            await ledger.close()
            throw error
        }
        return ledger
    }

    private static func openSQLite(path: String, logger: Logger) async throws -> Ledger {
        // One connection for an in-memory database (each connection would get its own), a few
        // for a file so readers are not queued behind the usage writer (WAL allows both).
        let count = path == ":memory:" ? 1 : 4
        var quieter = logger
        quieter.logLevel = .warning
        let sqlLogger = quieter
        if path != ":memory:" {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
                throw LedgerError.unavailable("cannot open the ledger at \(path): the folder \(folder) does not exist")
            }
        }
        @Sendable func connect() async throws -> LedgerConnection {
            do {
                let connection = try await SQLiteConnection.open(storage: path == ":memory:" ? .memory : .file(path: path), logger: sqlLogger)
                let database = connection.sql(queryLogLevel: nil)
                do {
                    try await switchToWAL(database)
                    try await database.raw("PRAGMA synchronous=NORMAL").run()
                    try await database.raw("PRAGMA foreign_keys=ON").run()
                } catch {
                    try? await connection.close()
                    throw error
                }
                return LedgerConnection(database: database, isClosed: { false }, close: { try? await connection.close() })
            } catch {
                throw LedgerError.unavailable("cannot open the SQLite ledger at \(path): \(String(reflecting: error))")
            }
        }
        var connections: [LedgerConnection] = []
        let usageWriter: SQLiteUsageWriter?
        do {
            for _ in 0..<count { connections.append(try await connect()) }
            // After the first connection: the file exists and is in WAL mode.
            // Not for a database private to its connection (`:memory:`; a library caller's empty
            // path or `file:` URI can name one too): the writer would open one of its own.
            usageWriter = path == ":memory:" || path.isEmpty || path.hasPrefix("file:") ? nil : try SQLiteUsageWriter(path: path)
        } catch {
            for connection in connections { await connection.close() }
            throw error
        }
        return Ledger(pool: LedgerConnectionPool(connections: connections, open: connect), location: .sqlite(path: path), usageWriter: usageWriter)
    }

    /// Puts the file in WAL mode (a no-op when it is already).
    ///
    /// On a new file the switch needs the file's exclusive lock while holding a shared one, and
    /// SQLite answers the loser of that race with "database is locked" at once instead of
    /// waiting in the busy handler (it would deadlock). So instances starting together on one
    /// new file retry here, briefly, until the winner has switched it; a lock held for longer
    /// than `patience` is reported.
    private static func switchToWAL(_ database: any SQLDatabase, patience: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        var pause = Duration.milliseconds(1)
        while true {
            do {
                try await database.raw("PRAGMA journal_mode=WAL").run()
                return
            } catch let error as SQLiteError where error.reason == .busy || error.reason == .locked {
                guard clock.now < deadline else { throw error }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            }
        }
    }

    /// Runs `body` with a connection of its own; statements inside it never interleave with others.
    func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        var slot = try await pool.lease()
        if let connection = slot, connection.isClosed() {
            await connection.close()
            slot = nil
        }
        do {
            let connection: LedgerConnection
            if let slot { connection = slot } else { connection = try await pool.open() }
            slot = connection
            let result = try await body(connection.database)
            await pool.release(connection)
            return result
        } catch {
            // A connection that died mid-statement is replaced on the slot's next lease.
            await pool.release(slot)
            throw describe(error)
        }
    }

    /// Runs `body` in a transaction on a connection of its own.
    ///
    /// SQLite transactions take the write lock up front (`BEGIN IMMEDIATE`): a deferred one that
    /// reads and then writes fails with "database is locked" (SQLITE_BUSY_SNAPSHOT) whenever
    /// another connection wrote in between, and the busy handler cannot retry that. PostgreSQL
    /// transactions are READ COMMITTED; the statements that need a row lock take it.
    func inTransaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let begin: SQLQueryString = dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        return try await asWriter {
            try await withConnection { database in
                try await database.raw(begin).run()
                do {
                    let result = try await body(database)
                    try await database.raw("COMMIT").run()
                    return result
                } catch {
                    try? await database.raw("ROLLBACK").run()
                    throw error
                }
            }
        }
    }

    /// Runs `body` as this process's only writer of a SQLite file (see `LedgerWriterGate`); on
    /// PostgreSQL just runs it.
    func asWriter<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard let writerGate else { return try await body() }
        return try await writerGate.withGate(body)
    }

    /// Whether a trivial query succeeds; for `/readyz`.
    public func isReachable() async -> Bool {
        (try? await withConnection { try await $0.raw("SELECT 1 AS one").first() != nil }) ?? false
    }

    /// Closes every connection; the ledger cannot be used afterwards.
    public func close() async {
        await usageWriter?.close()
        await pool.close()
    }

    /// Runs `body`, then closes the ledger however `body` ends: a ledger dropped open (a server
    /// that could not bind its port, say) would leave its connections unclosed.
    public func closing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }

    /// Milliseconds since 1970 from the system clock.
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}

/// The two databases a ledger can live in, where their SQL must differ.
enum LedgerDialect: Sendable {
    case sqlite, postgres
}

extension LedgerLocation {
    var dialect: LedgerDialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }
}
