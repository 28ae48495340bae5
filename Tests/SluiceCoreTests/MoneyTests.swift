import SluiceCore
import Testing

@Suite("Money")
struct MoneyTests {
    @Test("dollar amounts parse exactly into nano-dollars", arguments: [
        ("0", Int64(0)), ("10", 10_000_000_000), ("0.01", 10_000_000), ("2.5", 2_500_000_000), ("2.50", 2_500_000_000),
        ("0.000000001", 1), ("1.999999999", 1_999_999_999), ("007.5", 7_500_000_000), ("9223372036", 9_223_372_036_000_000_000),
    ])
    func parseDollars(text: String, nanos: Int64) {
        #expect(NanoDollars(dollars: text) == NanoDollars(nanos))
    }

    @Test("anything but a plain non-negative decimal with at most 9 decimals is refused", arguments: [
        "1.0000000001", "-1", "abc", "1.", ".5", "", "1e3", "+1", "1,5", " 1", "1 ", "1.2.3", "0x10", "٣", "9223372037", "99999999999999999999",
    ])
    func rejectDollars(text: String) {
        #expect(NanoDollars(dollars: text) == nil)
    }

    @Test("formatting rounds half away from zero to the decimals asked", arguments: [
        (Int64(1_234_567_890), 4, "$1.2346"), (1_234_567_890, 2, "$1.23"), (1_234_567_890, 0, "$1"), (1_234_567_890, 9, "$1.234567890"),
        (5_000_000, 2, "$0.01"), (4_999_999, 2, "$0.00"), (1_500_000_000, 0, "$2"), (0, 2, "$0.00"), (10_000_000_000, 2, "$10.00"),
        (-5_000_000, 2, "-$0.01"), (-4_000_000, 2, "$0.00"), (-1_234_567_890, 4, "-$1.2346"),
        (Int64.max, 9, "$9223372036.854775807"), (Int64.min, 0, "-$9223372037"),
    ])
    func formatting(nanos: Int64, decimals: Int, text: String) {
        #expect(NanoDollars(nanos).formatted(decimals: decimals) == text)
    }

    @Test("a balance describes itself with four decimals and converts to dollars")
    func descriptionAndDollars() {
        #expect(NanoDollars(3_976_537_500).description == "$3.9765")
        #expect(NanoDollars(2_500_000_000).dollars == 2.5)
        #expect(NanoDollars(1_000) + NanoDollars(234) == NanoDollars(1_234))
        #expect(NanoDollars(1_000) - NanoDollars(1_234) == NanoDollars(-234))
        #expect(NanoDollars(-1) < .zero)
        #expect(NanoDollars.perDollar == 100 * NanoDollars.perCent)
    }

    @Test("prices per million tokens become whole nano-dollars per token", arguments: [
        ("2.50", Int64(2500)), ("10.00", 10_000), ("0.075", 75), ("0.15", 150), ("0.001", 1), ("0", 0), ("1000", 1_000_000),
    ])
    func perToken(text: String, nanos: Int64) {
        #expect(Price.perToken(fromPerMillion: text) == nanos)
    }

    @Test("prices with more than three decimals or not plain decimals are refused", arguments: ["0.0001", "2.5001", "-1", "abc", "1.", "1e2", ""])
    func perTokenRejected(text: String) {
        #expect(Price.perToken(fromPerMillion: text) == nil)
    }

    @Test("the cost of a call is exact in nano-dollars")
    func costExact() throws {
        let price = Price(inputPerToken: try #require(Price.perToken(fromPerMillion: "2.50")),
                          outputPerToken: try #require(Price.perToken(fromPerMillion: "10.00")))
        // 1,234,567 × $2.50/M + 89,012 × $10.00/M = $3.0864175 + $0.89012 = $3.9765375
        #expect(price.cost(inputTokens: 1_234_567, outputTokens: 89_012) == NanoDollars(3_976_537_500))
        #expect(price.cost(inputTokens: 0, outputTokens: 0) == .zero)
        #expect(price.cost(inputTokens: 1, outputTokens: 0) == NanoDollars(2500))
    }

    @Test("summing many small calls never drifts")
    func costNoDrift() throws {
        let price = Price(inputPerToken: try #require(Price.perToken(fromPerMillion: "0.075")), outputPerToken: 300)
        var total = NanoDollars.zero
        for _ in 0..<1_000_000 { total = total + price.cost(inputTokens: 1, outputTokens: 1) }
        #expect(total == NanoDollars(375_000_000))
        #expect(total.formatted(decimals: 9) == "$0.375000000")
    }
}
