import SQLKit

/// The change feed that tells every instance about keys and accounts created, revoked or topped
/// up elsewhere (`KeyCacheRefresher` polls it).
///
/// A reader keeps the highest `change_seq` it has seen and asks for rows above it. That is only
/// safe if no change can become visible with a position below one already seen, which a plain
/// sequence or a timestamp does not ensure: two transactions can take positions 9 and 10 and
/// commit 10 first, and a reader between the two commits would move past 9 for good.
///
/// So every writer takes its position from one counter row, inside its own transaction:
/// `UPDATE ... SET value = value + 1 ... RETURNING value`. The row lock that UPDATE takes is
/// held until commit (PostgreSQL) or the whole database is write-locked (SQLite `BEGIN
/// IMMEDIATE`), so the next writer gets its position only after the previous one committed or
/// rolled back (a rollback gives the position back). Positions are therefore handed out in
/// commit order, and a snapshot that shows position n shows every committed position below n.
/// Only key and account writes (admin actions, rare) pay for this; usage batches and debits
/// never touch the counter.
extension Ledger {
    /// The next position in the change feed; call inside the transaction that makes the change.
    static func nextChangeSeq(_ database: any SQLDatabase) async throws -> Int64 {
        guard let row = try await database.raw("UPDATE sluice_change_counter SET value = value + 1 WHERE id = 1 RETURNING value").first() else {
            throw LedgerError.unavailable("the ledger's change counter is missing; was the schema migrated?")
        }
        return try row.decode(column: "value", as: Int64.self)
    }
}
