/// What an instance asks of its lease on one account's balance (PostgreSQL ledger, several
/// instances): more room, the same room for longer, or less room.
public enum LeaseRequest: Sendable, Equatable {
    /// Room for at least `minimum` more; more than that when plenty is free, so the next calls
    /// need no round trip.
    case grow(minimum: NanoDollars)
    /// Keep what is held, for another lease period.
    case renew
    /// Give back all but `to` (what this instance still owes: reservations and unwritten debits).
    case shrink(to: NanoDollars)
}

/// The arithmetic of balance leases. The ledger runs it inside the transaction that holds the
/// account's row lock, so the sum of live leases never exceeds the balance: that is what makes
/// spending across instances exact.
public enum CreditLeaseTerms {
    /// A grow takes at least its minimum and otherwise a quarter of what is free, so one busy
    /// instance leaves most of a balance to the others and a small balance is not stranded in
    /// one place for long.
    public static let shareDivisor: Int64 = 4

    /// The holder's new lease, given the account's `balance` (debits written), the live leases
    /// of every other holder, and what this holder holds now.
    public static func newAmount(balance: Int64, otherLeases: Int64, current: Int64, request: LeaseRequest) -> Int64 {
        // What this holder may hold at most. Smaller than `current` only when its lease lapsed
        // and others leased the money meanwhile, or a call cost more than it reserved.
        let ceiling = max(0, balance - otherLeases)
        let held = max(0, min(current, ceiling))
        switch request {
        case .renew:
            return held
        case .shrink(let target):
            return max(0, min(held, target.value))
        case .grow(let minimum):
            let free = ceiling - held
            // Not enough for the call that asked: take nothing rather than strand money here.
            guard minimum.value > 0, free >= minimum.value else { return held }
            return held + max(minimum.value, free / shareDivisor)
        }
    }
}

/// How long leases last and when they are renewed or given back.
public struct CreditLeasePolicy: Sendable, Equatable {
    /// A lease lapses this long after it was last granted or renewed; an instance that stopped
    /// (crash, network partition) strands its lease at most this long.
    public var ttlMs: Int64
    /// A lease with less than this left is renewed (if used since it was granted) or given back.
    public var renewWithinMs: Int64
    /// An instance stops spending from its lease this long before the expiry it wrote, so
    /// another instance whose clock runs up to this much ahead never re-leases money still in use.
    public var clockMarginMs: Int64

    public init(ttlMs: Int64 = 15_000, renewWithinMs: Int64 = 7_500, clockMarginMs: Int64 = 2_000) {
        self.ttlMs = ttlMs
        self.renewWithinMs = renewWithinMs
        self.clockMarginMs = clockMarginMs
    }
}
