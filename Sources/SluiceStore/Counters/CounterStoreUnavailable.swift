/// The shared counter store cannot be reached and `on_counter_store_failure: closed` says not to
/// decide without it. The server answers 503 with `Retry-After: retryAfterSeconds`.
public struct CounterStoreUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    /// Whole seconds until the store is tried again (at least 1).
    public var retryAfterSeconds: Int
    /// Why, e.g. `redis at 10.0.0.5:6379 did not answer within 250 ms`.
    public var reason: String

    public init(retryAfterSeconds: Int, reason: String) {
        self.retryAfterSeconds = max(1, retryAfterSeconds)
        self.reason = reason
    }

    public var description: String { "the rate-limit counter store is unavailable: \(reason)" }
}
