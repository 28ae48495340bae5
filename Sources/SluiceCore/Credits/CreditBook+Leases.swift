/// Lease mode: each instance spends only from its own lease on an account's balance, and the
/// ledger grants leases so that together they never exceed the balance (`CreditLeaseTerms`).
///
/// `Account.ledgerBalance` is then the lease as the ledger last reported it (debits written by
/// this instance already taken off), and `version` is the lease's version. The account balance
/// itself is never cached: other instances spend it.
extension CreditBook {
    /// What can be spent now: nil for unlimited; in lease mode nothing from a lease that is no
    /// longer usable (too close to its expiry for another instance's clock).
    func spendable(_ account: Account, nowMs: Int64) -> NanoDollars? {
        guard let lease = account.ledgerBalance else { return nil }
        guard let policy = leasePolicy else { return account.available }
        let usable = account.leaseExpiresAtMs.map { nowMs < $0 - policy.clockMarginMs } ?? false
        return NanoDollars((usable ? lease.value : 0) - account.unwrittenDebits - account.reserved)
    }

    /// A ledger read in lease mode only tells whether the account is limited: its balance
    /// belongs to every instance, so it is never spent from directly.
    mutating func applyLedgerInLeaseMode(account: String, balance: NanoDollars?) {
        var known = accounts[account] ?? Account(ledgerBalance: .zero, version: 0)
        if balance == nil {
            known.ledgerBalance = nil
        } else if known.ledgerBalance == nil {
            // Newly limited (or new): no lease until one is granted.
            known.ledgerBalance = .zero
            known.leaseExpiresAtMs = nil
        }
        accounts[account] = known
    }

    /// How much more lease a call of `cost` needs, or nil when it needs none (covered,
    /// unlimited, unknown account, or not in lease mode). A lapsed lease is counted at its last
    /// amount: the grow renews it, and the ledger takes off whatever others leased meanwhile.
    public func leaseShortfall(account: String, cost: NanoDollars, nowMs: Int64) -> NanoDollars? {
        guard leasePolicy != nil, let known = accounts[account], let lease = known.ledgerBalance else { return nil }
        if let available = spendable(known, nowMs: nowMs), available.value >= cost.value { return nil }
        let shortfall = cost.value - (lease.value - known.unwrittenDebits - known.reserved)
        return NanoDollars(max(1, shortfall))
    }

    /// Records a lease the ledger granted, renewed, shrank or debited, unless a newer one is known.
    public mutating func applyLease(account: String, amount: NanoDollars, version: Int64, expiresAtMs: Int64) {
        guard leasePolicy != nil, var known = accounts[account], known.ledgerBalance != nil, version > known.version else { return }
        known.ledgerBalance = amount
        known.version = version
        // A lease shrunk to nothing with nothing owed needs no upkeep.
        known.leaseExpiresAtMs = amount.value == 0 && known.reserved == 0 && known.unwrittenDebits == 0 ? nil : expiresAtMs
        accounts[account] = known
    }

    /// Leases near their expiry: renewed when used since their last grant (or still owed on),
    /// otherwise shrunk to what is still owed so other instances can lease the money.
    public func leaseUpkeep(nowMs: Int64) -> [(account: String, request: LeaseRequest)] {
        guard let policy = leasePolicy else { return [] }
        return accounts.compactMap { name, known -> (account: String, request: LeaseRequest)? in
            guard known.ledgerBalance != nil, let expires = known.leaseExpiresAtMs, expires - nowMs < policy.renewWithinMs else { return nil }
            let grantedAt = expires - policy.ttlMs
            let owed = known.reserved + known.unwrittenDebits
            if owed > 0 || (known.lastReservedAtMs ?? .min) >= grantedAt { return (name, .renew) }
            return (name, .shrink(to: NanoDollars(owed)))
        }.sorted { $0.account < $1.account }
    }

    /// Every lease held, to give back on shutdown (after the final flush, so only what is
    /// still owed stays leased).
    public func leasesToGiveBack() -> [(account: String, request: LeaseRequest)] {
        guard leasePolicy != nil else { return [] }
        return accounts.compactMap { name, known -> (account: String, request: LeaseRequest)? in
            guard known.ledgerBalance != nil, known.leaseExpiresAtMs != nil else { return nil }
            return (name, .shrink(to: NanoDollars(known.reserved + known.unwrittenDebits)))
        }.sorted { $0.account < $1.account }
    }
}
