import Synchronization
import SluiceCore

/// Usage rows waiting to be written; the request path only appends, the flusher takes batches.
public final class UsageRecorder: Sendable {
    private let pending = Mutex<[UsageRow]>([])

    public init() {}

    func record(_ row: consuming UsageRow) {
        // Moved in, not copied: a copy retains each of the row's strings.
        var moving = Optional(row)
        pending.withLock { $0.append(moving.take()!) }
    }

    /// Everything waiting, removed from the queue.
    func takeAll() -> [UsageRow] {
        pending.withLock { rows in
            defer { rows = [] }
            return rows
        }
    }

    /// Puts rows back at the front after a failed write, so the next flush retries them.
    func putBack(_ rows: [UsageRow]) {
        pending.withLock { $0.insert(contentsOf: rows, at: 0) }
    }

    /// Rows waiting to be written.
    public var count: Int { pending.withLock { $0.count } }
}
