import SluiceCore
import SQLKit

extension Ledger {
    /// Creates an account with `balance` (nil = unlimited); a conflict if the name is taken.
    @discardableResult
    public func createAccount(name: String, balance: NanoDollars?, atMs now: Int64) async throws -> AccountRecord {
        guard Self.isValidName(name) else {
            throw LedgerError.invalid("account name \"\(name)\" must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        return try await inTransaction { database in
            let seq = try await Self.nextChangeSeq(database)
            // ON CONFLICT rather than a prior SELECT: two instances creating the same name at
            // once get one account and one clear conflict, not a constraint error.
            let inserted = try await database.raw("""
                INSERT INTO accounts (name, balance_nanos, created_at, updated_at, change_seq)
                VALUES (\(bind: name), \(bind: balance?.value), \(bind: now), \(bind: now), \(bind: seq))
                ON CONFLICT (name) DO NOTHING
                RETURNING name
                """).first()
            guard inserted != nil else { throw LedgerError.conflict("account \"\(name)\" already exists") }
            return AccountRecord(name: name, balance: balance, createdAtMs: now, updatedAtMs: now, changeSeq: seq)
        }
    }

    /// Every account, by name.
    public func accounts() async throws -> [AccountRecord] {
        try await withConnection { database in
            try await database.raw("SELECT * FROM accounts ORDER BY name").all().map(Self.account(from:))
        }
    }

    /// The account named `name`, if any.
    public func account(named name: String) async throws -> AccountRecord? {
        try await withConnection { database in
            try await database.raw("SELECT * FROM accounts WHERE name = \(bind: name)").first().map(Self.account(from:))
        }
    }

    /// Accounts created or topped up after change-feed position `afterSeq` (-1 = every
    /// account), in feed order, for the server's cache refresh (see `Ledger+Changes`).
    public func accountsChanged(afterSeq: Int64) async throws -> [AccountRecord] {
        try await withConnection { database in
            try await database.raw("SELECT * FROM accounts WHERE change_seq > \(bind: afterSeq) ORDER BY change_seq").all().map(Self.account(from:))
        }
    }

    /// Adds `amount` to a limited account's balance (no effect on unlimited ones) and returns it.
    public func addCredits(account name: String, amount: NanoDollars, atMs now: Int64) async throws -> AccountRecord {
        try await inTransaction { database in
            // A balance is a 64-bit count of nano-dollars (up to about $9.2 billion); past it
            // SQLite would turn the sum into a float and PostgreSQL refuse it with its own words.
            if let current = try await database.raw("SELECT balance_nanos FROM accounts WHERE name = \(bind: name)").first(),
               let balance = try current.decode(column: "balance_nanos", as: Int64?.self),
               balance.addingReportingOverflow(amount.value).overflow {
                throw LedgerError.invalid("adding \(amount) to account \"\(name)\" (\(NanoDollars(balance))) would exceed the largest balance an account can hold, \(NanoDollars(Int64.max))")
            }
            let seq = try await Self.nextChangeSeq(database)
            guard let row = try await database.raw("""
                UPDATE accounts SET balance_nanos = balance_nanos + \(bind: amount.value), updated_at = \(bind: now),
                    balance_version = balance_version + 1, change_seq = \(bind: seq)
                WHERE name = \(bind: name)
                RETURNING *
                """).first() else {
                throw LedgerError.notFound("account \"\(name)\" does not exist")
            }
            return try Self.account(from: row)
        }
    }

    static func account(from row: any SQLRow) throws -> AccountRecord {
        AccountRecord(
            name: try row.decode(column: "name", as: String.self),
            balance: try row.decode(column: "balance_nanos", as: Int64?.self).map(NanoDollars.init),
            createdAtMs: try row.decode(column: "created_at", as: Int64.self),
            updatedAtMs: try row.decode(column: "updated_at", as: Int64.self),
            balanceVersion: try row.decode(column: "balance_version", as: Int64.self),
            changeSeq: try row.decode(column: "change_seq", as: Int64.self)
        )
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
