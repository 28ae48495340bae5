/// What a rate-limit policy counts (the `u=` parameter of SPEC §4).
public enum RateLimitUnit: String, Sendable, CaseIterable {
    /// Admitted requests (the default).
    case request
    /// Prompt plus completion tokens.
    case token
    /// US cents of cost, at the price of the model that served the call.
    case cents
}
