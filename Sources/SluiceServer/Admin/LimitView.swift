import Foundation
import SluiceStore

/// A live counter as `GET /admin/limits` and `sluice limits --json` show it.
public enum LimitView {
    public static func json(_ counter: LiveCounter) -> [String: Any] {
        [
            "key_id": counter.keyID, "limit": counter.limit, "segment": counter.segment as Any? ?? NSNull(),
            "used": counter.used, "quota": counter.quota, "remaining": counter.remaining,
            "reset_s": counter.resetSeconds as Any? ?? NSNull(),
        ]
    }
}
