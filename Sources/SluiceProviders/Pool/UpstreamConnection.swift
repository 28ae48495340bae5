import NIOCore
import NIOHTTP1

/// One keep-alive HTTP/1.1 connection to a provider (plain or TLS), carrying one exchange at a time.
/// Lives on its channel's event loop and is only touched there (hence `@unchecked Sendable`).
final class UpstreamConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// What one finished exchange reports: the result, and whether it failed before the provider
    /// sent anything on a connection that had been idle (then a new connection may try again).
    typealias Completion = (UpstreamExchangeResult, _ staleConnection: Bool) -> Void

    private struct Pending {
        let completion: Completion
        let maxAnswerBytes: Int
        let reused: Bool
        let deadline: NIODeadline
        var head: HTTPResponseHead?
        var body: ByteBuffer?
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

    init(origin: ProviderOrigin, onAvailability: @escaping (UpstreamConnection, Bool) -> Void) {
        self.origin = origin
        self.onAvailability = onAvailability
    }

    var isUsable: Bool { pending == nil && channel?.isActive == true }

    func attach(_ channel: any Channel) { self.channel = channel }

    /// Writes the request (head, body and end in one flush) and waits for the whole answer.
    func start(_ exchange: UpstreamExchange, deadline: NIODeadline, reused: Bool, completion: @escaping Completion) {
        guard let channel, pending == nil else {
            completion(.failed(.connection("internal: the connection is busy")), false)
            return
        }
        idleSince = nil
        pending = Pending(completion: completion, maxAnswerBytes: exchange.maxAnswerBytes, reused: reused, deadline: deadline)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: exchange.target, headers: exchange.headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(exchange.body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
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
        guard pending != nil else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending?.head = head
        case .body(var part):
            let size = (pending?.body?.readableBytes ?? 0) + part.readableBytes
            if size > pending!.maxAnswerBytes {
                finish(.tooLarge, stale: false)
                context.close(promise: nil)
                return
            }
            if pending?.body == nil { pending?.body = part } else { pending?.body?.writeBuffer(&part) }
        case .end:
            guard let head = pending?.head else { return }
            let answer = UpstreamAnswerBytes(status: Int(head.status.code), headers: head.headers, body: pending?.body ?? ByteBuffer())
            finish(.answered(answer), stale: false)
            if head.isKeepAlive, context.channel.isActive {
                onAvailability(self, true)
            } else {
                context.close(promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleSince = nil
        if let pending {
            let nothingReceived = pending.head == nil
            finish(.failed(.connection("\(origin.authority) closed the connection before answering")), stale: pending.reused && nothingReceived)
        }
        onAvailability(self, false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let pending {
            finish(.failed(.connection("\(origin.authority): \(UpstreamFailure.reason(error))")), stale: pending.reused && pending.head == nil)
        }
        context.close(promise: nil)
    }

    private func finish(_ result: UpstreamExchangeResult, stale: Bool) {
        guard let done = pending else { return }
        pending = nil
        done.completion(result, stale)
    }
}
