/// Account balances as one gateway instance sees them, with the reservations of its calls in
/// flight and the debits it has not yet written to the ledger.
///
/// Available = ledger balance − unwritten debits − reservations. A request is admitted only if
/// that covers its estimated cost, which is then reserved; when it ends, the reservation is
/// released and the real cost becomes a debit. So the balance can go below zero only by the sum
/// of (real − reserved) of the calls in flight. Pure: the server keeps it under a lock.
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

        public init(ledgerBalance: NanoDollars?, version: Int64) {
            self.ledgerBalance = ledgerBalance
            self.version = version
        }

        /// What can still be spent; nil = unlimited.
        public var available: NanoDollars? {
            ledgerBalance.map { NanoDollars($0.value - unwrittenDebits - reserved) }
        }
    }

    public private(set) var accounts: [String: Account] = [:]

    public init() {}

    /// Records a balance read from the ledger, unless a newer one is already known.
    public mutating func applyLedger(account: String, balance: NanoDollars?, version: Int64) {
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
    public mutating func reserve(account: String, cost: NanoDollars) -> CreditDecision {
        guard var known = accounts[account] else { return .insufficient(available: .zero) }
        guard let available = known.available else { return .unlimited }
        guard available.value >= cost.value else { return .insufficient(available: available) }
        known.reserved += cost.value
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
