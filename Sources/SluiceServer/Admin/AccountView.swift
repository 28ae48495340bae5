import Foundation
import SluiceStore

/// The JSON object for an account (`accounts create --json`, the admin API):
/// `{"name": "...", "balance_usd": 10.0 | null}` — null means unlimited.
public enum AccountView {
    public static func json(_ account: AccountRecord) -> [String: Any] {
        ["name": account.name, "balance_usd": account.balance.map { $0.dollars as Any } ?? NSNull()]
    }
}
