/// When the client retries a failed call, and after how long (SPEC §9). Pure: the caller passes
/// the attempt number and a random source, performs the ``RetryDecision`` and never sleeps here.
///
/// * 429 with `Retry-After`: wait that plus a small bounded jitter (so that callers refused
///   together do not return together), unless it is beyond ``maxRetryWait``.
/// * A daily-cap 429: thrown at once; nothing is admitted before 00:00 UTC.
/// * 502, 503, 504 and transport errors: exponential backoff with full jitter,
///   `random(0...min(maxBackoff, baseBackoff·2^(attempt-1)))`.
/// * Everything else (400, 401, 402, 403, 404, 409, 413, 422, 500, …): thrown at once.
/// * A stream that has delivered its first chunk is never retried: the caller has seen output.
public struct ClientRetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included; after the last one the error is thrown.
    public var maxAttempts: Int
    /// The longest `Retry-After` the caller will sleep through; a longer one is thrown at once.
    public var maxRetryWait: Duration
    /// The backoff bound of the first retry; it doubles with each further attempt.
    public var baseBackoff: Duration
    /// The most any one backoff may be.
    public var maxBackoff: Duration
    /// The jitter added to a `Retry-After` wait is at most this fraction of it…
    public var retryAfterJitterFraction: Double
    /// …and at most this long.
    public var maxRetryAfterJitter: Duration

    /// Creates a policy; the defaults suit an interactive caller of a shared gateway.
    public init(
        maxAttempts: Int = 4,
        maxRetryWait: Duration = .seconds(60),
        baseBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(30),
        retryAfterJitterFraction: Double = 0.1,
        maxRetryAfterJitter: Duration = .milliseconds(250)
    ) {
        self.maxAttempts = maxAttempts
        self.maxRetryWait = maxRetryWait
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.retryAfterJitterFraction = retryAfterJitterFraction
        self.maxRetryAfterJitter = maxRetryAfterJitter
    }

    /// Whether a stream may be retried at all: only before its first chunk, since after it the
    /// caller has consumed output that a second attempt would repeat or contradict.
    public static func isStreamRetryable(afterFirstChunk: Bool) -> Bool {
        !afterFirstChunk
    }

    /// The decision after attempt number `attempt` (1 for the first) failed with `error`.
    /// `afterFirstChunk` is true when the failed attempt was a stream that had already delivered
    /// output.
    public func decide(
        attempt: Int,
        error: SluiceClientError,
        afterFirstChunk: Bool = false,
        using random: inout some RandomNumberGenerator
    ) -> RetryDecision {
        guard attempt < maxAttempts, Self.isStreamRetryable(afterFirstChunk: afterFirstChunk) else { return .throwNow }
        switch error {
        case .rateLimited(let retryAfter, _, _):
            // Without Retry-After (not Sluice, which always sends it) back off as for a 503.
            guard let retryAfter else { return .retry(after: backoff(attempt: attempt, using: &random)) }
            guard retryAfter <= maxRetryWait else { return .throwNow }
            return .retry(after: retryAfter + jitter(for: retryAfter, using: &random))
        case .upstream(let info) where [502, 503, 504].contains(info.status):
            return .retry(after: backoff(attempt: attempt, using: &random))
        case .transport:
            return .retry(after: backoff(attempt: attempt, using: &random))
        case .dailyTokenCapReached, .insufficientCredits, .invalidRequest, .authentication,
             .permissionDenied, .notFound, .upstream, .queueFull, .cancelled:
            return .throwNow
        }
    }

    /// ``decide(attempt:error:afterFirstChunk:using:)`` with the system's random source.
    public func decide(attempt: Int, error: SluiceClientError, afterFirstChunk: Bool = false) -> RetryDecision {
        var random = SystemRandomNumberGenerator()
        return decide(attempt: attempt, error: error, afterFirstChunk: afterFirstChunk, using: &random)
    }

    /// Full jitter: uniform in `0...min(maxBackoff, baseBackoff·2^(attempt-1))`, so that clients
    /// failing together spread out instead of retrying in lockstep.
    func backoff(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let base = max(0, baseBackoff.clampedNanoseconds)
        let ceiling = max(0, maxBackoff.clampedNanoseconds)
        let doublings = min(max(attempt - 1, 0), 62)
        let (grown, overflow) = base.multipliedReportingOverflow(by: Int64(1) << doublings)
        let bound = overflow ? ceiling : min(ceiling, grown)
        return .nanoseconds(Int64.random(in: 0...bound, using: &random))
    }

    /// Uniform in `0...min(fraction·wait, maxRetryAfterJitter)`.
    func jitter(for wait: Duration, using random: inout some RandomNumberGenerator) -> Duration {
        let fraction = Double(wait.clampedNanoseconds) * max(0, retryAfterJitterFraction)
        let cap = Double(max(0, maxRetryAfterJitter.clampedNanoseconds))
        // Int64(exactly:) refuses what does not fit, e.g. a jitter cap of `.seconds(.max)`.
        let bound = Int64(exactly: min(fraction, cap).rounded(.down)) ?? Int64.max / 2
        return .nanoseconds(Int64.random(in: 0...bound, using: &random))
    }
}
