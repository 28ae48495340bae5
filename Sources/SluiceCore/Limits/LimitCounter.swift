/// The live state of one counter: a rolling window, a UTC day, or requests in flight.
public enum LimitCounter: Sendable, Equatable {
    case rolling(RollingWindow)
    case day(index: Int64, used: Int64)
    case concurrency(inFlight: Int64)

    static let dayMs: Int64 = 86_400_000

    /// A fresh counter for a kind of limit.
    public init(kind: LimitCheck.Kind) {
        switch kind {
        case .rolling(let seconds): self = .rolling(RollingWindow(windowSeconds: seconds))
        case .utcDay: self = .day(index: 0, used: 0)
        case .concurrency: self = .concurrency(inFlight: 0)
        }
    }

    /// Forgets what no longer counts at `nowMs`: expired slots, a past day. A day counter never
    /// moves back: a decision whose clock read just before midnight, decided after the new day
    /// began, counts in the new day rather than wiping it.
    public mutating func refresh(nowMs: Int64) {
        switch self {
        case .rolling(let window) where window.hasExpired(nowMs: nowMs):
            updateWindow { $0.expire(nowMs: nowMs) }
        case .rolling:
            break
        case .day(let index, _) where index < nowMs / Self.dayMs:
            self = .day(index: nowMs / Self.dayMs, used: 0)
        case .day, .concurrency:
            break
        }
    }

    /// What is counted now (after `refresh`).
    public var used: Int64 {
        switch self {
        case .rolling(let window): window.used
        case .day(_, let used): used
        case .concurrency(let inFlight): inFlight
        }
    }

    /// How much of `check.amount` this counter would reserve now; nil if it refuses.
    func admissible(_ check: LimitCheck) -> Int64? {
        let used = self.used
        switch check.mode {
        case .whole:
            return used + check.amount <= check.quota ? check.amount : nil
        case .upToRemaining:
            return used < check.quota ? min(check.amount, check.quota - used) : nil
        }
    }

    /// Seconds until this request would be admitted by this counter (at least 1).
    public func retryAfterSeconds(_ check: LimitCheck, nowMs: Int64) -> Int {
        let ms: Int64
        switch self {
        case .rolling(let window):
            let target = check.mode == .whole ? check.quota - check.amount : check.quota - 1
            ms = window.msUntilUsed(atMost: target, nowMs: nowMs)
        case .day:
            ms = Self.msUntilNextDay(nowMs)
        case .concurrency:
            // Nobody knows when an in-flight call ends; a second is a fair wait.
            ms = 1000
        }
        return max(1, Int((ms + 999) / 1000))
    }

    /// Counts `amount` now; returns where (slot or day), for settling later.
    mutating func reserve(_ amount: Int64, nowMs: Int64) -> Int64 {
        switch self {
        case .rolling:
            return updateWindow { $0.add(amount, nowMs: nowMs) }
        case .day(let index, let used):
            self = .day(index: index, used: used + amount)
            return index
        case .concurrency(let inFlight):
            self = .concurrency(inFlight: inFlight + amount)
            return 0
        }
    }

    /// Corrects a reservation made at `slot` by `delta`; for concurrency, releases the lease.
    public mutating func settle(slot: Int64, delta: Int64, reserved: Int64) {
        switch self {
        case .rolling:
            updateWindow { $0.adjust(slot: slot, by: delta) }
        case .day(let index, let used):
            // A reservation from a day that has ended no longer counts against anything.
            if index == slot { self = .day(index: index, used: max(0, used + delta)) }
        case .concurrency(let inFlight):
            self = .concurrency(inFlight: max(0, inFlight - reserved))
        }
    }

    /// The state the headers report: remaining quota and seconds until more frees up.
    public func state(_ check: LimitCheck, nowMs: Int64) -> LimitState {
        let remaining = max(0, check.quota - used)
        let reset: Int?
        switch self {
        case .rolling(let window):
            reset = window.msUntilOldestExpires(nowMs: nowMs).map { max(1, Int(($0 + 999) / 1000)) } ?? check.windowSeconds
        case .day:
            reset = max(1, Int((Self.msUntilNextDay(nowMs) + 999) / 1000))
        case .concurrency:
            reset = nil
        }
        return LimitState(check: check, remaining: remaining, resetSeconds: reset)
    }

    /// Whether the counter holds nothing that still matters, so the store may drop it.
    public func isIdle(nowMs: Int64) -> Bool {
        switch self {
        case .rolling(let window): window.isIdle(nowMs: nowMs)
        case .day(let index, let used): used == 0 || index < nowMs / Self.dayMs
        case .concurrency(let inFlight): inFlight == 0
        }
    }

    /// Changes a rolling counter's window in place. Taken out of the enum as is, the window's
    /// slot array would have two owners and be copied on every change; parking the enum on a
    /// payload-free case first leaves the window the only owner.
    private mutating func updateWindow<T>(_ change: (inout RollingWindow) -> T) -> T {
        guard case .rolling(var window) = self else { preconditionFailure("not a rolling counter") }
        self = .concurrency(inFlight: 0)
        defer { self = .rolling(window) }
        return change(&window)
    }

    static func msUntilNextDay(_ nowMs: Int64) -> Int64 {
        (nowMs / dayMs + 1) * dayMs - nowMs
    }
}
