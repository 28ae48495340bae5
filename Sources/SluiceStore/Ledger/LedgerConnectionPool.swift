import SQLKit

/// A few database connections handed out one caller at a time.
///
/// A caller holds its connection for a whole unit of work, so a transaction never interleaves
/// with another task's statements. Waiters are served in arrival order.
actor LedgerConnectionPool {
    private var idle: [any SQLDatabase]
    private var waiters: [CheckedContinuation<any SQLDatabase, Never>] = []
    private let closeAll: @Sendable () async -> Void

    init(connections: [any SQLDatabase], close: @escaping @Sendable () async -> Void) {
        self.idle = connections
        self.closeAll = close
    }

    func lease() async -> any SQLDatabase {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ connection: any SQLDatabase) {
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }

    func close() async {
        await closeAll()
    }
}
