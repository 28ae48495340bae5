import SluiceCore
import Testing

@Suite("Credit leases")
struct CreditLeaseTests {
    @Test("a grow takes a quarter of what is free, at least the minimum, and nothing when the minimum is not free")
    func grow() {
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 0, current: 0, request: .grow(minimum: NanoDollars(10))) == 250)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 0, current: 0, request: .grow(minimum: NanoDollars(600))) == 600)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 600, current: 100, request: .grow(minimum: NanoDollars(10))) == 175)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 600, current: 100, request: .grow(minimum: NanoDollars(301))) == 100)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 600, current: 100, request: .grow(minimum: NanoDollars(300))) == 400)
    }

    @Test("no request ever takes a holder past the balance minus the others' leases")
    func ceiling() {
        for balance in [-50, 0, 1, 999, 10_000] as [Int64] {
            for others in [0, 1, 500, 20_000] as [Int64] {
                for current in [0, 3, 700, 30_000] as [Int64] {
                    for request in [LeaseRequest.renew, .shrink(to: NanoDollars(5)), .grow(minimum: NanoDollars(1)), .grow(minimum: NanoDollars(9_000))] {
                        let amount = CreditLeaseTerms.newAmount(balance: balance, otherLeases: others, current: current, request: request)
                        #expect(amount >= 0 && amount <= max(0, balance - others))
                    }
                }
            }
        }
    }

    @Test("renew keeps the lease; shrink gives back all but what is owed")
    func renewAndShrink() {
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 0, current: 400, request: .renew) == 400)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 0, current: 400, request: .shrink(to: NanoDollars(30))) == 30)
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 0, current: 20, request: .shrink(to: NanoDollars(30))) == 20)
        // Others leased part of a lapsed lease meanwhile: renewing keeps only what is left.
        #expect(CreditLeaseTerms.newAmount(balance: 1_000, otherLeases: 800, current: 400, request: .renew) == 200)
    }

    static let policy = CreditLeasePolicy(ttlMs: 10_000, renewWithinMs: 5_000, clockMarginMs: 2_000)

    @Test("in lease mode calls are decided from the lease alone, until its clock margin")
    func spendFromLease() {
        var book = CreditBook(leases: Self.policy)
        book.applyLedger(account: "acme", balance: NanoDollars(1_000_000), version: 7)
        // The balance itself is not spendable: only a lease is.
        #expect(book.reserve(account: "acme", cost: NanoDollars(100), nowMs: 0) == .insufficient(available: .zero))
        #expect(book.leaseShortfall(account: "acme", cost: NanoDollars(100), nowMs: 0) == NanoDollars(100))
        book.applyLease(account: "acme", amount: NanoDollars(250), version: 1, expiresAtMs: 10_000)
        #expect(book.reserve(account: "acme", cost: NanoDollars(200), nowMs: 1_000) == .reserved(NanoDollars(200)))
        #expect(book.leaseShortfall(account: "acme", cost: NanoDollars(100), nowMs: 1_000) == NanoDollars(50))
        book.settle(account: "acme", reserved: NanoDollars(200), actual: NanoDollars(120))
        #expect(book.reserve(account: "acme", cost: NanoDollars(130), nowMs: 7_999) == .reserved(NanoDollars(130)))
        book.settle(account: "acme", reserved: NanoDollars(130), actual: .zero)
        // Within the clock margin of its expiry the lease is no longer spent from.
        #expect(book.reserve(account: "acme", cost: NanoDollars(1), nowMs: 8_000) == .insufficient(available: NanoDollars(-120)))
        // The written debit comes back with the lease after it; an older lease answer is ignored.
        book.debitsWritten(account: "acme", amount: NanoDollars(120), balanceAfter: NanoDollars(130), version: 2)
        book.applyLease(account: "acme", amount: NanoDollars(250), version: 1, expiresAtMs: 20_000)
        #expect(book.accounts["acme"]?.ledgerBalance == NanoDollars(130) && book.accounts["acme"]?.unwrittenDebits == 0)
        // Reading the account again (a top-up elsewhere) does not touch the lease.
        book.applyLedger(account: "acme", balance: NanoDollars(9_000_000), version: 9)
        #expect(book.accounts["acme"]?.ledgerBalance == NanoDollars(130))
        // The unreserving default clock never spends a lease.
        #expect(book.reserve(account: "acme", cost: NanoDollars(1)) == .insufficient(available: .zero))
    }

    @Test("unlimited accounts need no lease in lease mode; becoming limited starts with none")
    func unlimited() {
        var book = CreditBook(leases: Self.policy)
        book.applyLedger(account: "free", balance: nil, version: 1)
        #expect(book.reserve(account: "free", cost: NanoDollars(1_000), nowMs: 0) == .unlimited)
        #expect(book.leaseShortfall(account: "free", cost: NanoDollars(1_000), nowMs: 0) == nil)
        book.applyLedger(account: "free", balance: NanoDollars(5), version: 2)
        #expect(book.reserve(account: "free", cost: NanoDollars(1), nowMs: 0) == .insufficient(available: .zero))
        // Not in lease mode: no shortfall, no upkeep.
        var single = CreditBook()
        single.applyLedger(account: "acme", balance: NanoDollars(5), version: 1)
        #expect(single.leaseShortfall(account: "acme", cost: NanoDollars(10), nowMs: 0) == nil)
        #expect(single.leaseUpkeep(nowMs: 0).isEmpty && single.leasesToGiveBack().isEmpty)
    }

    @Test("leases near expiry are renewed when used and given back when idle; all are given back on shutdown")
    func upkeep() {
        var book = CreditBook(leases: Self.policy)
        for name in ["busy", "idle", "owing"] {
            book.applyLedger(account: name, balance: NanoDollars(1_000), version: 1)
            book.applyLease(account: name, amount: NanoDollars(300), version: 1, expiresAtMs: 10_000)
        }
        _ = book.reserve(account: "busy", cost: NanoDollars(10), nowMs: 1_000)
        book.settle(account: "busy", reserved: NanoDollars(10), actual: NanoDollars(10))
        book.debitsWritten(account: "busy", amount: NanoDollars(10), balanceAfter: NanoDollars(290), version: 2)
        _ = book.reserve(account: "owing", cost: NanoDollars(40), nowMs: 1_000)
        // Not near expiry yet.
        #expect(book.leaseUpkeep(nowMs: 5_000).isEmpty)
        let upkeep = book.leaseUpkeep(nowMs: 5_001)
        #expect(upkeep.map(\.account) == ["busy", "idle", "owing"])
        #expect(upkeep.map(\.request) == [.renew, .shrink(to: .zero), .renew])
        // A lease shrunk to nothing with nothing owed needs no more upkeep.
        book.applyLease(account: "idle", amount: .zero, version: 2, expiresAtMs: 15_001)
        #expect(book.leaseUpkeep(nowMs: 14_000).map(\.account) == ["busy", "owing"])
        #expect(book.leasesToGiveBack().map(\.request) == [.shrink(to: .zero), .shrink(to: NanoDollars(40))])
    }
}
