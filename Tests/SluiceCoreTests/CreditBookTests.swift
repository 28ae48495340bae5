import SluiceCore
import Testing

@Suite("Credit book")
struct CreditBookTests {
    @Test("a reservation needs the available balance to cover it; settling turns it into a debit")
    func reserveAndSettle() {
        var book = CreditBook()
        book.applyLedger(account: "acme", balance: NanoDollars(1_000), version: 1)
        #expect(book.reserve(account: "acme", cost: NanoDollars(600)) == .reserved(NanoDollars(600)))
        // 400 left while the first call is in flight.
        #expect(book.reserve(account: "acme", cost: NanoDollars(401)) == .insufficient(available: NanoDollars(400)))
        #expect(book.reserve(account: "acme", cost: NanoDollars(400)) == .reserved(NanoDollars(400)))
        book.settle(account: "acme", reserved: NanoDollars(600), actual: NanoDollars(100))
        book.settle(account: "acme", reserved: NanoDollars(400), actual: NanoDollars(50))
        #expect(book.accounts["acme"]?.reserved == 0)
        #expect(book.accounts["acme"]?.available == NanoDollars(850))
        #expect(book.unwrittenDebits(account: "acme") == NanoDollars(150))
        // The flusher writes the debits; the ledger answers with the balance after them.
        book.debitsWritten(account: "acme", amount: NanoDollars(150), balanceAfter: NanoDollars(850), version: 2)
        #expect(book.accounts["acme"]?.unwrittenDebits == 0 && book.accounts["acme"]?.available == NanoDollars(850))
    }

    @Test("an older ledger read never replaces a newer balance")
    func versions() {
        var book = CreditBook()
        book.applyLedger(account: "acme", balance: NanoDollars(100), version: 5)
        book.applyLedger(account: "acme", balance: NanoDollars(9_999), version: 4)
        #expect(book.accounts["acme"]?.ledgerBalance == NanoDollars(100))
        book.applyLedger(account: "acme", balance: NanoDollars(2_600), version: 6)  // a top-up
        #expect(book.accounts["acme"]?.available == NanoDollars(2_600))
        // A debit confirmed after a newer read keeps the newer balance and clears the debit.
        book.settle(account: "acme", reserved: .zero, actual: NanoDollars(100))
        book.debitsWritten(account: "acme", amount: NanoDollars(100), balanceAfter: NanoDollars(2_400), version: 6)
        #expect(book.accounts["acme"]?.available == NanoDollars(2_600))
    }

    @Test("unlimited accounts are never refused and accumulate no debits; unknown accounts have nothing")
    func unlimitedAndUnknown() {
        var book = CreditBook()
        book.applyLedger(account: "rich", balance: nil, version: 0)
        #expect(book.reserve(account: "rich", cost: NanoDollars(Int64.max / 2)) == .unlimited)
        book.settle(account: "rich", reserved: .zero, actual: NanoDollars(5))
        #expect(book.unwrittenDebits(account: "rich") == .zero)
        #expect(book.reserve(account: "ghost", cost: .zero) == .insufficient(available: .zero))
    }

    @Test("under any interleaving the balance goes below zero only by what calls cost beyond their reservations")
    func overshootBound() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            var book = CreditBook()
            let start: Int64 = 10_000
            book.applyLedger(account: "a", balance: NanoDollars(start), version: 1)
            var inFlight: [(reserved: Int64, actual: Int64)] = []
            var spent: Int64 = 0
            var overshoot: Int64 = 0
            for step in 0..<150 {
                let finishing = step >= 100
                if (finishing || Bool.random(using: &generator)), !inFlight.isEmpty {
                    let call = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &generator))
                    book.settle(account: "a", reserved: NanoDollars(call.reserved), actual: NanoDollars(call.actual))
                    spent += call.actual
                } else if !finishing {
                    let reserved = Int64.random(in: 0...3_000, using: &generator)
                    let actual = Int64.random(in: 0...4_000, using: &generator)
                    let before = book.accounts["a"]!.available!.value
                    switch book.reserve(account: "a", cost: NanoDollars(reserved)) {
                    case .reserved:
                        #expect(before >= reserved)
                        inFlight.append((reserved, actual))
                        overshoot += max(0, actual - reserved)
                    case .insufficient(let available):
                        #expect(available.value < reserved)
                    case .unlimited:
                        Issue.record("a limited account answered unlimited")
                    }
                }
                #expect(book.accounts["a"]!.available!.value == start - spent - inFlight.reduce(0) { $0 + $1.reserved })
            }
            #expect(start - spent >= -overshoot)
            #expect(book.accounts["a"]!.reserved == 0)
        }
    }
}
