import SluiceCore

/// An account: who pays for a set of keys.
public struct AccountRecord: Sendable, Equatable {
    public var name: String
    /// Balance; nil means unlimited.
    public var balance: NanoDollars?
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// Bumped by every change of the balance.
    public var balanceVersion: Int64
    /// Position in the ledger's change feed: set when the account is created or topped up
    /// (not by debits), in commit order (see `Ledger+Changes`).
    public var changeSeq: Int64

    public init(name: String, balance: NanoDollars?, createdAtMs: Int64, updatedAtMs: Int64, balanceVersion: Int64 = 0, changeSeq: Int64 = 0) {
        self.changeSeq = changeSeq
        self.name = name
        self.balance = balance
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.balanceVersion = balanceVersion
    }
}

/// A key as the ledger knows it: never the key text, only its digest and a display prefix.
public struct KeyRecord: Sendable, Equatable {
    public var id: String
    public var digest: KeyDigest
    /// `sk-sluice-dev-AbCd`: enough for a person to recognise the key.
    public var displayPrefix: String
    public var account: String
    public var environment: KeyEnvironment
    public var preset: String
    public var name: String?
    public var createdAtMs: Int64
    public var expiresAtMs: Int64?
    public var revokedAtMs: Int64?
    public var updatedAtMs: Int64
    /// Position in the ledger's change feed, set by the ledger when the key is stored or revoked.
    public var changeSeq: Int64

    public init(id: String, digest: KeyDigest, displayPrefix: String, account: String, environment: KeyEnvironment, preset: String,
                name: String?, createdAtMs: Int64, expiresAtMs: Int64?, revokedAtMs: Int64?, updatedAtMs: Int64, changeSeq: Int64 = 0) {
        self.changeSeq = changeSeq
        self.id = id
        self.digest = digest
        self.displayPrefix = displayPrefix
        self.account = account
        self.environment = environment
        self.preset = preset
        self.name = name
        self.createdAtMs = createdAtMs
        self.expiresAtMs = expiresAtMs
        self.revokedAtMs = revokedAtMs
        self.updatedAtMs = updatedAtMs
    }

    /// Whether the key may be used at `nowMs`.
    public func isUsable(atMs nowMs: Int64) -> Bool {
        revokedAtMs == nil && (expiresAtMs.map { nowMs < $0 } ?? true)
    }
}

/// Why a ledger operation was refused.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case conflict(String)
    case invalid(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .notFound(let message), .conflict(let message), .invalid(let message), .unavailable(let message): message
        }
    }
}

/// What writing a batch of usage rows took from one account.
public struct AccountDebit: Sendable, Equatable {
    public var account: String
    public var amount: NanoDollars
    /// The balance after the debit; nil for unlimited accounts.
    public var balanceAfter: NanoDollars?
    public var version: Int64
    /// The writer's lease on the account after the debit, when it writes as a lease holder and
    /// holds one.
    public var lease: CreditLease?

    public init(account: String, amount: NanoDollars, balanceAfter: NanoDollars?, version: Int64, lease: CreditLease? = nil) {
        self.account = account
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.version = version
        self.lease = lease
    }
}

/// One instance's lease on an account's balance: what it may spend without asking the ledger.
public struct CreditLease: Sendable, Equatable {
    public var amount: NanoDollars
    /// Bumped by every change of the lease, so an older answer never replaces a newer one.
    public var version: Int64
    public var expiresAtMs: Int64

    public init(amount: NanoDollars, version: Int64, expiresAtMs: Int64) {
        self.amount = amount
        self.version = version
        self.expiresAtMs = expiresAtMs
    }
}
