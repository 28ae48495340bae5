/// How a ``SluiceClient`` retries, paces and queues (SPEC §9). The defaults suit an interactive
/// caller of a shared key; a batch job raises `maxConcurrent` and `queueCapacity`.
public struct SluiceClientConfiguration: Sendable {
    /// Where the pace comes from.
    public enum Pacing: Sendable, Equatable {
        /// Learn the RPM from each answer's `RateLimit-Policy` (Sluice sends it); until the first
        /// answer, and against servers that never send it, nothing is paced.
        case learned
        /// Pace at this many requests per minute, whatever the answers say.
        case fixed(requestsPerMinute: Double)
        /// Never pace; rely on retries alone.
        case off
    }

    /// When to retry a failed attempt and how long to wait first.
    public var retryPolicy: ClientRetryPolicy
    /// The longest `Retry-After` slept through (it is also ``ClientRetryPolicy/maxRetryWait``).
    public var maxRetryWait: Duration {
        get { retryPolicy.maxRetryWait }
        set { retryPolicy.maxRetryWait = newValue }
    }
    /// The RPM to pace at, or how to learn it.
    public var pacing: Pacing
    /// The share of the RPM used, leaving headroom for other clients of the key.
    public var targetFraction: Double
    /// Calls that may run at once (including their retries and the waits between them).
    public var maxConcurrent: Int
    /// Calls that may wait for a slot; one more is refused with `.queueFull`.
    public var queueCapacity: Int
    /// The longest one attempt may take, from sending to the end of the answer's head.
    public var requestTimeout: Duration
    /// How long the client's own HTTP client keeps trying to connect (AsyncHTTPClient retries a
    /// refused connection until then), so how soon an unreachable server becomes `.transport`.
    /// Ignored when an `HTTPClient` is passed in: its configuration rules.
    public var connectTimeout: Duration
    /// How the client waits (pacing and retry waits). Tests inject one that records the waits.
    public var sleep: @Sendable (Duration) async throws -> Void
    /// The clock the pacer books starts on; it must agree with `sleep`.
    public var now: @Sendable () -> ContinuousClock.Instant

    /// Creates a configuration.
    public init(
        retryPolicy: ClientRetryPolicy = ClientRetryPolicy(),
        pacing: Pacing = .learned,
        targetFraction: Double = 0.8,
        maxConcurrent: Int = 8,
        queueCapacity: Int = 1_000,
        requestTimeout: Duration = .seconds(120),
        connectTimeout: Duration = .seconds(10),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.retryPolicy = retryPolicy
        self.pacing = pacing
        self.targetFraction = targetFraction
        self.maxConcurrent = maxConcurrent
        self.queueCapacity = queueCapacity
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.sleep = sleep
        self.now = now
    }
}
