import NIOCore
import NIOHTTP1

/// One keep-alive HTTP/1.1 connection to a provider (plain or TLS), carrying one exchange at a time.
/// Speaks HTTP/1.1 itself: writes the request's bytes and reads the answer with
/// `ProviderAnswerParser`, with no codec in the pipeline. Lives on its channel's event loop and
/// is only touched there (hence `@unchecked Sendable`).
final class UpstreamConnection: ChannelInboundHandler, EndOfTurnWork, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    /// What one finished exchange reports: the result, and whether it failed before the provider
    /// sent anything on a connection that had been idle (then a new connection may try again).
    typealias Completion = (UpstreamExchangeResult, _ staleConnection: Bool) -> Void

    private struct Pending {
        let completion: Completion
        let reused: Bool
        let deadline: NIODeadline
        var answer: ProviderAnswerParser
        /// Whether the request was flushed: an answer complete before then answers something
        /// else (a provider's unsolicited 408, say), and the connection cannot be trusted.
        var flushed = false
    }

    let origin: ProviderOrigin
    private(set) var channel: (any Channel)?
    private var pending: Pending?
    /// When the connection last became idle (nil while it carries an exchange). The pool's sweep
    /// closes it once idle too long: a timer per connection, cancelled and scheduled again on
    /// every exchange, cost more than the exchange's own bookkeeping.
    private var idleSince: NIODeadline?
    /// Told when the connection can take another exchange (`true`) or is gone (`false`).
    private let onAvailability: (UpstreamConnection, Bool) -> Void
    /// Where a written request is flushed, with the other requests of the loop's turn.
    private let turn: EndOfTurn

    init(origin: ProviderOrigin, turn: EndOfTurn, onAvailability: @escaping (UpstreamConnection, Bool) -> Void) {
        self.origin = origin
        self.turn = turn
        self.onAvailability = onAvailability
    }

    var isUsable: Bool { pending == nil && channel?.isActive == true }

    func attach(_ channel: any Channel) { self.channel = channel }

    /// Writes the request (head and body, flushed at the end of the loop's turn) and waits for
    /// the whole answer.
    func start(_ exchange: UpstreamExchange, deadline: NIODeadline, reused: Bool, completion: @escaping Completion) {
        guard let channel, pending == nil else {
            completion(.failed(.connection("internal: the connection is busy")), false)
            return
        }
        idleSince = nil
        pending = Pending(completion: completion, reused: reused, deadline: deadline, answer: ProviderAnswerParser(maxAnswerBytes: exchange.maxAnswerBytes))
        channel.write(exchange.head, promise: nil)
        channel.write(exchange.body, promise: nil)
        turn.register(self)
    }

    func endOfTurn() {
        channel?.flush()
        pending?.flushed = true
    }

    /// The pool's sweep (one repeating timer per pool instead of timers per exchange): fails the
    /// exchange and closes the connection when the exchange's deadline has passed, and closes a
    /// connection idle for longer than `idleTimeout`.
    func sweep(now: NIODeadline, idleTimeout: TimeAmount) {
        if let pending, now >= pending.deadline {
            finish(.failed(.timeout), stale: false)
            channel?.close(promise: nil)
        } else if let idleSince, now - idleSince >= idleTimeout {
            self.idleSince = nil
            channel?.close(promise: nil)
        }
    }

    /// Marks the connection idle from `now` (the pool keeps it for another exchange).
    func markIdle(now: NIODeadline) {
        idleSince = now
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else {
            // Bytes nobody asked for: the connection's next answer could not be told from them.
            context.close(promise: nil)
            return
        }
        var bytes = unwrapInboundIn(data)
        let answer: ProviderAnswerParser.Answer?
        do {
            answer = try pending!.answer.receive(&bytes)
        } catch {
            switch error {
            case .tooLarge: finish(.tooLarge, stale: false)
            case .malformed(let what): finish(.failed(.connection("\(origin.authority) sent a malformed answer: \(what)")), stale: false)
            }
            context.close(promise: nil)
            return
        }
        guard let answer else { return }
        guard pending!.flushed else {
            // Not ours: our request was never sent, so a new connection may carry it.
            let reused = pending!.reused
            finish(.failed(.connection("\(origin.authority) answered before the request was sent")), stale: reused)
            context.close(promise: nil)
            return
        }
        finish(.answered(UpstreamAnswerBytes(answer)), stale: false)
        if answer.keepAlive, context.channel.isActive {
            onAvailability(self, true)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleSince = nil
        if var pending {
            if let answer = pending.answer.receiveEnd() {
                // An answer framed by the end of the connection.
                finish(.answered(UpstreamAnswerBytes(answer)), stale: false)
            } else {
                let nothingReceived = !pending.answer.receivedAny
                finish(.failed(.connection("\(origin.authority) closed the connection before answering")), stale: pending.reused && nothingReceived)
            }
        }
        onAvailability(self, false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let pending {
            finish(.failed(.connection("\(origin.authority): \(UpstreamFailure.reason(error))")), stale: pending.reused && !pending.answer.receivedAny)
        }
        context.close(promise: nil)
    }

    private func finish(_ result: UpstreamExchangeResult, stale: Bool) {
        guard let done = pending else { return }
        pending = nil
        done.completion(result, stale)
    }
}
