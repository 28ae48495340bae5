/// An amount of US dollars in integer billionths, so prices with up to three decimals per
/// million tokens cost an exact whole number per token and sums never drift.
public struct NanoDollars: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Billionths of a dollar.
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = NanoDollars(0)
    public static let perDollar: Int64 = 1_000_000_000
    public static let perCent: Int64 = 10_000_000

    /// Parses a decimal dollar amount such as `10`, `0.01` or `2.5` exactly (at most 9 decimals).
    public init?(dollars text: String) {
        guard let value = Decimal9.parse(text, scale: 9) else { return nil }
        self.value = value
    }

    /// The amount in dollars, for display and JSON.
    public var dollars: Double { Double(value) / Double(Self.perDollar) }

    public static func + (lhs: NanoDollars, rhs: NanoDollars) -> NanoDollars { NanoDollars(lhs.value + rhs.value) }
    public static func - (lhs: NanoDollars, rhs: NanoDollars) -> NanoDollars { NanoDollars(lhs.value - rhs.value) }
    public static func < (lhs: NanoDollars, rhs: NanoDollars) -> Bool { lhs.value < rhs.value }

    /// `$1.2345` with four decimals, as people read balances.
    public var description: String { formatted(decimals: 4) }

    /// `$` and the amount rounded half away from zero to `decimals` places (0...9).
    public func formatted(decimals: Int) -> String {
        let unit = Self.pow10(9 - decimals)
        let magnitude = value.magnitude
        let rounded = (magnitude + unit / 2) / unit
        let scale = Self.pow10(decimals)
        let whole = rounded / scale
        var text = (value < 0 && rounded != 0 ? "-$" : "$") + String(whole)
        if decimals > 0 {
            let fraction = String(rounded % scale)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    private static func pow10(_ exponent: Int) -> UInt64 {
        (0..<exponent).reduce(1) { value, _ in value * 10 }
    }
}

/// Exact parsing of non-negative decimal text into a scaled integer.
enum Decimal9 {
    /// `text` × 10^scale as an integer, or nil if it is not a plain decimal, has more than
    /// `scale` decimals or overflows.
    static func parse(_ text: String, scale: Int) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholePart = parts.first, !wholePart.isEmpty, wholePart.allSatisfy(\.isASCIIDigit) else { return nil }
        let fractionPart = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fractionPart.isEmpty, fractionPart.allSatisfy(\.isASCIIDigit), fractionPart.count <= scale else { return nil }
        guard let whole = Int64(wholePart) else { return nil }
        let padded = fractionPart + String(repeating: "0", count: scale - fractionPart.count)
        let fraction = padded.isEmpty ? 0 : Int64(padded)!
        var multiplier: Int64 = 1
        for _ in 0..<scale { multiplier *= 10 }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        let (sum, overflow2) = scaled.addingReportingOverflow(fraction)
        return overflow2 ? nil : sum
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
