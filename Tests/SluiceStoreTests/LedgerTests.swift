import Foundation
import Logging
import SluiceCore
import SluiceStore
import SQLiteNIO
import Synchronization
import Testing

/// What only the SQLite ledger does; the shared contract is `LedgerConformanceTests`.
@Suite("Ledger on SQLite")
struct LedgerTests {
    @Test("the database file never contains a key's text")
    func keyTextNeverStored() async throws {
        try await LedgerBackend.sqlite.withLocation { location in
            guard case .sqlite(let path) = location else { return }
            let key = "sk-sluice-dev-" + String(repeating: "K", count: 32)
            try await withOpenLedger(location) { ledger in
                try await ledger.createAccount(name: "acme", balance: nil, atMs: 1)
                try await ledger.insertKey(keyRecord(id: "key_1", key: key, account: "acme"))
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
                #expect(bytes.range(of: Data(key.utf8)) == nil)
            }
        }
    }

    @Test("an in-memory ledger writes usage rows through SQLKit: every field, once, debited once")
    func inMemoryUsage() async throws {
        try await withOpenLedger(.sqlite(path: ":memory:")) { ledger in
            try await ledger.createAccount(name: "acme", balance: NanoDollars(10_000_000_000), atMs: 1)
            let rows = fullUsageRows()
            let debits = try await ledger.insertUsage(rows + [rows[0]])
            #expect(debits == [AccountDebit(account: "acme", amount: NanoDollars(5_000_000_123), balanceAfter: NanoDollars(4_999_999_877), version: 1)])
            #expect(try await ledger.insertUsage(rows).isEmpty)  // written again: nothing new to debit
            let read = try await ledger.recentUsage(limit: 10)
            #expect(read.sorted { $0.requestID < $1.requestID } == rows.sorted { $0.requestID < $1.requestID })
        }
    }

    @Test("a usage batch waits for another connection's write lock on the file, then lands")
    func usageWaitsForWriteLock() async throws {
        try await LedgerBackend.sqlite.withLocation { location in
            guard case .sqlite(let path) = location else { return }
            try await withOpenLedger(location) { ledger in
                // Another writer of the file (another process, as far as SQLite can tell).
                let other = try await SQLiteConnection.open(storage: .file(path: path))
                _ = try await other.query("BEGIN IMMEDIATE")
                let written = Atomic(false)
                let writing = Task {
                    let debits = try await ledger.insertUsage([usageRow("waited")])
                    written.store(true, ordering: .sequentiallyConsistent)
                    return debits
                }
                try await Task.sleep(for: .milliseconds(300))
                let writtenBeforeCommit = written.load(ordering: .sequentiallyConsistent)
                #expect(!writtenBeforeCommit)  // still waiting for the lock
                _ = try await other.query("COMMIT")
                try await other.close()
                _ = try await writing.value
                #expect(try await ledger.recentUsage(limit: 10).map(\.requestID) == ["waited"])
            }
        }
    }

    @Test("a usage batch after the ledger closed is refused with a clear error, not lost silently")
    func usageAfterClose() async throws {
        try await LedgerBackend.sqlite.withLocation { location in
            let ledger = try await Ledger.open(location, logger: Logger(label: "test"))
            await ledger.close()
            await #expect(throws: LedgerError.unavailable("the ledger is closed")) {
                try await ledger.insertUsage([usageRow("late")])
            }
        }
    }

    @Test("many instances opening one new file at once all open it: WAL is switched on despite the lock race")
    func openTogether() async throws {
        // Switching a new file to WAL needs its exclusive lock; SQLite answers "database is
        // locked" at once to the loser of that race, without waiting in the busy handler.
        for _ in 0..<20 {
            try await LedgerBackend.sqlite.withLocation { location in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 { group.addTask { try await withOpenLedger(location) { _ in } } }
                    try await group.waitForAll()
                }
                guard case .sqlite(let path) = location else { return }
                let connection = try await SQLiteConnection.open(storage: .file(path: path))
                let mode = try await connection.query("PRAGMA journal_mode").first?.column("journal_mode")?.string
                try await connection.close()
                #expect(mode == "wal")
            }
        }
    }

    @Test("a ledger in a folder that does not exist is a clear error")
    func missingFolder() async throws {
        await #expect(throws: LedgerError.self) {
            _ = try await Ledger.open(.sqlite(path: "/nonexistent-\(UUID().uuidString)/l.db"), logger: Logger(label: "test"))
        }
    }
}
