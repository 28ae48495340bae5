#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix
import SluiceCore
import Synchronization
// The SQLite that SQLiteNIO builds and links (its `VaporCSQLite` target), so the file is opened
// by one SQLite library, sharing its locks, whichever connection opens it.
import VaporCSQLite

/// Writes usage batches into a SQLite file ledger through SQLite's C API, on a connection of its
/// own whose statements are prepared once.
///
/// Through SQLiteNIO, every flush prepared an INSERT with a thousand rows of placeholders and
/// copied each bound string twice. With the rest of the flush, that was a twelfth of a proxied
/// call's CPU time (docs/benchmarks.md, round 6). Here each row is bound from its own strings
/// into one prepared single-row INSERT and stepped. `sqlite3_changes` then says whether the row
/// was new, so a retried batch is never debited twice, and nothing is read back.
///
/// Files only: an in-memory database belongs to the connection that opened it, so an in-memory
/// ledger writes its usage through SQLKit, as PostgreSQL does. The statements are the same as
/// that path's, and both run under the ledger's writer gate.
final class SQLiteUsageWriter: Sendable {
    private let connection: Mutex<Connection?>
    private let path: String
    /// The writer's own thread: a batch waiting for another process's write lock blocks it, not
    /// one of the few threads SQLiteNIO's connections share.
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// Opens the file (which `Ledger.openSQLite` has already opened and set to WAL).
    init(path: String) throws(LedgerError) {
        self.path = path
        self.connection = Mutex(try Connection(path: path))
        thread.start()
    }

    /// Inserts `rows` and their properties, and debits the cost of the new ones from their
    /// accounts (and from `leaseHolder`'s leases), in one transaction, on the writer's thread.
    func write(_ rows: [UsageRow], leaseHolder: String?) async throws -> [AccountDebit] {
        // Checked here too: once closed, the thread is gone and would only say "cancelled".
        guard isOpen else { throw LedgerError.unavailable("the ledger is closed") }
        do {
            return try await thread.runIfActive { [self] in
                try connection.withLock { connection throws(LedgerError) -> [AccountDebit] in
                    guard let connection else { throw LedgerError.unavailable("the ledger is closed") }
                    do throws(Failure) {
                        return try connection.write(rows, leaseHolder: leaseHolder)
                    } catch {
                        throw LedgerError.unavailable("the SQLite ledger at \(path) refused a usage batch: \(error.message)")
                    }
                }
            }
        } catch is CancellationError where !isOpen {
            // Closed between the check and the thread taking the batch.
            throw LedgerError.unavailable("the ledger is closed")
        }
    }

    private var isOpen: Bool { connection.withLock { $0 != nil } }

    /// Closes the connection and stops the thread. On the writer's thread, after the batch it
    /// is writing: a batch waiting for another process's write lock then holds up only this
    /// task, not a thread of the caller's.
    func close() async {
        try? await thread.runIfActive { [self] in connection.withLock { $0 = nil } }
        try? await thread.shutdownGracefully()
    }

    /// A SQLite error, as `sqlite3_errmsg` words it.
    struct Failure: Error {
        let message: String
    }

    /// Tells SQLite to copy bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The open connection and its prepared statements; used under the writer's lock only.
    final class Connection {
        private let db: OpaquePointer
        private var statements: Statements?

        init(path: String) throws(LedgerError) {
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
            let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
            guard opened == SQLITE_OK, let handle else {
                let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "error \(opened)"
                sqlite_nio_sqlite3_close(handle)
                throw LedgerError.unavailable("cannot open the SQLite ledger at \(path) for usage: \(message)")
            }
            db = handle
            // As SQLiteNIO's connections: wait for another process's write lock (a `sluice keys`
            // command, another instance) rather than fail; after a few quick tries, in 1 ms
            // sleeps, so a long wait does not spin a thread-pool thread.
            sqlite_nio_sqlite3_busy_handler(db, { _, tries in
                if tries >= 8 { usleep(1_000) }
                return 1
            }, nil)
            do {
                try execute("PRAGMA synchronous=NORMAL")
                try execute("PRAGMA foreign_keys=ON")
            } catch {
                // (`deinit` closes the handle: it runs for an initializer that throws once every
                // property is set.)
                throw LedgerError.unavailable("cannot open the SQLite ledger at \(path) for usage: \(error.message)")
            }
        }

        deinit {
            statements?.finalize()
            sqlite_nio_sqlite3_close(db)
        }

        func write(_ rows: [UsageRow], leaseHolder: String?) throws(Failure) -> [AccountDebit] {
            // Prepared on first use: the tables exist only once the ledger has migrated.
            let statements: Statements
            if let prepared = self.statements {
                statements = prepared
            } else {
                statements = try Statements(db: db)
                self.statements = statements
            }
            // A transaction left open by a failed ROLLBACK would refuse every later BEGIN.
            if sqlite_nio_sqlite3_get_autocommit(db) == 0 { _ = sqlite_nio_sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            try execute("BEGIN IMMEDIATE")
            do throws(Failure) {
                var costs: [String: Int64] = [:]
                for index in rows.indices {
                    // By index: a copy of each row would retain and release its strings.
                    let row = rows[index]
                    if try insert(row, with: statements.insertRow), row.cost.value != 0 {
                        // Only rows new to the ledger are debited, so a retried batch never charges twice.
                        costs[row.account, default: 0] += row.cost.value
                    }
                    for (name, value) in row.properties.sorted(by: { $0.key < $1.key }) {
                        try run(statements.insertProperty) { statement throws(Failure) in
                            try bind(row.requestID, to: statement, at: 1)
                            try bind(name, to: statement, at: 2)
                            try bind(value, to: statement, at: 3)
                        }
                    }
                }
                var debits: [AccountDebit] = []
                // Accounts in name order, then their leases: the same lock order as the other ledger paths.
                for (account, cost) in costs.sorted(by: { $0.key < $1.key }) {
                    guard let debit = try debit(account, cost: cost, leaseHolder: leaseHolder, statements: statements) else { continue }
                    debits.append(debit)
                }
                try execute("COMMIT")
                return debits
            } catch {
                _ = sqlite_nio_sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }

        /// Inserts one usage row; true when it was new.
        private func insert(_ row: UsageRow, with statement: OpaquePointer) throws(Failure) -> Bool {
            try run(statement) { statement throws(Failure) in
                try bind(row.requestID, to: statement, at: 1)
                try bind(row.keyID, to: statement, at: 2)
                try bind(row.account, to: statement, at: 3)
                try bind(row.environment, to: statement, at: 4)
                try bind(row.userID, to: statement, at: 5)
                try bind(row.endpoint, to: statement, at: 6)
                try bind(row.requestedModel, to: statement, at: 7)
                try bind(row.servedModel, to: statement, at: 8)
                try bind(Int64(row.status), to: statement, at: 9)
                try bind(row.errorCode, to: statement, at: 10)
                try bind(Int64(row.inputTokens), to: statement, at: 11)
                try bind(Int64(row.outputTokens), to: statement, at: 12)
                try bind(row.cost.value, to: statement, at: 13)
                try bind(Int64(row.latencyMs), to: statement, at: 14)
                try bind(row.timeToFirstByteMs.map(Int64.init), to: statement, at: 15)
                try bind(Int64(row.attempts), to: statement, at: 16)
                try bind(row.streamed ? 1 : 0, to: statement, at: 17)
                try bind(row.estimated ? 1 : 0, to: statement, at: 18)
                try bind(row.createdAtMs, to: statement, at: 19)
            }
            return sqlite_nio_sqlite3_changes(db) == 1
        }

        /// Takes `cost` off `account` (and off `leaseHolder`'s lease on it); nil when there is no
        /// such account.
        private func debit(_ account: String, cost: Int64, leaseHolder: String?, statements: Statements) throws(Failure) -> AccountDebit? {
            var after: (balance: NanoDollars?, version: Int64)?
            try run(statements.debitAccount, bind: { statement throws(Failure) in
                try bind(cost, to: statement, at: 1)
                try bind(account, to: statement, at: 2)
            }, row: { statement in
                after = (nullableInteger(statement, column: 0).map(NanoDollars.init), sqlite_nio_sqlite3_column_int64(statement, 1))
            })
            guard let after else { return nil }
            var lease: CreditLease?
            if let leaseHolder, after.balance != nil {
                // A call that cost more than its lease held leaves the lease at zero; the excess
                // is the documented overshoot (real cost beyond the reservation).
                try run(statements.debitLease, bind: { statement throws(Failure) in
                    try bind(cost, to: statement, at: 1)
                    try bind(account, to: statement, at: 2)
                    try bind(leaseHolder, to: statement, at: 3)
                }, row: { statement in
                    lease = CreditLease(amount: NanoDollars(sqlite_nio_sqlite3_column_int64(statement, 0)),
                                        version: sqlite_nio_sqlite3_column_int64(statement, 1),
                                        expiresAtMs: sqlite_nio_sqlite3_column_int64(statement, 2))
                })
            }
            return AccountDebit(account: account, amount: NanoDollars(cost), balanceAfter: after.balance, version: after.version, lease: lease)
        }

        /// Binds with `bind`, steps `statement` to its end (handing each result row to `row`), and
        /// resets it for the next use.
        private func run(_ statement: OpaquePointer, bind: (OpaquePointer) throws(Failure) -> Void,
                         row: (OpaquePointer) -> Void = { _ in }) throws(Failure) {
            defer { sqlite_nio_sqlite3_reset(statement) }
            try bind(statement)
            while true {
                switch sqlite_nio_sqlite3_step(statement) {
                case SQLITE_ROW: row(statement)
                case SQLITE_DONE: return
                default: throw failure()
                }
            }
        }

        private func execute(_ sql: String) throws(Failure) {
            guard sqlite_nio_sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure() }
        }

        private func bind(_ value: String?, to statement: OpaquePointer, at index: Int32) throws(Failure) {
            guard let value else { return try check(sqlite_nio_sqlite3_bind_null(statement, index)) }
            // SQLite copies the text (into its own small-allocation slots), so the string's own
            // bytes are lent for the call only: no copy on the Swift side. (An empty string is
            // bound from a literal: a nil pointer would bind NULL.)
            let result = value.isEmpty ? nil : value.utf8.withContiguousStorageIfAvailable { bytes in
                bytes.withMemoryRebound(to: CChar.self) { text in
                    sqlite_nio_sqlite3_bind_text64(statement, index, text.baseAddress, UInt64(text.count), SQLiteUsageWriter.transient, UInt8(SQLITE_UTF8))
                }
            }
            let bound = result ?? sqlite_nio_sqlite3_bind_text64(statement, index, value, UInt64(value.utf8.count), SQLiteUsageWriter.transient, UInt8(SQLITE_UTF8))
            try check(bound)
        }

        private func bind(_ value: Int64?, to statement: OpaquePointer, at index: Int32) throws(Failure) {
            try check(value.map { sqlite_nio_sqlite3_bind_int64(statement, index, $0) } ?? sqlite_nio_sqlite3_bind_null(statement, index))
        }

        private func nullableInteger(_ statement: OpaquePointer, column: Int32) -> Int64? {
            sqlite_nio_sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite_nio_sqlite3_column_int64(statement, column)
        }

        private func check(_ result: Int32) throws(Failure) {
            guard result == SQLITE_OK else { throw failure() }
        }

        private func failure() -> Failure {
            Failure(message: String(cString: sqlite_nio_sqlite3_errmsg(db)))
        }
    }

    /// The statements of a usage batch, prepared once for the connection's life (SQLite prepares
    /// one again by itself if the schema changes under it).
    struct Statements {
        let insertRow: OpaquePointer
        let insertProperty: OpaquePointer
        let debitAccount: OpaquePointer
        let debitLease: OpaquePointer

        init(db: OpaquePointer) throws(Failure) {
            var prepared: [OpaquePointer] = []
            func prepare(_ sql: String) throws(Failure) -> OpaquePointer {
                var statement: OpaquePointer?
                guard sqlite_nio_sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
                      let statement
                else {
                    let failure = Failure(message: String(cString: sqlite_nio_sqlite3_errmsg(db)))
                    for statement in prepared { sqlite_nio_sqlite3_finalize(statement) }
                    throw failure
                }
                prepared.append(statement)
                return statement
            }
            let columns = Ledger.usageColumns.joined(separator: ", ")
            let placeholders = Array(repeating: "?", count: Ledger.usageColumns.count).joined(separator: ", ")
            insertRow = try prepare("INSERT INTO usage_rows (\(columns)) VALUES (\(placeholders)) ON CONFLICT (request_id) DO NOTHING")
            insertProperty = try prepare("INSERT INTO usage_properties (request_id, name, value) VALUES (?, ?, ?) ON CONFLICT (request_id, name) DO NOTHING")
            debitAccount = try prepare("""
                UPDATE accounts SET balance_nanos = balance_nanos - ?1, balance_version = balance_version + 1
                WHERE name = ?2
                RETURNING balance_nanos, balance_version
                """)
            debitLease = try prepare("""
                UPDATE credit_leases SET amount_nanos = CASE WHEN amount_nanos > ?1 THEN amount_nanos - ?1 ELSE 0 END,
                    version = version + 1
                WHERE account = ?2 AND holder = ?3
                RETURNING amount_nanos, version, expires_at
                """)
        }

        func finalize() {
            for statement in [insertRow, insertProperty, debitAccount, debitLease] { sqlite_nio_sqlite3_finalize(statement) }
        }
    }
}
