import Synchronization

/// Lets one write transaction at a time into a SQLite file, per process, in arrival order.
///
/// SQLite has one writer anyway; the question is only where the others wait. sqlite-nio's busy
/// handler retries at once, forever, on one of the few threads of NIO's blocking pool: when
/// writers waiting for the lock fill that pool, the transaction holding the lock cannot run its
/// next statement, and everything stops. Waiting here, as a suspended task, costs no thread.
/// Ledgers opened on the same file in one process share a gate.
actor LedgerWriterGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private static let gates = Mutex<[String: LedgerWriterGate]>([:])

    /// The gate of the SQLite file at `path` (`:memory:` databases get their own).
    static func forFile(_ path: String) -> LedgerWriterGate {
        if path == ":memory:" { return LedgerWriterGate() }
        return gates.withLock { gates in
            if let gate = gates[path] { return gate }
            let gate = LedgerWriterGate()
            gates[path] = gate
            return gate
        }
    }

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    /// Runs `body` holding the gate (nonisolated: `body` runs where the caller runs).
    nonisolated func withGate<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}
