import SluiceCore
import SQLKit

/// Balance leases, for several instances spending from one PostgreSQL ledger.
///
/// Each instance spends only from its lease on an account (its `CreditBook` in lease mode);
/// the ledger grants leases under the account's row lock so that the live leases of all
/// instances never add up to more than the balance. Debits written by a holder come off its
/// lease in the same transaction (`insertUsage(_:leaseHolder:)`). A lease lapses `ttlMs` after
/// its last grant or renewal, so a crashed instance strands its share for at most that long.
extension Ledger {
    /// Grows, renews or shrinks `holder`'s lease on `account` (see `CreditLeaseTerms`) and sets
    /// its expiry to `nowMs + ttlMs`. Nil for an unlimited account, which needs no lease.
    ///
    /// The answer's version is above both the stored one and `knownVersion` (the newest the
    /// holder has seen): a row dropped after lapsing and created again must not start below
    /// versions the holder already holds, or the holder would ignore it as stale.
    public func leaseCredits(account: String, holder: String, request: LeaseRequest, nowMs: Int64, ttlMs: Int64,
                             knownVersion: Int64 = 0) async throws -> CreditLease? {
        try await inTransaction { database in
            // Grants on one account are computed one at a time: PostgreSQL locks the account's
            // row here; SQLite's BEGIN IMMEDIATE already locked the whole database.
            let rowLock = dialect == .postgres ? " FOR UPDATE" : ""
            guard let accountRow = try await database.raw("SELECT balance_nanos FROM accounts WHERE name = \(bind: account)\(unsafeRaw: rowLock)").first() else {
                throw LedgerError.notFound("account \"\(account)\" does not exist")
            }
            guard let balance = try accountRow.decode(column: "balance_nanos", as: Int64?.self) else { return nil }
            // Rows of holders gone for a whole lease period are dropped, so restarts leave no litter.
            try await database.raw("""
                DELETE FROM credit_leases
                WHERE account = \(bind: account) AND holder <> \(bind: holder) AND expires_at < \(bind: nowMs - ttlMs)
                """).run()
            let others = try await database.raw("""
                SELECT CAST(COALESCE(SUM(amount_nanos), 0) AS BIGINT) AS total FROM credit_leases
                WHERE account = \(bind: account) AND holder <> \(bind: holder) AND expires_at > \(bind: nowMs)
                """).first()?.decode(column: "total", as: Int64.self) ?? 0
            let mine = try await database.raw("""
                SELECT amount_nanos, version FROM credit_leases WHERE account = \(bind: account) AND holder = \(bind: holder)
                """).first()
            let current = try mine?.decode(column: "amount_nanos", as: Int64.self) ?? 0
            let version = max(try mine?.decode(column: "version", as: Int64.self) ?? 0, knownVersion) + 1
            let amount = CreditLeaseTerms.newAmount(balance: balance, otherLeases: others, current: current, request: request)
            let expires = nowMs + ttlMs
            try await database.raw("""
                INSERT INTO credit_leases (account, holder, amount_nanos, expires_at, version)
                VALUES (\(bind: account), \(bind: holder), \(bind: amount), \(bind: expires), \(bind: version))
                ON CONFLICT (account, holder) DO UPDATE SET
                    amount_nanos = excluded.amount_nanos, expires_at = excluded.expires_at, version = excluded.version
                """).run()
            return CreditLease(amount: NanoDollars(amount), version: version, expiresAtMs: expires)
        }
    }

    /// The live leases on `account` at `nowMs`, by holder; for tests and diagnostics.
    public func leases(account: String, nowMs: Int64) async throws -> [String: CreditLease] {
        try await withConnection { database in
            var leases: [String: CreditLease] = [:]
            for row in try await database.raw("""
                SELECT holder, amount_nanos, version, expires_at FROM credit_leases
                WHERE account = \(bind: account) AND expires_at > \(bind: nowMs)
                """).all() {
                leases[try row.decode(column: "holder", as: String.self)] = try Self.lease(from: row)
            }
            return leases
        }
    }

    static func lease(from row: any SQLRow) throws -> CreditLease {
        CreditLease(amount: NanoDollars(try row.decode(column: "amount_nanos", as: Int64.self)),
                    version: try row.decode(column: "version", as: Int64.self),
                    expiresAtMs: try row.decode(column: "expires_at", as: Int64.self))
    }
}
