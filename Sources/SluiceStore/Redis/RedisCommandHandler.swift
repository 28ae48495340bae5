import NIOCore

/// Commands written to the connection with the promise their replies fulfil.
struct RedisRequest {
    var commands: [RedisCommand]
    var promise: EventLoopPromise<[RESPValue]>
}

/// Matches replies to commands in order (Redis answers a connection's commands first in, first
/// out, so pipelining needs no ids), and enforces the command timeout.
///
/// A command that times out takes the connection down with it: its reply may still come, and it
/// would then be read as the answer to the next command. So on a timeout every waiting command
/// fails at once and the channel is closed; the client opens a new one.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<[RESPValue]>
        var expected: Int
        var replies: [RESPValue]
        var deadline: Scheduled<Void>?
        var id: UInt64
    }

    private let endpoint: String
    private let timeout: TimeAmount
    private var pending = CircularBuffer<Pending>()
    private var nextID: UInt64 = 0
    /// Set once the channel failed: later writes fail at once with this error.
    private var failure: RedisError?

    init(endpoint: String, timeout: TimeAmount) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        guard !request.commands.isEmpty else {
            request.promise.succeed([])
            promise?.succeed()
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * request.commands.count)
        for command in request.commands { command.encode(into: &buffer) }
        nextID &+= 1
        let id = nextID
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.timedOut(id: id, context: context)
        }
        pending.append(Pending(promise: request.promise, expected: request.commands.count, replies: [], deadline: deadline, id: id))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        guard !pending.isEmpty else {
            fail(context: context, .protocolViolation(endpoint: endpoint, detail: "a reply came with no command waiting"))
            return
        }
        pending[pending.startIndex].replies.append(value)
        if pending[pending.startIndex].replies.count == pending[pending.startIndex].expected {
            let done = pending.removeFirst()
            done.deadline?.cancel()
            done.promise.succeed(done.replies)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionClosed(endpoint: endpoint))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError: RedisError
        if let protocolError = error as? RESPProtocolError {
            redisError = .protocolViolation(endpoint: endpoint, detail: protocolError.description)
        } else {
            redisError = .connectionClosed(endpoint: endpoint)
        }
        fail(context: context, redisError)
    }

    private func timedOut(id: UInt64, context: ChannelHandlerContext) {
        // Only if that command is still waiting (its reply may have won the race).
        guard pending.contains(where: { $0.id == id }) else { return }
        fail(context: context, .timeout(endpoint: endpoint, ms: timeout.nanoseconds / 1_000_000))
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        if failure == nil { failure = error }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        while let waiting = pending.popFirst() {
            waiting.deadline?.cancel()
            waiting.promise.fail(error)
        }
    }
}
