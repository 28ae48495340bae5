/// Proactive pacing (SPEC §9): spaces request starts so that at most `targetFraction` of the
/// key's requests-per-minute start in any 60 s, leaving the rest of the quota as headroom for
/// other clients of the same key and for clock skew, instead of running into 429s.
///
/// A token bucket of one token refilled every `60 s / (targetFraction · rpm)`: each start is at
/// least one interval after the previous one. A bucket of one rather than a bigger burst is what
/// makes the bound hold in *every* 60 s window, the way Sluice's rolling windows count (SPEC §4).
/// Pure and clock-injected: the caller passes `now`, sleeps the returned wait, then sends.
public struct RequestPacer<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The share of the quota to use, in `(0, 1]`.
    public private(set) var targetFraction: Double
    /// The requests per minute paced at, configured or learned; nil paces nothing.
    public private(set) var requestsPerMinute: Double?
    /// When the latest reserved request starts.
    private var lastStart: Instant?
    /// The first start made while not pacing, within the last minute, and how many followed it:
    /// learning an RPM books them, so a burst sent before the first answer counts against it.
    private var unpaced: (first: Instant, count: Int)?

    /// Creates a pacer; `requestsPerMinute` nil until learned (``update(requestsPerMinute:)``).
    public init(requestsPerMinute: Double? = nil, targetFraction: Double = 0.8) {
        self.targetFraction = min(max(targetFraction, .leastNonzeroMagnitude), 1)
        self.requestsPerMinute = requestsPerMinute
    }

    /// Paces at `requestsPerMinute` from the next reservation on (e.g. learned from
    /// ``RateLimitPolicyHeader/requestsPerMinute``); nil stops pacing.
    ///
    /// Starts made unpaced in the minute before are booked as if they had been paced from the
    /// first of them (at most a minute's worth), so that the bound holds across the switch.
    public mutating func update(requestsPerMinute: Double?) {
        self.requestsPerMinute = requestsPerMinute
        guard let interval, let unpaced else { return }
        self.unpaced = nil
        let booked = unpaced.first.advanced(by: min(interval * (unpaced.count - 1), .seconds(60)))
        if lastStart.map({ $0 < booked }) ?? true { lastStart = booked }
    }

    /// The time between two starts: `60 s / (targetFraction · rpm)`, rounded up to the next
    /// nanosecond so that rounding can never let one start too many into a window. Nil when not
    /// pacing; a quota of zero is paced as one request an hour rather than divided by.
    public var interval: Duration? {
        guard let rpm = requestsPerMinute else { return nil }
        let perMinute = max(rpm * targetFraction, 1.0 / 60)
        let nanoseconds = (60e9 / perMinute).rounded(.up)
        return .nanoseconds(Int64(exactly: nanoseconds) ?? .max)
    }

    /// Reserves the next start and returns how long to wait before sending (zero to send now).
    /// Every call reserves: a caller that then gives up leaves a gap, which only slows others.
    public mutating func reserve(now: Instant) -> Duration {
        guard let interval else {
            if let unpaced, unpaced.first.duration(to: now) < .seconds(60) {
                self.unpaced = (unpaced.first, unpaced.count + 1)
            } else {
                unpaced = (now, 1)
            }
            return .zero
        }
        var start = now
        if let lastStart, lastStart.advanced(by: interval) > now { start = lastStart.advanced(by: interval) }
        lastStart = start
        return now.duration(to: start)
    }
}
