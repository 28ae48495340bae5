import SluiceCore
import SluiceStore
import Synchronization

/// The credit book under a lock: balances as read from the ledger, reservations of calls in
/// flight, debits not yet written (SPEC §5).
public final class CreditGate: Sendable {
    private let book = Mutex(CreditBook())

    /// Takes in balances read from the ledger (newer versions only).
    func apply(_ accounts: [AccountRecord]) {
        guard !accounts.isEmpty else { return }
        book.withLock { book in
            for account in accounts {
                book.applyLedger(account: account.name, balance: account.balance, version: account.balanceVersion)
            }
        }
    }

    func reserve(account: String, cost: NanoDollars) -> CreditDecision {
        book.withLock { $0.reserve(account: account, cost: cost) }
    }

    func settle(account: String, reserved: NanoDollars, actual: NanoDollars) {
        book.withLock { $0.settle(account: account, reserved: reserved, actual: actual) }
    }

    /// Debits the flusher has written, with the balances the ledger answered.
    func written(_ debits: [AccountDebit]) {
        guard !debits.isEmpty else { return }
        book.withLock { book in
            for debit in debits {
                book.debitsWritten(account: debit.account, amount: debit.amount, balanceAfter: debit.balanceAfter, version: debit.version)
            }
        }
    }

    /// An account as this instance sees it, for tests and diagnostics.
    public func account(_ name: String) -> CreditBook.Account? {
        book.withLock { $0.accounts[name] }
    }
}
