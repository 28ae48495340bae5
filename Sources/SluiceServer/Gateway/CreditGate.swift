import Foundation
import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// The credit book under a lock: balances as read from the ledger, reservations of calls in
/// flight, debits not yet written (SPEC §5).
///
/// On a SQLite ledger this instance is the only spender: it caches the balance and decides in
/// memory. On a PostgreSQL ledger several instances may spend from one balance, so each spends
/// only from its own lease on it (`CreditBook+Leases`): a request the lease covers is decided in
/// memory as before; one it does not cover waits for one round trip that grows the lease.
public final class CreditGate: Sendable {
    private let book: Mutex<CreditBook>
    /// Lease mode: the ledger that grants leases and this instance's name there.
    private let leases: (ledger: Ledger, holder: String, policy: CreditLeasePolicy)?
    private let nowMs: @Sendable () -> Int64

    /// A gate for the only instance spending from the ledger (`leaseLedger` nil), or for one
    /// of several that lease their share of each balance from `leaseLedger`.
    init(leaseLedger: Ledger? = nil, policy: CreditLeasePolicy = .init(), nowMs: @escaping @Sendable () -> Int64) {
        self.book = Mutex(CreditBook(leases: leaseLedger == nil ? nil : policy))
        self.leases = leaseLedger.map { ($0, Self.makeHolderName(), policy) }
        self.nowMs = nowMs
    }

    /// This instance's name as a lease holder (host, process, random), unique per start so a
    /// restarted instance never inherits a lease it cannot account for.
    static func makeHolderName() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
    }

    /// The name debits are written under in lease mode; nil otherwise.
    var leaseHolder: String? { leases?.holder }

    /// Takes in accounts read from the ledger (newer balance versions only; in lease mode only
    /// whether each is limited).
    func apply(_ accounts: [AccountRecord]) {
        guard !accounts.isEmpty else { return }
        book.withLock { book in
            for account in accounts {
                book.applyLedger(account: account.name, balance: account.balance, version: account.balanceVersion)
            }
        }
    }

    /// Reserves `cost` against the account. In lease mode a call the lease does not cover asks
    /// the ledger once for more (503 if it cannot be reached: refusing with 402 would be a lie).
    func reserve(account: String, cost: NanoDollars) async throws(GatewayError) -> CreditDecision {
        let now = nowMs()
        let (decision, shortfall, known) = book.withLock { book in
            let decision = book.reserve(account: account, cost: cost, nowMs: now)
            guard case .insufficient = decision else { return (decision, NanoDollars?.none, Int64(0)) }
            return (decision, book.leaseShortfall(account: account, cost: cost, nowMs: now), book.accounts[account]?.version ?? 0)
        }
        guard let shortfall, let leases else { return decision }
        let lease: CreditLease?
        do {
            lease = try await leases.ledger.leaseCredits(account: account, holder: leases.holder, request: .grow(minimum: shortfall),
                                                         nowMs: now, ttlMs: leases.policy.ttlMs, knownVersion: known)
        } catch {
            throw GatewayError(status: 503, code: .internalError, message: "The credit ledger is unavailable; try again shortly", retryAfterSeconds: 1)
        }
        return book.withLock { book in
            if let lease { book.applyLease(account: account, amount: lease.amount, version: lease.version, expiresAtMs: lease.expiresAtMs) }
            return book.reserve(account: account, cost: cost, nowMs: nowMs())
        }
    }

    /// `reserve` from memory alone: an `insufficient` answer here may still be a reservation
    /// after the ledger grows the lease (`reserve` asks it).
    func reserveInMemory(account: String, cost: NanoDollars) -> CreditDecision {
        let now = nowMs()
        return book.withLock { $0.reserve(account: account, cost: cost, nowMs: now) }
    }

    func settle(account: String, reserved: NanoDollars, actual: NanoDollars) {
        book.withLock { $0.settle(account: account, reserved: reserved, actual: actual) }
    }

    /// Debits the flusher has written, with the balances (lease mode: the leases) the ledger answered.
    func written(_ debits: [AccountDebit]) {
        guard !debits.isEmpty else { return }
        book.withLock { book in
            for debit in debits {
                if book.leasePolicy == nil {
                    book.debitsWritten(account: debit.account, amount: debit.amount, balanceAfter: debit.balanceAfter, version: debit.version)
                } else if let lease = debit.lease {
                    book.debitsWritten(account: debit.account, amount: debit.amount, balanceAfter: lease.amount, version: lease.version)
                } else {
                    // No lease row (it lapsed and was dropped): the debit is written, nothing else changes.
                    book.debitsWritten(account: debit.account, amount: debit.amount, balanceAfter: nil, version: .min)
                }
            }
        }
    }

    /// Lease mode: renews leases in use and gives back idle ones, near their expiry; or gives
    /// back everything (`all`, on shutdown, after the final flush). Failures are logged and
    /// left to the next round: a lease that lapses meanwhile only makes this instance ask again.
    func keepLeases(all: Bool = false, logger: Logger) async {
        guard let leases else { return }
        let now = nowMs()
        let requests = book.withLock { book in
            (all ? book.leasesToGiveBack() : book.leaseUpkeep(nowMs: now)).map { ($0.account, $0.request, book.accounts[$0.account]?.version ?? 0) }
        }
        for (account, request, known) in requests {
            do {
                guard let lease = try await leases.ledger.leaseCredits(account: account, holder: leases.holder, request: request, nowMs: now,
                                                                       ttlMs: leases.policy.ttlMs, knownVersion: known)
                else { continue }
                book.withLock { $0.applyLease(account: account, amount: lease.amount, version: lease.version, expiresAtMs: lease.expiresAtMs) }
            } catch {
                logger.warning("keeping a credit lease failed", metadata: ["sluice.account": "\(account)", "sluice.error": "\(error)"])
            }
        }
    }

    /// An account as this instance sees it, for tests and diagnostics.
    public func account(_ name: String) -> CreditBook.Account? {
        book.withLock { $0.accounts[name] }
    }
}
