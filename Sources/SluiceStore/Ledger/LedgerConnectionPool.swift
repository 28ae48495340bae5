import SQLKit

/// One open database connection, as the pool holds it.
struct LedgerConnection: Sendable {
    let database: any SQLDatabase
    /// Whether the connection died (a PostgreSQL server restarted, a network cut); such a
    /// connection is replaced on its next lease.
    let isClosed: @Sendable () -> Bool
    let close: @Sendable () async -> Void
}

/// A few database connections handed out one caller at a time.
///
/// A caller holds its connection for a whole unit of work, so a transaction never interleaves
/// with another task's statements. Waiters are served in arrival order. A slot whose
/// connection died is reopened by the caller that leases it, so a database restart costs the
/// failed statements, not the server.
actor LedgerConnectionPool {
    /// Idle slots; nil is a slot whose connection is gone and must be reopened.
    private var idle: [LedgerConnection?]
    private var waiters: [CheckedContinuation<LedgerConnection?, any Error>] = []
    private var closed = false
    let open: @Sendable () async throws -> LedgerConnection

    init(connections: [LedgerConnection], open: @escaping @Sendable () async throws -> LedgerConnection) {
        self.idle = connections
        self.open = open
    }

    /// A slot: a connection, or nil for one the caller has to open.
    func lease() async throws -> LedgerConnection? {
        if closed { throw LedgerError.unavailable("the ledger is closed") }
        if let slot = idle.popLast() { return slot }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    func release(_ slot: LedgerConnection?) {
        if closed {
            if let slot { Task { await slot.close() } }
            return
        }
        if waiters.isEmpty {
            idle.append(slot)
        } else {
            waiters.removeFirst().resume(returning: slot)
        }
    }

    /// Closes the idle connections now and leased ones as they come back.
    func close() async {
        closed = true
        let slots = idle
        idle = []
        for waiter in waiters { waiter.resume(throwing: LedgerError.unavailable("the ledger is closed")) }
        waiters = []
        for case let connection? in slots { await connection.close() }
    }
}
