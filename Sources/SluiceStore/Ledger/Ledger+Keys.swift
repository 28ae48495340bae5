import SluiceCore
import SQLKit

extension Ledger {
    /// Stores a new key record; the account must exist.
    public func insertKey(_ key: KeyRecord) async throws {
        try await inTransaction { database in
            guard try await database.raw("SELECT name FROM accounts WHERE name = \(bind: key.account)").first() != nil else {
                throw LedgerError.notFound("account \"\(key.account)\" does not exist")
            }
            let seq = try await Self.nextChangeSeq(database)
            try await database.raw("""
                INSERT INTO api_keys (id, digest, display_prefix, account, env, preset, name, created_at, expires_at, revoked_at, updated_at, change_seq)
                VALUES (\(bind: key.id), \(bind: key.digest.hex), \(bind: key.displayPrefix), \(bind: key.account),
                        \(bind: key.environment.rawValue), \(bind: key.preset), \(bind: key.name), \(bind: key.createdAtMs),
                        \(bind: key.expiresAtMs), \(bind: key.revokedAtMs), \(bind: key.updatedAtMs), \(bind: seq))
                """).run()
        }
    }

    /// Every key, or the keys of one account, newest first.
    public func keys(account: String? = nil) async throws -> [KeyRecord] {
        try await withConnection { database in
            let rows: [any SQLRow]
            if let account {
                rows = try await database.raw("SELECT * FROM api_keys WHERE account = \(bind: account) ORDER BY created_at DESC, id").all()
            } else {
                rows = try await database.raw("SELECT * FROM api_keys ORDER BY created_at DESC, id").all()
            }
            return try rows.map(Self.key(from:))
        }
    }

    /// The key with this digest, if any (revoked and expired ones included).
    public func key(digest: KeyDigest) async throws -> KeyRecord? {
        try await withConnection { database in
            try await database.raw("SELECT * FROM api_keys WHERE digest = \(bind: digest.hex)").first().map(Self.key(from:))
        }
    }

    /// Keys stored or revoked after change-feed position `afterSeq` (-1 = every key), in feed
    /// order, for the server's cache refresh (see `Ledger+Changes`). Expiry needs no feed: every
    /// instance checks `expires_at` at use.
    public func keysChanged(afterSeq: Int64) async throws -> [KeyRecord] {
        try await withConnection { database in
            try await database.raw("SELECT * FROM api_keys WHERE change_seq > \(bind: afterSeq) ORDER BY change_seq").all().map(Self.key(from:))
        }
    }

    /// Revokes a key; revoking a revoked key is a no-op. Returns the record.
    @discardableResult
    public func revokeKey(id: String, atMs now: Int64) async throws -> KeyRecord {
        try await inTransaction { database in
            let seq = try await Self.nextChangeSeq(database)
            try await database.raw("""
                UPDATE api_keys SET revoked_at = \(bind: now), updated_at = \(bind: now), change_seq = \(bind: seq)
                WHERE id = \(bind: id) AND revoked_at IS NULL
                """).run()
            guard let row = try await database.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first() else {
                throw LedgerError.notFound("key \"\(id)\" does not exist")
            }
            return try Self.key(from: row)
        }
    }

    static func key(from row: any SQLRow) throws -> KeyRecord {
        let digestHex = try row.decode(column: "digest", as: String.self)
        let env = try row.decode(column: "env", as: String.self)
        guard let digest = KeyDigest(hex: digestHex), let environment = KeyEnvironment(rawValue: env) else {
            throw LedgerError.invalid("the ledger holds a malformed key row")
        }
        return KeyRecord(
            id: try row.decode(column: "id", as: String.self),
            digest: digest,
            displayPrefix: try row.decode(column: "display_prefix", as: String.self),
            account: try row.decode(column: "account", as: String.self),
            environment: environment,
            preset: try row.decode(column: "preset", as: String.self),
            name: try row.decode(column: "name", as: String?.self),
            createdAtMs: try row.decode(column: "created_at", as: Int64.self),
            expiresAtMs: try row.decode(column: "expires_at", as: Int64?.self),
            revokedAtMs: try row.decode(column: "revoked_at", as: Int64?.self),
            updatedAtMs: try row.decode(column: "updated_at", as: Int64.self),
            changeSeq: try row.decode(column: "change_seq", as: Int64.self)
        )
    }
}
