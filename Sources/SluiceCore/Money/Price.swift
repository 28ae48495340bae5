/// What a model costs, in nano-dollars per token.
///
/// Prices are configured in USD per million tokens; one nano-dollar per token is $0.001 per
/// million, so every price with up to three decimals is a whole number here.
public struct Price: Sendable, Hashable {
    /// Nano-dollars per input (prompt) token.
    public var inputPerToken: Int64
    /// Nano-dollars per output (completion) token.
    public var outputPerToken: Int64

    public init(inputPerToken: Int64, outputPerToken: Int64) {
        self.inputPerToken = inputPerToken
        self.outputPerToken = outputPerToken
    }

    /// Parses a price per million tokens, such as `2.50` or `0.075`; nil when it is not a
    /// non-negative decimal with at most three decimals.
    public static func perToken(fromPerMillion text: String) -> Int64? {
        Decimal9.parse(text, scale: 3)
    }

    /// Cost of a call: input tokens × input price + output tokens × output price.
    public func cost(inputTokens: Int, outputTokens: Int) -> NanoDollars {
        NanoDollars(Int64(inputTokens) * inputPerToken + Int64(outputTokens) * outputPerToken)
    }
}
