import Foundation
import Logging
import SluiceCore
import SluiceStore
import SluiceTestSupport
import Testing

/// What only the PostgreSQL ledger does: connecting, and saying clearly why it cannot.
@Suite("Ledger on PostgreSQL")
struct PostgresLedgerTests {
    @Test("an unreachable server is named with the reason, never with the password")
    func unreachable() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let error = await #expect(throws: LedgerError.self) {
            _ = try await Ledger.open(.postgres(url: "postgres://sluice:hunter2@127.0.0.1:1/sluice"), logger: Logger(label: "test"))
        }
        #expect(error?.description == "cannot reach the PostgreSQL ledger at 127.0.0.1:1: connection refused")
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test("a malformed URL is refused before connecting, password redacted")
    func badURL() async throws {
        let error = await #expect(throws: LedgerError.self) {
            _ = try await Ledger.open(.postgres(url: "postgres://sluice:hunter2@/nohost"), logger: Logger(label: "test"))
        }
        #expect(error?.description.hasPrefix("the PostgreSQL ledger URL postgres://sluice:*****@/nohost is not valid") == true)
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test("a database that does not exist is reported with the server's words", .enabled(if: PostgresTestDatabase.serverURL != nil))
    func missingDatabase() async throws {
        let url = PostgresTestDatabase.url(PostgresTestDatabase.serverURL!, database: "sluice_no_such_db")
        let error = await #expect(throws: LedgerError.self) { _ = try await Ledger.open(.postgres(url: url), logger: Logger(label: "test")) }
        #expect(error?.description.contains("database \"sluice_no_such_db\" does not exist") == true)
    }

    @Test("the ledger survives a connection killed by the server", .enabled(if: PostgresTestDatabase.serverURL != nil))
    func reconnects() async throws {
        try await LedgerBackend.postgres.withLocation { location in
            guard case .postgres(let url) = location else { return }
            try await withOpenLedger(location) { ledger in
                try await ledger.createAccount(name: "acme", balance: nil, atMs: 1)
                let database = URLComponents(string: url)!.path.dropFirst()
                try await PostgresTestDatabase.run(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()",
                    on: PostgresTestDatabase.serverURL!)
                // Statements on the dead connections fail once each; then every slot is reopened.
                var answered = false
                for _ in 0..<(2 * 4 + 2) where !answered {
                    answered = (try? await ledger.accounts().map(\.name)) == ["acme"]
                }
                #expect(answered)
                #expect(await ledger.isReachable())
            }
        }
    }
}
