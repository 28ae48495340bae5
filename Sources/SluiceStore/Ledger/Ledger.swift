import Foundation
import Logging
import NIOPosix
import SluiceCore
import SQLKit
import SQLiteKit

/// Accounts, keys, balances and usage rows, kept in SQLite (or, later, PostgreSQL) through SQLKit.
///
/// The request path never waits on it: keys are cached by the server and usage rows are written
/// in batches. The methods are grouped by concern in `Ledger+Accounts`, `Ledger+Keys` and
/// `Ledger+Usage`.
public final class Ledger: Sendable {
    let pool: LedgerConnectionPool
    /// Where the data lives, for messages.
    public let location: LedgerLocation

    init(pool: LedgerConnectionPool, location: LedgerLocation) {
        self.pool = pool
        self.location = location
    }

    /// Opens the ledger at `location` and brings its schema up to date.
    public static func open(_ location: LedgerLocation, logger: Logger) async throws -> Ledger {
        switch location {
        case .sqlite(let path):
            let ledger = try await openSQLite(path: path, logger: logger)
            try await ledger.withConnection { try await LedgerSchema.migrate($0) }
            return ledger
        case .postgres:
            throw LedgerError.unavailable("the PostgreSQL ledger is not available in this version; use sqlite:PATH")
        }
    }

    private static func openSQLite(path: String, logger: Logger) async throws -> Ledger {
        // One connection for an in-memory database (each connection would get its own), a few
        // for a file so readers are not queued behind the usage writer (WAL allows both).
        let count = path == ":memory:" ? 1 : 4
        var connections: [SQLiteConnection] = []
        var sqlLogger = logger
        sqlLogger.logLevel = .warning
        do {
            if path != ":memory:" {
                let folder = (path as NSString).deletingLastPathComponent
                if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
                    throw LedgerError.unavailable("cannot open the ledger at \(path): the folder \(folder) does not exist")
                }
            }
            for _ in 0..<count {
                let connection = try await SQLiteConnection.open(storage: path == ":memory:" ? .memory : .file(path: path), logger: sqlLogger)
                connections.append(connection)
                let database = connection.sql(queryLogLevel: nil)
                try await database.raw("PRAGMA journal_mode=WAL").run()
                try await database.raw("PRAGMA synchronous=NORMAL").run()
                try await database.raw("PRAGMA foreign_keys=ON").run()
            }
        } catch let error as LedgerError {
            for connection in connections { try? await connection.close() }
            throw error
        } catch {
            for connection in connections { try? await connection.close() }
            throw LedgerError.unavailable("cannot open the SQLite ledger at \(path): \(String(reflecting: error))")
        }
        let databases = connections.map { $0.sql(queryLogLevel: nil) }
        let opened = connections
        let pool = LedgerConnectionPool(connections: databases) {
            for connection in opened { try? await connection.close() }
        }
        return Ledger(pool: pool, location: .sqlite(path: path))
    }

    /// Runs `body` with a connection of its own; statements inside it never interleave with others.
    func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = await pool.lease()
        do {
            let result = try await body(connection)
            await pool.release(connection)
            return result
        } catch {
            await pool.release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a connection of its own.
    ///
    /// SQLite transactions take the write lock up front (`BEGIN IMMEDIATE`): a deferred one that
    /// reads and then writes fails with "database is locked" (SQLITE_BUSY_SNAPSHOT) whenever
    /// another connection wrote in between, and the busy handler cannot retry that.
    func inTransaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let begin: SQLQueryString = if case .sqlite = location { "BEGIN IMMEDIATE" } else { "BEGIN" }
        return try await withConnection { database in
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

    /// Whether a trivial query succeeds; for `/readyz`.
    public func isReachable() async -> Bool {
        (try? await withConnection { try await $0.raw("SELECT 1 AS one").first() != nil }) ?? false
    }

    /// Closes every connection; the ledger cannot be used afterwards.
    public func close() async {
        await pool.close()
    }

    /// Milliseconds since 1970 from the system clock.
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
