import Foundation

/// Shared mutable state of one mock provider: response ids and per-`mock.id` request counts.
///
/// A lock rather than an actor: the critical sections are a few instructions and never await,
/// and the request path should not hop executors for them.
final class MockCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var lastResponseID = 0
    // Grows with the number of distinct `mock.id` values; tests use a handful.
    private var scriptCounts: [String: Int] = [:]

    /// The next number for `chatcmpl-mock-N` style ids, starting at 1.
    func nextResponseID() -> Int {
        lock.withLock {
            lastResponseID += 1
            return lastResponseID
        }
    }

    /// Counts one more request carrying `id` and returns its 1-based ordinal.
    func nextOrdinal(forScriptID id: String) -> Int {
        lock.withLock {
            let next = scriptCounts[id, default: 0] + 1
            scriptCounts[id] = next
            return next
        }
    }
}
