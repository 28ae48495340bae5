import Foundation
import SluiceStore

/// JSON objects for keys: what `keys create --json` prints once (with the key text), and what
/// lists show (never the key, only its display prefix).
public enum KeyView {
    public static func created(key: String, record: KeyRecord) -> [String: Any] {
        ["id": record.id, "key": key, "account": record.account, "env": record.environment.rawValue, "preset": record.preset]
    }

    public static func listed(_ record: KeyRecord, nowMs: Int64) -> [String: Any] {
        [
            "id": record.id, "prefix": record.displayPrefix, "account": record.account, "env": record.environment.rawValue,
            "preset": record.preset, "name": record.name as Any? ?? NSNull(), "created_at_ms": record.createdAtMs,
            "expires_at_ms": record.expiresAtMs as Any? ?? NSNull(), "revoked_at_ms": record.revokedAtMs as Any? ?? NSNull(),
            "status": status(record, nowMs: nowMs),
        ]
    }

    /// `active`, `revoked` or `expired`.
    public static func status(_ record: KeyRecord, nowMs: Int64) -> String {
        if record.revokedAtMs != nil { return "revoked" }
        if let expires = record.expiresAtMs, nowMs >= expires { return "expired" }
        return "active"
    }
}
