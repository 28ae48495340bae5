import SluiceCore

/// What the counter-store tests read off a decision.
extension LimitDecision {
    var isAdmitted: Bool {
        if case .admitted = self { return true }
        return false
    }

    var reservations: [Reservation] {
        if case .admitted(let reservations, _) = self { return reservations }
        return []
    }

    var refusal: (limit: LimitCheck, retryAfter: Int)? {
        if case .refused(let limit, let retryAfter, _) = self { return (limit, retryAfter) }
        return nil
    }
}
