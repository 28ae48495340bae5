/// The bounded FIFO with a concurrency limit that bursty workloads go through (SPEC §9): at most
/// `maxConcurrency` calls run, at most `capacity` wait, and a call beyond both is refused at once
/// (`.full`) so the caller feels back-pressure instead of an ever-growing backlog.
///
/// A value-type state machine: it decides, the client parks and resumes the tasks. `Ticket` is
/// whatever the client needs to resume a waiter (an id, a continuation key).
public struct AdmissionQueue<Ticket: Sendable & Equatable>: Sendable {
    /// The answer to ``enqueue(_:)``.
    public enum Admission: Sendable, Equatable {
        /// Run now; call ``finish()`` when done.
        case started
        /// Wait; `position` 1 starts next. ``finish()`` names the ticket it promotes.
        case queued(position: Int)
        /// Both the running slots and the queue are full: refuse the call.
        case full
    }

    /// The most calls that may wait.
    public let capacity: Int
    /// The most calls that may run at once.
    public let maxConcurrency: Int
    /// Calls running now.
    public private(set) var running = 0
    /// Waiting tickets, oldest first; bounded by `capacity`, so removing from the front is cheap.
    public private(set) var waiting: [Ticket] = []

    /// Creates an empty queue; `capacity` is clamped to at least 0, `maxConcurrency` to at least 1.
    public init(capacity: Int, maxConcurrency: Int) {
        self.capacity = max(0, capacity)
        self.maxConcurrency = max(1, maxConcurrency)
    }

    /// Admits `ticket`: starts it if a slot is free and nobody waits (FIFO), else queues it if
    /// there is room, else refuses it.
    public mutating func enqueue(_ ticket: Ticket) -> Admission {
        if running < maxConcurrency && waiting.isEmpty {
            running += 1
            return .started
        }
        guard waiting.count < capacity else { return .full }
        waiting.append(ticket)
        return .queued(position: waiting.count)
    }

    /// A running call ended: frees its slot and returns the waiting ticket that now starts in it,
    /// if any. A `finish()` with nothing running is ignored rather than trapping a caller.
    public mutating func finish() -> Ticket? {
        guard running > 0 else { return nil }
        running -= 1
        guard !waiting.isEmpty else { return nil }
        running += 1
        return waiting.removeFirst()
    }

    /// Removes a waiting `ticket` whose caller gave up (e.g. its task was cancelled); false when
    /// it was not waiting (already started, or unknown).
    public mutating func cancel(_ ticket: Ticket) -> Bool {
        guard let index = waiting.firstIndex(of: ticket) else { return false }
        waiting.remove(at: index)
        return true
    }
}
