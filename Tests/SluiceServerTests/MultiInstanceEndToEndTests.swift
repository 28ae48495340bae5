import AsyncHTTPClient
import Foundation
import SluiceCore
import SluiceStore
import SluiceTestSupport
import Testing

/// Three gateways sharing one PostgreSQL ledger, as a scaled-out deployment runs them.
@Suite("Several instances on one PostgreSQL ledger", .enabled(if: PostgresTestDatabase.serverURL != nil))
struct MultiInstanceEndToEndTests {
    /// Starts `count` gateways on a fresh PostgreSQL database and always stops them.
    static func withInstances(_ count: Int = 3, configure: @escaping (inout SluiceConfig) -> Void = { _ in },
                              _ body: ([TestGateway]) async throws -> Void) async throws {
        try await PostgresTestDatabase.with { url in
            var gateways: [TestGateway] = []
            do {
                for _ in 0..<count {
                    gateways.append(try await TestGateway.start { config in
                        config.storage.ledger = .postgres(url: url)
                        configure(&config)
                    })
                }
                try await body(gateways)
            } catch {
                for gateway in gateways { try? await gateway.stop() }
                throw error
            }
            for gateway in gateways { try await gateway.stop() }
        }
    }

    /// Sends `total` requests spread round-robin over `gateways`, all at once; their statuses.
    static func burst(_ gateways: [TestGateway], key: String, body: String, total: Int) async throws -> [Int] {
        try await withClient { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<total {
                    let gateway = gateways[index % gateways.count]
                    group.addTask { try await gateway.send("/v1/chat/completions", key: key, body: body, client: client).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
    }

    static func waitForFlush(_ gateways: [TestGateway], account: String) async throws {
        for gateway in gateways { try await CreditsEndToEndTests.waitForFlush(gateway, account: account) }
    }

    @Test("$0.01 spent through three instances at once never goes below zero when calls cost no more than they reserve")
    func sharedBalance() async throws {
        try await Self.withInstances { gateways in
            let key = try await CreditsEndToEndTests.key(gateways[0], account: "tight", balance: "0.01")
            // Reserves 1,007,500 nano-dollars per call and really costs 132,500 (see CreditsEndToEndTests).
            let statuses = try await Self.burst(gateways, key: key, body: chatBody(model: "gpt-4o", extra: #","max_tokens":100"#), total: 300)
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 402 })
            // Counted with a loop: `Int64(statuses.filter { $0 == 200 }.count)` here was seen to
            // give 300 (every status) while the same array grouped by status had 54–61 200s under
            // a full parallel test run; not understood yet, so not relied on.
            var admitted: Int64 = 0
            for status in statuses where status == 200 { admitted += 1 }
            try await Self.waitForFlush(gateways, account: "tight")
            let balance = try #require(try await gateways[0].ledger.account(named: "tight")?.balance)
            let expected = 10_000_000 - admitted * 132_500
            let rows = try await gateways[0].ledger.recentUsage(limit: 1000)
            #expect(balance.value == expected,
                    "statuses \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count)), rows by status \(Dictionary(grouping: rows, by: \.status).mapValues(\.count))")
            // The bound: no overshoot, since no call cost more than it reserved.
            #expect(balance.value >= 0)
            #expect(admitted >= 1)
            for gateway in gateways {
                let book = gateway.gateway.credits.account("tight")
                #expect(book == nil || (book!.reserved == 0 && book!.unwrittenDebits == 0))
            }
            // The leases still held never add up to more than what is left.
            let leased = try await gateways[0].ledger.leases(account: "tight", nowMs: Ledger.nowMs()).values.reduce(0) { $0 + $1.amount.value }
            #expect(leased <= max(0, balance.value))
        }
    }

    @Test("calls that cost more than they reserved overshoot three instances' shared balance only by that excess")
    func overshootBound() async throws {
        try await Self.withInstances(configure: { $0.limits.maxReservedOutputTokens = 2 }) { gateways in
            let key = try await CreditsEndToEndTests.key(gateways[0], account: "over", balance: "0.0005")
            // Reserves 27,500; really costs 132,500: 105,000 beyond.
            let statuses = try await Self.burst(gateways, key: key, body: chatBody(model: "gpt-4o", extra: #","max_tokens":100"#), total: 90)
            try await Self.waitForFlush(gateways, account: "over")
            let admitted = Int64(statuses.filter { $0 == 200 }.count)
            let balance = try #require(try await gateways[0].ledger.account(named: "over")?.balance)
            #expect(balance.value == 500_000 - admitted * 132_500)
            // Leases never add up to more than the balance, so as with one instance at most
            // 500,000 / 27,500 calls are reserved against it before their excess is known.
            #expect(balance.value >= -(500_000 / 27_500) * 105_000)
        }
    }

    @Test("a key created on one instance works on every instance at once; revoked, every instance refuses it within 5 s")
    func keyPropagation() async throws {
        try await Self.withInstances { gateways in
            let (key, record) = try await gateways[0].makeKey(account: "acme", preset: "open")
            for gateway in gateways {
                #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            }
            try await gateways[2].ledger.revokeKey(id: record.id, atMs: Ledger.nowMs())
            let started = ContinuousClock.now
            var refusedAfter: [Duration] = []
            for gateway in gateways {
                var status = 200
                while status == 200, ContinuousClock.now - started < .seconds(8) {
                    status = try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status
                    if status == 200 { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(status == 401)
                refusedAfter.append(ContinuousClock.now - started)
            }
            // The cache polls every 100 ms here (250 ms by default); the slack is for a loaded CI machine.
            #expect(refusedAfter.allSatisfy { $0 < .seconds(5) })
        }
    }

    @Test("a top-up made while an instance is out of lease is spent at once")
    func topUp() async throws {
        try await Self.withInstances(2) { gateways in
            let key = try await CreditsEndToEndTests.key(gateways[0], account: "later", balance: "0")
            #expect(try await gateways[1].send("/v1/chat/completions", key: key, body: chatBody()).status == 402)
            _ = try await gateways[0].ledger.addCredits(account: "later", amount: NanoDollars(dollars: "1")!, atMs: Ledger.nowMs())
            #expect(try await gateways[1].send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            #expect(try await gateways[0].send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
        }
    }
}
