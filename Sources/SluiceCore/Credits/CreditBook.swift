/// Account balances as one gateway instance sees them, with the reservations of its calls in
/// flight and the debits it has not yet written to the ledger.
///
/// Available = ledger balance − unwritten debits − reservations. A request is admitted only if
/// that covers its estimated cost, which is then reserved; when it ends, the reservation is
/// released and the real cost becomes a debit. So the balance can go below zero only by the sum
/// of (real − reserved) of the calls in flight. Pure: the server keeps it under a lock.
///
/// With several instances on one ledger (lease mode, `CreditBook+Leases`), `ledgerBalance` is
/// this instance's lease on the balance rather than the balance itself.
public struct CreditBook: Sendable, Equatable {
    public struct Account: Sendable, Equatable {
        /// The balance in the ledger as last read; nil = unlimited.
        public var ledgerBalance: NanoDollars?
        /// The ledger's balance version for that read; older reads are ignored.
        public var version: Int64
        /// Costs of finished calls not yet written to the ledger.
        public var unwrittenDebits: Int64 = 0
        /// Estimated costs of calls in flight.
        public var reserved: Int64 = 0
        /// Lease mode: when the lease expires in the ledger; nil when none is held.
        public var leaseExpiresAtMs: Int64?
        /// Lease mode: the last reservation, to tell a lease in use (renewed) from an idle one
        /// (given back).
        public var lastReservedAtMs: Int64?

        public init(ledgerBalance: NanoDollars?, version: Int64) {
            self.ledgerBalance = ledgerBalance
            self.version = version
        }

        /// What can still be spent; nil = unlimited.
        public var available: NanoDollars? {
            ledgerBalance.map { NanoDollars($0.value - unwrittenDebits - reserved) }
        }
    }

    public internal(set) var accounts: [String: Account] = [:]
    /// Lease timings in lease mode; nil when this instance is the ledger's only spender.
    public let leasePolicy: CreditLeasePolicy?

    /// A book for the only instance spending from the ledger (`leases` nil), or for one of
    /// several that each spend from a lease on the balance.
    public init(leases: CreditLeasePolicy? = nil) {
        self.leasePolicy = leases
    }

    /// Records a balance read from the ledger, unless a newer one is already known.
    public mutating func applyLedger(account: String, balance: NanoDollars?, version: Int64) {
        if leasePolicy != nil {
            applyLedgerInLeaseMode(account: account, balance: balance)
            return
        }
        if var known = accounts[account] {
            guard version > known.version else { return }
            known.ledgerBalance = balance
            known.version = version
            accounts[account] = known
        } else {
            accounts[account] = Account(ledgerBalance: balance, version: version)
        }
    }

    /// Reserves `cost` if the account's available balance covers it; returns what was left
    /// (before the reservation) when it does not. Unknown accounts have nothing.
    ///
    /// In lease mode only a lease still usable at `nowMs` counts; without a time (the default)
    /// no lease is usable, so a caller that forgets the clock is refused rather than overspends.
    public mutating func reserve(account: String, cost: NanoDollars, nowMs: Int64 = .max) -> CreditDecision {
        guard var known = accounts[account] else { return .insufficient(available: .zero) }
        guard let available = spendable(known, nowMs: nowMs) else { return .unlimited }
        guard available.value >= cost.value else { return .insufficient(available: available) }
        known.reserved += cost.value
        if leasePolicy != nil { known.lastReservedAtMs = nowMs }
        accounts[account] = known
        return .reserved(cost)
    }

    /// Releases a reservation and records the real cost as a debit to write.
    public mutating func settle(account: String, reserved: NanoDollars, actual: NanoDollars) {
        guard var known = accounts[account] else { return }
        known.reserved = max(0, known.reserved - reserved.value)
        if known.ledgerBalance != nil { known.unwrittenDebits += actual.value }
        accounts[account] = known
    }

    /// Debits now written to the ledger, which answered with the balance after them.
    public mutating func debitsWritten(account: String, amount: NanoDollars, balanceAfter: NanoDollars?, version: Int64) {
        guard var known = accounts[account] else { return }
        known.unwrittenDebits = max(0, known.unwrittenDebits - amount.value)
        if version > known.version {
            known.ledgerBalance = balanceAfter
            known.version = version
        }
        accounts[account] = known
    }

    /// Debits of an account waiting to be written.
    public func unwrittenDebits(account: String) -> NanoDollars {
        NanoDollars(accounts[account]?.unwrittenDebits ?? 0)
    }
}

/// The credit check's answer for one request.
public enum CreditDecision: Sendable, Equatable {
    /// The estimate is reserved against the balance.
    case reserved(NanoDollars)
    /// The account has no balance limit.
    case unlimited
    /// The available balance does not cover the estimate.
    case insufficient(available: NanoDollars)
}
