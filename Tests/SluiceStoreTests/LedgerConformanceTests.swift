import Foundation
import Logging
import SluiceCore
import SluiceStore
import SluiceTestSupport
import Testing

/// The ledger's contract, written once and run against every database it can live in.
@Suite("Ledger conformance")
struct LedgerConformanceTests {
    @Test("accounts are created once, listed by name, and topped up exactly", arguments: LedgerBackend.available)
    func accounts(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.createAccount(name: "zeta", balance: nil, atMs: 1)
            try await ledger.createAccount(name: "acme", balance: NanoDollars(dollars: "0.01"), atMs: 2)
            await #expect(throws: LedgerError.conflict("account \"acme\" already exists")) {
                try await ledger.createAccount(name: "acme", balance: nil, atMs: 3)
            }
            await #expect(throws: LedgerError.self) { try await ledger.createAccount(name: "bad name", balance: nil, atMs: 3) }
            #expect(try await ledger.accounts().map(\.name) == ["acme", "zeta"])
            let topped = try await ledger.addCredits(account: "acme", amount: NanoDollars(dollars: "25.5")!, atMs: 10)
            #expect(topped.balance == NanoDollars(25_510_000_000))
            #expect(topped.updatedAtMs == 10 && topped.balanceVersion == 1)
            // Unlimited stays unlimited.
            #expect(try await ledger.addCredits(account: "zeta", amount: NanoDollars(5), atMs: 10).balance == nil)
            #expect(try await ledger.account(named: "zeta")?.balance == nil)
            await #expect(throws: LedgerError.notFound("account \"nobody\" does not exist")) {
                try await ledger.addCredits(account: "nobody", amount: NanoDollars(5), atMs: 10)
            }
            // A top-up past the largest balance is refused, and the balance stays as it was.
            let nine = NanoDollars(dollars: "9000000000")!
            #expect(try await ledger.addCredits(account: "acme", amount: nine, atMs: 11).balance == NanoDollars(25_510_000_000 + nine.value))
            await #expect {
                try await ledger.addCredits(account: "acme", amount: nine, atMs: 12)
            } throws: { error in
                guard case LedgerError.invalid(let message) = error else { return false }
                return message.contains("would exceed the largest balance an account can hold")
            }
            #expect(try await ledger.account(named: "acme")?.balance == NanoDollars(25_510_000_000 + nine.value))
        }
    }

    @Test("instances creating the same account at once get one account and clear conflicts", arguments: LedgerBackend.available)
    func concurrentCreate(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            try await withOpenLedger(location) { first in
                try await withOpenLedger(location) { second async throws in
                    let outcomes = await withTaskGroup(of: Bool.self) { group in
                        for index in 0..<8 {
                            let ledger = index.isMultiple(of: 2) ? first : second
                            group.addTask { (try? await ledger.createAccount(name: "race", balance: NanoDollars(1), atMs: 1)) != nil }
                        }
                        return await group.reduce(into: [Bool]()) { $0.append($1) }
                    }
                    #expect(outcomes.filter { $0 }.count == 1)
                    #expect(try await first.accounts().map(\.name) == ["race"])
                }
            }
        }
    }

    @Test("keys are found by digest only; revoked and expired keys are kept but unusable", arguments: LedgerBackend.available)
    func keys(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.createAccount(name: "acme", balance: nil, atMs: 1)
            let key = "sk-sluice-dev-" + String(repeating: "K", count: 32)
            let expiring = "sk-sluice-dev-" + String(repeating: "E", count: 32)
            try await ledger.insertKey(keyRecord(id: "key_1", key: key, account: "acme"))
            try await ledger.insertKey(keyRecord(id: "key_2", key: expiring, account: "acme", expiresAt: 2_000))
            #expect(try await ledger.key(digest: KeyDigest(of: key))?.id == "key_1")
            #expect(try await ledger.key(digest: KeyDigest(of: key + "x")) == nil)
            let stored = try #require(try await ledger.key(digest: KeyDigest(of: expiring)))
            #expect(stored.expiresAtMs == 2_000 && stored.isUsable(atMs: 1_999) && !stored.isUsable(atMs: 2_000))
            let revoked = try await ledger.revokeKey(id: "key_1", atMs: 5_000)
            #expect(revoked.revokedAtMs == 5_000 && !revoked.isUsable(atMs: 6_000))
            // Revoking again changes nothing, not even the revocation time.
            #expect(try await ledger.revokeKey(id: "key_1", atMs: 9_000).revokedAtMs == 5_000)
            #expect(try await ledger.keys(account: "acme").map(\.id).sorted() == ["key_1", "key_2"])
            await #expect(throws: LedgerError.self) { try await ledger.insertKey(keyRecord(id: "key_3", key: key + "y", account: "ghost")) }
            await #expect(throws: LedgerError.notFound("key \"key_9\" does not exist")) { try await ledger.revokeKey(id: "key_9", atMs: 1) }
        }
    }

    @Test("the change feed lists keys and accounts in commit order, each change once after the cursor", arguments: LedgerBackend.available)
    func changeFeed(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            #expect(try await ledger.keysChanged(afterSeq: -1).isEmpty)
            let account = try await ledger.createAccount(name: "acme", balance: NanoDollars(10), atMs: 1)
            try await ledger.insertKey(keyRecord(id: "key_1", key: "sk-sluice-dev-" + String(repeating: "A", count: 32), account: "acme"))
            let keys = try await ledger.keysChanged(afterSeq: -1)
            #expect(keys.map(\.id) == ["key_1"] && keys[0].changeSeq > account.changeSeq)
            let cursor = keys[0].changeSeq
            #expect(try await ledger.keysChanged(afterSeq: cursor).isEmpty)
            // A revocation and a top-up move the records forward in the feed.
            try await ledger.revokeKey(id: "key_1", atMs: 50)
            #expect(try await ledger.keysChanged(afterSeq: cursor).map(\.revokedAtMs) == [50])
            let accounts = try await ledger.accountsChanged(afterSeq: account.changeSeq)
            #expect(accounts.isEmpty)
            _ = try await ledger.addCredits(account: "acme", amount: NanoDollars(5), atMs: 60)
            #expect(try await ledger.accountsChanged(afterSeq: account.changeSeq).map(\.balance) == [NanoDollars(15)])
            // Debits do not go through the feed (usage batches never wait on its lock).
            let toppedSeq = try #require(try await ledger.account(named: "acme")).changeSeq
            try await ledger.insertUsage([usageRow("r1", cost: 3)])
            #expect(try await ledger.accountsChanged(afterSeq: toppedSeq).isEmpty)
        }
    }

    @Test("a reader polling with a max-position cursor sees every key written by concurrent writers", arguments: LedgerBackend.available)
    func changeFeedUnderConcurrentWriters(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            try await withOpenLedger(location) { reader in
                try await reader.createAccount(name: "acme", balance: nil, atMs: 1)
                let writers = 4, perWriter = 25
                let seen = try await withThrowingTaskGroup(of: Set<String>?.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            try await withOpenLedger(location) { ledger in
                                for index in 0..<perWriter {
                                    let id = "key_\(writer)_\(index)"
                                    try await ledger.insertKey(keyRecord(id: id, key: "sk-sluice-dev-" + String(repeating: "w", count: 20) + "\(writer)x\(index)xxxxxxxxx", account: "acme"))
                                    if index.isMultiple(of: 5) { try await ledger.revokeKey(id: id, atMs: 2) }
                                }
                            }
                            return nil
                        }
                    }
                    // The reader polls as the key cache refresher does, while the writers write.
                    group.addTask {
                        var cursor: Int64 = -1
                        var ids = Set<String>()
                        var revoked = Set<String>()
                        let deadline = ContinuousClock.now + .seconds(60)
                        while ids.count < writers * perWriter || revoked.count < writers * perWriter / 5, ContinuousClock.now < deadline {
                            let batch = try await reader.keysChanged(afterSeq: cursor)
                            for key in batch {
                                ids.insert(key.id)
                                if key.revokedAtMs != nil { revoked.insert(key.id) }
                            }
                            cursor = max(cursor, batch.map(\.changeSeq).max() ?? cursor)
                            try await Task.sleep(for: .milliseconds(2))
                        }
                        return ids
                    }
                    var result = Set<String>()
                    for try await ids in group { if let ids { result = ids } }
                    return result
                }
                #expect(seen.count == writers * perWriter)
            }
        }
    }

    @Test("usage rows are idempotent by request id and reported per group with (none) for missing values", arguments: LedgerBackend.available)
    func usage(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            let rows = [
                usageRow("r1", user: "alice", team: "red"), usageRow("r2", user: "bob", team: "blue"),
                usageRow("r3", key: "key_b", model: "gpt-4o-mini", user: "alice"),
                usageRow("r4", status: 429, input: 0, output: 0, error: "rate_limit_exceeded"),
                usageRow("r5", status: 502, input: 0, output: 0, error: "upstream_error"),
                usageRow("r6", error: "upstream_error"), usageRow("old", at: 1),
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
            // Refused and failed calls count under the model asked for.
            #expect(byModel.first { $0.group == "gpt-4o" }?.requests == 5)
            #expect(byModel.first { $0.group == "gpt-4o-mini" }?.requests == 1)
            #expect(byModel.first { $0.group == "(none)" } == nil && byModel.reduce(0) { $0 + $1.requests } == 6)
            #expect(try await ledger.usageReport(by: .account, sinceMs: 5_000).map(\.group) == ["acme"])
            #expect(try await ledger.usageReport(by: .environment, sinceMs: 0).map(\.requests) == [7])
            let byUser = try await ledger.usageReport(by: .user, sinceMs: 5_000)
            #expect(byUser.first { $0.group == "alice" }?.requests == 2)
            #expect(byUser.first { $0.group == "(none)" }?.requests == 3)
            let byTeam = try await ledger.usageReport(by: .property("team"), sinceMs: 5_000)
            #expect(byTeam.first { $0.group == "red" }?.requests == 1)
            #expect(byTeam.reduce(0) { $0 + $1.requests } == 6)

            // /admin/requests: newest first, with properties.
            let recent = try await ledger.recentUsage(limit: 100)
            #expect(recent.first?.requestID == "r1")
            #expect(recent.last?.requestID == "old")
            #expect(recent.first { $0.requestID == "r1" }?.properties == ["team": "red"])
            let limited = try #require(recent.first { $0.requestID == "r4" })
            #expect(limited.status == 429 && limited.errorCode == "rate_limit_exceeded" && limited.servedModel == nil)
            #expect(try await ledger.recentUsage(limit: 2).count == 2)
        }
    }

    @Test("the per-minute timeline adds up requests, errors, 429s, tokens and cost", arguments: LedgerBackend.available)
    func timeline(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.insertUsage([
                usageRow("a", at: 60_000), usageRow("b", status: 429, input: 0, output: 0, error: "rate_limit_exceeded", at: 60_500),
                usageRow("c", status: 502, input: 0, output: 0, error: "upstream_error", at: 179_999), usageRow("old", at: 10),
            ])
            let points = try await ledger.usageTimeline(sinceMs: 60_000)
            #expect(points.map(\.startMs) == [60_000, 120_000])
            #expect(points[0].requests == 2 && points[0].errors == 0 && points[0].rateLimited == 1)
            #expect(points[0].tokens == 15 && points[0].cost == NanoDollars(75_000))
            #expect(points[1].requests == 1 && points[1].errors == 1)
        }
    }

    @Test("writing usage rows debits their accounts once, even when a batch is written again", arguments: LedgerBackend.available)
    func debits(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.createAccount(name: "acme", balance: NanoDollars(1_000_000), atMs: 1)
            try await ledger.createAccount(name: "rich", balance: nil, atMs: 1)
            let batch = [usageRow("a", account: "acme", cost: 1_500), usageRow("b", account: "acme", cost: 2_500), usageRow("c", account: "rich", cost: 7)]
            let debits = try await ledger.insertUsage(batch)
            #expect(debits.first { $0.account == "acme" } == AccountDebit(account: "acme", amount: NanoDollars(4_000), balanceAfter: NanoDollars(996_000), version: 1))
            #expect(debits.first { $0.account == "rich" }?.balanceAfter == nil)
            // The same rows again (a retry after an unclear failure) change nothing.
            let again = try await ledger.insertUsage(batch + [usageRow("d", account: "acme", cost: 1)])
            #expect(again == [AccountDebit(account: "acme", amount: NanoDollars(1), balanceAfter: NanoDollars(995_999), version: 2)])
            let topped = try await ledger.addCredits(account: "acme", amount: NanoDollars(1), atMs: 20)
            #expect(topped.balance == NanoDollars(996_000) && topped.balanceVersion == 3)
        }
    }

    @Test("rows written by several instances, overlapping and at once, land and are debited exactly once", arguments: LedgerBackend.available)
    func severalWriters(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            try await withOpenLedger(location) { setup in
                try await setup.createAccount(name: "acme", balance: NanoDollars(1_000_000), atMs: 1)
            }
            // Three instances; each writes the same 60 rows (as if batches were retried across
            // instances) in its own order and batch sizes, all at once.
            let rows = (0..<60).map { usageRow("req_\($0)", account: "acme", team: "t\($0 % 4)", cost: 100) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for instance in 0..<3 {
                    group.addTask {
                        try await withOpenLedger(location) { ledger in
                            let mine = instance == 1 ? Array(rows.reversed()) : rows
                            for start in stride(from: 0, to: mine.count, by: 7 + instance * 5) {
                                try await ledger.insertUsage(Array(mine[start..<min(start + 7 + instance * 5, mine.count)]))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await withOpenLedger(location) { ledger async throws in
                #expect(try await ledger.recentUsage(limit: 1_000).count == 60)
                #expect(try await ledger.usageReport(by: .property("t"), sinceMs: 0).reduce(0) { $0 + $1.requests } == 60)
                #expect(try await ledger.usageReport(by: .property("team"), sinceMs: 0).count == 4)
                #expect(try await ledger.account(named: "acme")?.balance == NanoDollars(1_000_000 - 60 * 100))
            }
        }
    }

    @Test("every field of a usage row comes back as written: nulls, empty and non-ASCII text, flags, large numbers", arguments: LedgerBackend.available)
    func usageRowRoundTrip(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.createAccount(name: "acme", balance: NanoDollars(10_000_000_000), atMs: 1)
            let rows = fullUsageRows()
            try await ledger.insertUsage(rows)
            let read = try await ledger.recentUsage(limit: 10)
            #expect(read.sorted { $0.requestID < $1.requestID } == rows.sorted { $0.requestID < $1.requestID })
        }
    }

    @Test("a request id twice in one batch is one row, debited once", arguments: LedgerBackend.available)
    func duplicateInBatch(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            try await ledger.createAccount(name: "acme", balance: NanoDollars(1_000_000), atMs: 1)
            let row = usageRow("twice", account: "acme", cost: 300)
            let debits = try await ledger.insertUsage([row, row, usageRow("once", account: "acme", cost: 5)])
            #expect(debits == [AccountDebit(account: "acme", amount: NanoDollars(305), balanceAfter: NanoDollars(999_695), version: 1)])
            #expect(try await ledger.recentUsage(limit: 10).count == 2)
            // The first row with an id is the one written, and what it cost is what is debited.
            let free = try await ledger.insertUsage([usageRow("free", account: "acme", cost: 0), usageRow("free", account: "acme", cost: 300)])
            #expect(free.isEmpty)
            #expect(try await ledger.account(named: "acme")?.balance == NanoDollars(999_695))
        }
    }

    @Test("a batch larger than one statement is written whole", arguments: LedgerBackend.available)
    func largeBatch(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            let rows = (0..<2_500).map { index in
                UsageRow(requestID: "r\(index)", keyID: "k", account: "a", environment: "dev", properties: ["p": "\(index % 3)"],
                         endpoint: "/v1/embeddings", status: 200, inputTokens: 1, createdAtMs: 100)
            }
            try await ledger.insertUsage(rows)
            let report = try await ledger.usageReport(by: .property("p"), sinceMs: 0)
            #expect(report.reduce(0) { $0 + $1.requests } == 2_500)
            #expect(report.reduce(0) { $0 + $1.inputTokens } == 2_500)
        }
    }

    @Test("a batch with more properties than one statement may bind is written whole", arguments: LedgerBackend.available)
    func manyProperties(_ backend: LedgerBackend) async throws {
        try await backend.withLedger { ledger in
            // 1,000 rows × 25 properties: 75,000 bound values, more than PostgreSQL takes in one statement.
            let properties = Dictionary(uniqueKeysWithValues: (0..<25).map { ("p\($0)", "v\($0)") })
            let rows = (0..<1_000).map { index in
                UsageRow(requestID: "r\(index)", keyID: "k", account: "a", environment: "dev", properties: properties,
                         endpoint: "/v1/embeddings", status: 200, inputTokens: 1, createdAtMs: 100)
            }
            try await ledger.insertUsage(rows)
            let report = try await ledger.usageReport(by: .property("p24"), sinceMs: 0)
            #expect(report.map(\.group) == ["v24"])
            #expect(report.first?.requests == 1_000)
        }
    }

    @Test("reopening runs no migration twice and keeps the data; instances starting at once all migrate safely", arguments: LedgerBackend.available)
    func reopen(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            // Several instances start together on an empty database.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 { group.addTask { try await withOpenLedger(location) { _ in } } }
                try await group.waitForAll()
            }
            try await withOpenLedger(location) { try await $0.createAccount(name: "acme", balance: nil, atMs: 1) }
            #expect(try await withOpenLedger(location) { try await $0.accounts().map(\.name) } == ["acme"])
        }
    }

    @Test("leases on one balance never add up to more than it, whatever the holders ask", arguments: LedgerBackend.available)
    func leases(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            try await withOpenLedger(location) { ledger in
                let cent = NanoDollars.perCent
                try await ledger.createAccount(name: "acme", balance: NanoDollars(cent), atMs: 1)
                try await ledger.createAccount(name: "rich", balance: nil, atMs: 1)
                #expect(try await ledger.leaseCredits(account: "rich", holder: "a", request: .grow(minimum: NanoDollars(5)), nowMs: 10, ttlMs: 1_000) == nil)
                await #expect(throws: LedgerError.self) {
                    try await ledger.leaseCredits(account: "ghost", holder: "a", request: .renew, nowMs: 10, ttlMs: 1_000)
                }
                // A grow takes a quarter of what is free, or at least what was asked.
                let first = try #require(try await ledger.leaseCredits(account: "acme", holder: "a", request: .grow(minimum: NanoDollars(1_000)), nowMs: 10, ttlMs: 1_000))
                #expect(first == CreditLease(amount: NanoDollars(cent / 4), version: 1, expiresAtMs: 1_010))
                let big = try #require(try await ledger.leaseCredits(account: "acme", holder: "b", request: .grow(minimum: NanoDollars(cent * 3 / 4)), nowMs: 10, ttlMs: 1_000))
                #expect(big.amount == NanoDollars(cent * 3 / 4))
                // Nothing is left: a third holder gets nothing.
                #expect(try await ledger.leaseCredits(account: "acme", holder: "c", request: .grow(minimum: NanoDollars(1)), nowMs: 10, ttlMs: 1_000)?.amount == .zero)

                // Debits written by a holder come off its lease.
                let debits = try await ledger.insertUsage([usageRow("r1", account: "acme", cost: 1_000_000)], leaseHolder: "a")
                #expect(debits.first?.lease == CreditLease(amount: NanoDollars(cent / 4 - 1_000_000), version: 2, expiresAtMs: 1_010))
                #expect(debits.first?.balanceAfter == NanoDollars(cent - 1_000_000))
                // Giving back frees the money for others.
                #expect(try await ledger.leaseCredits(account: "acme", holder: "a", request: .shrink(to: .zero), nowMs: 20, ttlMs: 1_000)?.amount == .zero)
                let c = try #require(try await ledger.leaseCredits(account: "acme", holder: "c", request: .grow(minimum: NanoDollars(1)), nowMs: 20, ttlMs: 1_000))
                #expect(c.amount.value == (cent - 1_000_000 - cent * 3 / 4) / 4)
                // A lapsed lease counts for nothing: b's share is free again after its expiry.
                let later = try #require(try await ledger.leaseCredits(account: "acme", holder: "c", request: .grow(minimum: NanoDollars(cent * 3 / 4)), nowMs: 1_011, ttlMs: 1_000))
                #expect(later.amount == NanoDollars(c.amount.value + cent * 3 / 4))
                let live = try await ledger.leases(account: "acme", nowMs: 1_011)
                #expect(live.values.reduce(0) { $0 + $1.amount.value } <= cent - 1_000_000)
            }
        }
    }

    @Test("three instances growing leases at once on $0.01 never lease more than the balance", arguments: LedgerBackend.available)
    func concurrentLeases(_ backend: LedgerBackend) async throws {
        try await backend.withLocation { location in
            try await withOpenLedger(location) { try await $0.createAccount(name: "tight", balance: NanoDollars(NanoDollars.perCent), atMs: 1) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for instance in 0..<3 {
                    group.addTask {
                        try await withOpenLedger(location) { ledger in
                            for _ in 0..<20 {
                                _ = try await ledger.leaseCredits(account: "tight", holder: "i\(instance)", request: .grow(minimum: NanoDollars(300_000)),
                                                                  nowMs: 100, ttlMs: 60_000)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let live = try await withOpenLedger(location) { try await $0.leases(account: "tight", nowMs: 100) }
            let total = live.values.reduce(0) { $0 + $1.amount.value }
            #expect(total <= NanoDollars.perCent)
            // Grows stop only when less than the minimum is free.
            #expect(total > NanoDollars.perCent - 300_000)
        }
    }
}

@Suite("PostgreSQL tests in CI")
struct PostgresRequiredInCITests {
    @Test("CI runs the PostgreSQL ledger tests rather than skipping them")
    func configured() {
        if PostgresTestDatabase.isRequired {
            #expect(PostgresTestDatabase.serverURL != nil, "CI=true but SLUICE_TEST_POSTGRES_URL is unset: start scripts/test-services")
        }
    }
}
