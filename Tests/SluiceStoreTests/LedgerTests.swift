import Foundation
import Logging
import SluiceCore
import SluiceStore
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

    @Test("a ledger in a folder that does not exist is a clear error")
    func missingFolder() async throws {
        await #expect(throws: LedgerError.self) {
            _ = try await Ledger.open(.sqlite(path: "/nonexistent-\(UUID().uuidString)/l.db"), logger: Logger(label: "test"))
        }
    }
}
