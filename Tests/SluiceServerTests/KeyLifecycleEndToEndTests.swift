import Foundation
import SluiceCore
import SluiceStore
import Testing

@Suite("Keys changed in the ledger while the server runs")
struct KeyLifecycleEndToEndTests {
    @Test("a key created after start works at once; revoked, it is refused within a second")
    func createAndRevokeWhileServing() async throws {
        try await withGateway { gateway in
            let (key, record) = try await gateway.makeKey()
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            // Written straight to the ledger, as the CLI in another process would.
            try await gateway.ledger.revokeKey(id: record.id, atMs: Ledger.nowMs())
            let started = ContinuousClock.now
            var status = 200
            while status == 200, ContinuousClock.now - started < .seconds(8) {
                status = try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status
                if status == 200 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(status == 401)
            // The cache polls every 100 ms here (250 ms in production); the slack is for a CI machine
            // loaded by the heavy concurrent tests that run alongside.
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("a key whose preset is no longer configured is refused with a message saying so")
    func presetRemoved() async throws {
        try await withGateway { gateway in
            let record = KeyRecord(id: "key_orphan", digest: KeyDigest(of: "sk-sluice-dev-" + String(repeating: "b", count: 32)),
                                   displayPrefix: "sk-sluice-dev-bbbb", account: "acme", environment: .dev, preset: "gone", name: nil,
                                   createdAtMs: Ledger.nowMs(), expiresAtMs: nil, revokedAtMs: nil, updatedAtMs: Ledger.nowMs())
            _ = try await gateway.makeKey()
            try await gateway.ledger.insertKey(record)
            let response = try await gateway.send("/v1/chat/completions", key: "sk-sluice-dev-" + String(repeating: "b", count: 32), body: chatBody())
            #expect(response.status == 401)
            #expect(response.errorMessage?.contains("\"gone\"") == true)
        }
    }
}
