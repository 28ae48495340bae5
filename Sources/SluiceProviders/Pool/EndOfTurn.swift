import NIOCore

/// Something with work left for the end of its event loop's current turn.
public protocol EndOfTurnWork: AnyObject {
    func endOfTurn()
}

/// Runs the work registered during one turn of an event loop (the I/O events one `epoll_wait`
/// returned) once that turn's events are all handled, in the order it was registered.
///
/// The pool flushes the provider requests of a turn here rather than one by one: a provider
/// woken by each request as it is written preempts the gateway's loop on a shared core after
/// almost every request and answers one request per wakeup; flushed together at the end of the
/// turn, more of the turn's requests are answered per wakeup (docs/benchmarks.md, round 4). At one
/// request per turn nothing waits longer. (Answers to callers are flushed at once: deferring them
/// too gained nothing measurable and a caller would wait for the rest of the turn.) Lives on its
/// event loop only (hence `@unchecked Sendable`).
public final class EndOfTurn: @unchecked Sendable {
    public let eventLoop: any EventLoop
    private var pending: [any EndOfTurnWork] = []

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Runs `work.endOfTurn()` at the end of this turn. Must be called on the event loop.
    public func register(_ work: any EndOfTurnWork) {
        pending.append(work)
        // NIO runs the tasks submitted while it handles a turn's I/O right after that I/O.
        if pending.count == 1 { eventLoop.execute { self.run() } }
    }

    private func run() {
        var work: [any EndOfTurnWork] = []
        swap(&work, &pending)
        for item in work { item.endOfTurn() }
    }
}
