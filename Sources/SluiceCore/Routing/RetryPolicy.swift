/// How long to wait before retrying a model (SPEC §6): full-jitter exponential backoff, or the
/// provider's `Retry-After` when it is short enough to wait for.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts per model in the chain, the first included.
    public var maxAttempts: Int
    public var baseDelayMs: Int64
    public var maxDelayMs: Int64
    /// A provider Retry-After longer than this moves on to the next model at once.
    public var maxRetryAfterMs: Int64

    public init(maxAttempts: Int, baseDelayMs: Int64, maxDelayMs: Int64, maxRetryAfterMs: Int64) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelayMs = max(0, baseDelayMs)
        self.maxDelayMs = max(0, maxDelayMs)
        self.maxRetryAfterMs = max(0, maxRetryAfterMs)
    }

    public init(_ config: RetryConfig) {
        self.init(maxAttempts: config.maxAttempts, baseDelayMs: Int64(config.baseDelayMs), maxDelayMs: Int64(config.maxDelayMs),
                  maxRetryAfterMs: Int64(config.maxRetryAfterSeconds) * 1000)
    }

    /// `min(max_delay, base × 2^retry) × random(0…1)` for the `retry`-th retry (0 for the first).
    /// Full jitter spreads the retries of many callers hit by one outage instead of sending them
    /// back in waves.
    public func backoffMs(retry: Int, using random: inout some RandomNumberGenerator) -> Int64 {
        let ceiling = min(maxDelayMs, baseDelayMs.multipliedSaturating(byPowerOfTwo: retry))
        guard ceiling > 0 else { return 0 }
        return Int64.random(in: 0...ceiling, using: &random)
    }
}

extension Int64 {
    /// `self × 2^exponent`, saturating at `Int64.max`.
    func multipliedSaturating(byPowerOfTwo exponent: Int) -> Int64 {
        guard self > 0 else { return 0 }
        if exponent >= 62 || self > Int64.max >> exponent { return .max }
        return self << exponent
    }
}
