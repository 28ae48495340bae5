/// What one limit looks like after a decision, for the `RateLimit` headers and `/admin/limits`.
public struct LimitState: Sendable, Hashable {
    public var check: LimitCheck
    /// Quota left, in counter units, after this request was counted (or, when refused, before).
    public var remaining: Int64
    /// Seconds until more quota frees up; nil for concurrency.
    public var resetSeconds: Int?

    public init(check: LimitCheck, remaining: Int64, resetSeconds: Int?) {
        self.check = check
        self.remaining = remaining
        self.resetSeconds = resetSeconds
    }
}

/// Where an admitted request's amount was counted, to be corrected when its real usage is known.
public struct Reservation: Sendable, Hashable {
    public var key: CounterKey
    public var kind: LimitCheck.Kind
    public var unit: LimitUnit
    /// The slot (rolling), day (UTC day) it went into; 0 for concurrency.
    public var slot: Int64
    public var amount: Int64

    /// The counter key's text.
    public var counterKey: String { key.text }

    public init(key: CounterKey, kind: LimitCheck.Kind, unit: LimitUnit, slot: Int64, amount: Int64) {
        self.key = key
        self.kind = kind
        self.unit = unit
        self.slot = slot
        self.amount = amount
    }
}

/// The outcome of checking all of a request's limits at once.
public enum LimitDecision: Sendable, Equatable {
    /// Every limit admitted the request; its amounts are counted.
    case admitted(reservations: [Reservation], states: [LimitState])
    /// Some limit refused; nothing was counted anywhere.
    case refused(limit: LimitCheck, retryAfterSeconds: Int, states: [LimitState])

    /// States in the order of the request's checks.
    public var states: [LimitState] {
        switch self {
        case .admitted(_, let states), .refused(_, _, let states): states
        }
    }
}

/// A reservation and the real amount it turned out to be.
public struct SettlementEntry: Sendable, Hashable {
    public var reservation: Reservation
    /// Real amount in counter units; ignored for concurrency (the lease is released).
    public var actual: Int64

    public init(reservation: Reservation, actual: Int64) {
        self.reservation = reservation
        self.actual = actual
    }
}
