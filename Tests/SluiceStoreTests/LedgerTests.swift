import Foundation
import Logging
import SluiceCore
import SluiceStore
import Testing

/// A ledger in a fresh SQLite file, closed and deleted afterwards.
func withLedger(_ body: (Ledger, String) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ledger-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let ledger = try await Ledger.open(.sqlite(path: folder + "/ledger.db"), logger: Logger(label: "test"))
    do {
        try await body(ledger, folder)
    } catch {
        await ledger.close()
        throw error
    }
    await ledger.close()
}

func keyRecord(id: String, key: String, account: String, now: Int64 = 1_000) -> KeyRecord {
    KeyRecord(id: id, digest: KeyDigest(of: key), displayPrefix: APIKeyFormat.displayPrefix(of: key), account: account,
              environment: .dev, preset: "demo", name: nil, createdAtMs: now, expiresAtMs: nil, revokedAtMs: nil, updatedAtMs: now)
}

@Suite("Ledger on SQLite")
struct LedgerTests {
    @Test("accounts are created once, listed by name, and topped up exactly")
    func accounts() async throws {
        try await withLedger { ledger, _ in
            try await ledger.createAccount(name: "zeta", balance: nil, atMs: 1)
            try await ledger.createAccount(name: "acme", balance: NanoDollars(dollars: "0.01"), atMs: 2)
            await #expect(throws: LedgerError.conflict("account \"acme\" already exists")) {
                try await ledger.createAccount(name: "acme", balance: nil, atMs: 3)
            }
            await #expect(throws: LedgerError.self) { try await ledger.createAccount(name: "bad name", balance: nil, atMs: 3) }
            #expect(try await ledger.accounts().map(\.name) == ["acme", "zeta"])
            let topped = try await ledger.addCredits(account: "acme", amount: NanoDollars(dollars: "25.5")!, atMs: 10)
            #expect(topped.balance == NanoDollars(25_510_000_000))
            #expect(topped.updatedAtMs == 10)
            // Unlimited stays unlimited.
            #expect(try await ledger.addCredits(account: "zeta", amount: NanoDollars(5), atMs: 10).balance == nil)
            await #expect(throws: LedgerError.notFound("account \"nobody\" does not exist")) {
                try await ledger.addCredits(account: "nobody", amount: NanoDollars(5), atMs: 10)
            }
        }
    }

    @Test("keys are found by digest only, never stored in clear, and revocation is recorded")
    func keys() async throws {
        try await withLedger { ledger, folder in
            try await ledger.createAccount(name: "acme", balance: nil, atMs: 1)
            let key = "sk-sluice-dev-" + String(repeating: "K", count: 32)
            try await ledger.insertKey(keyRecord(id: "key_1", key: key, account: "acme"))
            #expect(try await ledger.key(digest: KeyDigest(of: key))?.id == "key_1")
            #expect(try await ledger.key(digest: KeyDigest(of: key + "x")) == nil)
            let revoked = try await ledger.revokeKey(id: "key_1", atMs: 5_000)
            #expect(revoked.revokedAtMs == 5_000 && !revoked.isUsable(atMs: 6_000))
            #expect(try await ledger.keysChanged(sinceMs: 4_000).map(\.id) == ["key_1"])
            #expect(try await ledger.keysChanged(sinceMs: 5_001).isEmpty)
            await #expect(throws: LedgerError.self) { try await ledger.insertKey(keyRecord(id: "key_2", key: key + "y", account: "ghost")) }
            await #expect(throws: LedgerError.notFound("key \"key_9\" does not exist")) { try await ledger.revokeKey(id: "key_9", atMs: 1) }
            // The database file never contains the key text.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/ledger.db")) + ((try? Data(contentsOf: URL(fileURLWithPath: folder + "/ledger.db-wal"))) ?? Data())
            #expect(bytes.range(of: Data(key.utf8)) == nil)
        }
    }

    @Test("usage rows are idempotent by request id and reported per group with (none) for missing values")
    func usage() async throws {
        try await withLedger { ledger, _ in
            func row(_ id: String, key: String = "key_a", model: String = "gpt-4o", status: Int = 200, user: String? = nil,
                     team: String? = nil, input: Int = 10, output: Int = 5, error: String? = nil, at: Int64 = 10_000) -> UsageRow {
                UsageRow(requestID: id, keyID: key, account: "acme", environment: "dev", userID: user,
                         properties: team.map { ["team": $0] } ?? [:], endpoint: "/v1/chat/completions", requestedModel: model,
                         servedModel: status == 200 ? model : nil, status: status, errorCode: error, inputTokens: input,
                         outputTokens: output, cost: NanoDollars(Int64(input * 2500 + output * 10000)), createdAtMs: at)
            }
            let rows = [
                row("r1", user: "alice", team: "red"), row("r2", user: "bob", team: "blue"), row("r3", key: "key_b", model: "gpt-4o-mini", user: "alice"),
                row("r4", status: 429, input: 0, output: 0, error: "rate_limit_exceeded"), row("r5", status: 502, input: 0, output: 0, error: "upstream_error"),
                row("r6", error: "upstream_error"), row("old", at: 1),
            ]
            try await ledger.insertUsage(rows)
            try await ledger.insertUsage(Array(rows.prefix(3)))  // a retried batch adds nothing
            #expect(try await ledger.recentUsage(limit: 100).count == 7)

            let byKey = try await ledger.usageReport(by: .key, sinceMs: 5_000)
            #expect(byKey.map(\.group) == ["key_a", "key_b"])
            #expect(byKey[0].requests == 5 && byKey[0].rateLimited == 1 && byKey[0].errors == 2)
            #expect(byKey[0].inputTokens == 30 && byKey[0].outputTokens == 15)
            #expect(byKey[0].cost == NanoDollars(3 * (10 * 2500 + 5 * 10000)))

            let byModel = try await ledger.usageReport(by: .model, sinceMs: 5_000)
            #expect(Set(byModel.map(\.group)) == ["gpt-4o", "gpt-4o-mini"])
            let byUser = try await ledger.usageReport(by: .user, sinceMs: 5_000)
            #expect(byUser.first { $0.group == "alice" }?.requests == 2)
            #expect(byUser.first { $0.group == "(none)" }?.requests == 3)
            let byTeam = try await ledger.usageReport(by: .property("team"), sinceMs: 5_000)
            #expect(byTeam.first { $0.group == "red" }?.requests == 1)
            #expect(byTeam.reduce(0) { $0 + $1.requests } == 6)

            let recent = try await ledger.recentUsage(limit: 100)
            #expect(recent.first { $0.requestID == "r1" }?.properties == ["team": "red"])
        }
    }

    @Test("writing usage rows debits their accounts once, even when a batch is written again")
    func debits() async throws {
        try await withLedger { ledger, _ in
            try await ledger.createAccount(name: "acme", balance: NanoDollars(1_000_000), atMs: 1)
            try await ledger.createAccount(name: "rich", balance: nil, atMs: 1)
            func row(_ id: String, _ account: String, cost: Int64) -> UsageRow {
                UsageRow(requestID: id, keyID: "k", account: account, environment: "dev", endpoint: "/v1/chat/completions",
                         status: 200, cost: NanoDollars(cost), createdAtMs: 10)
            }
            let batch = [row("a", "acme", cost: 1_500), row("b", "acme", cost: 2_500), row("c", "rich", cost: 7)]
            let debits = try await ledger.insertUsage(batch)
            #expect(debits.first { $0.account == "acme" } == AccountDebit(account: "acme", amount: NanoDollars(4_000), balanceAfter: NanoDollars(996_000), version: 1))
            #expect(debits.first { $0.account == "rich" }?.balanceAfter == nil)
            // The same rows again (a retry after an unclear failure) change nothing.
            let again = try await ledger.insertUsage(batch + [row("d", "acme", cost: 1)])
            #expect(again == [AccountDebit(account: "acme", amount: NanoDollars(1), balanceAfter: NanoDollars(995_999), version: 2)])
            let topped = try await ledger.addCredits(account: "acme", amount: NanoDollars(1), atMs: 20)
            #expect(topped.balance == NanoDollars(996_000) && topped.balanceVersion == 3)
        }
    }

    @Test("a batch larger than one statement is written whole")
    func largeBatch() async throws {
        try await withLedger { ledger, _ in
            let rows = (0..<1_000).map { index in
                UsageRow(requestID: "r\(index)", keyID: "k", account: "a", environment: "dev", properties: ["p": "\(index % 3)"],
                         endpoint: "/v1/embeddings", status: 200, inputTokens: 1, createdAtMs: 100)
            }
            try await ledger.insertUsage(rows)
            let report = try await ledger.usageReport(by: .property("p"), sinceMs: 0)
            #expect(report.reduce(0) { $0 + $1.requests } == 1_000)
            #expect(report.reduce(0) { $0 + $1.inputTokens } == 1_000)
        }
    }

    @Test("reopening runs no migration twice and keeps the data")
    func reopen() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-reopen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try await Ledger.open(.sqlite(path: folder + "/l.db"), logger: Logger(label: "test"))
        try await first.createAccount(name: "acme", balance: nil, atMs: 1)
        await first.close()
        let second = try await Ledger.open(.sqlite(path: folder + "/l.db"), logger: Logger(label: "test"))
        #expect(try await second.accounts().map(\.name) == ["acme"])
        await second.close()
    }

    @Test("a ledger in a folder that does not exist is a clear error")
    func missingFolder() async throws {
        await #expect(throws: LedgerError.self) {
            _ = try await Ledger.open(.sqlite(path: "/nonexistent-\(UUID().uuidString)/l.db"), logger: Logger(label: "test"))
        }
    }
}
