import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceProviders

/// The first handler of each caller connection (after TLS, before NIO's HTTP/1 decoder): serves
/// fast-lane calls straight from the connection's bytes and writes their answers as bytes, so the
/// common call never meets an HTTP codec. NIO's decoder, the encoder and the pipeline hops of a
/// request's parts were a tenth of a proxied call's CPU time (docs/benchmarks.md).
///
/// It reads only requests of the plainest shape (`FastLaneRequestHead`). The first request it
/// does not serve — another shape, one the general path must answer (`FastLane.start` said no),
/// or one whose first attempt failed (a handover, its token given to `FastLaneHandler`) — goes to
/// NIO's decoder as the bytes it arrived in, followed by everything after it, and this handler
/// leaves the pipeline: the connection goes on exactly as it would have without it, with
/// `FastLaneHandler` still serving fast-lane calls from NIO's parts. Requests start at the first
/// byte it holds, so the decoder always starts at a request's beginning. Lives on its channel's
/// event loop only.
final class FastLaneByteHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny
    typealias OutboundOut = ByteBuffer

    private let lane: FastLane
    private let maxBodyBytes: Int
    private var pool: UpstreamConnectionPool?
    /// Bytes received and not yet served: the next request's first, then any pipelined after it.
    private var pending = ByteBuffer()
    /// The head of the request at the start of `pending`, once read (its body may still be coming).
    private var head: FastLaneRequestHead?
    private var callInFlight = false
    private var readPending = false
    /// Whether this handler turned `autoRead` off and asks for reads itself.
    private var ownsReads = false
    private var leaving = false
    private var isActive = true
    private var recentCaller: FastLane.RecentCaller?
    /// The last head read in full, to know the next one by.
    private var recentHead: FastLaneRequestHead.Recent?
    /// How much of `pending` was searched for the end of a head that was not there yet.
    private var headSearchedBytes: Int?
    /// User events (Hummingbird's quiesce at shutdown, the caller closing its side) that arrived
    /// during a request, passed on after it, in order.
    private var eventsHeld: [Any] = []
    /// Pipelined bytes held during a call before reading pauses.
    static let maxPendingBytes = 64 * 1024

    init(lane: FastLane) {
        self.lane = lane
        self.maxBodyBytes = lane.gateway.config.server.maxBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        pool = lane.gateway.upstreamPools.pool(for: context.eventLoop)
        // While this handler serves the connection it asks for each next read itself, from its
        // place next to the socket (`channelReadComplete`): with `autoRead` the channel passes
        // every read request through each handler of the pipeline, a twentieth of the fast lane's
        // own work at one connection. Leaving turns `autoRead` back on.
        // A channel whose reads someone else already asks for (autoRead off) is left as it is.
        guard let options = context.channel.syncOptions, (try? options.getOption(ChannelOptions.autoRead)) == true else { return }
        ownsReads = (try? options.setOption(ChannelOptions.autoRead, value: false)) != nil
        if ownsReads, context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        if ownsReads, !leaving { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !leaving else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            pending.writeBuffer(&bytes)
        }
        if !callInFlight { serveNext(context: context) }
    }

    /// Serves the requests at the start of `pending` until one is incomplete or a call starts.
    private func serveNext(context: ChannelHandlerContext) {
        // Events held during a call go on (or, with part of a request held, the connection goes
        // to NIO's decoder) however this ends.
        defer { passEventsIfIdle(context: context) }
        while isActive, !callInFlight, !leaving, pending.readableBytes > 0 {
            if head == nil, let recent = recentHead, let again = recent.reread(pending, maxBodyBytes: maxBodyBytes) {
                head = again
                headSearchedBytes = nil
            }
            if head == nil {
                // A head arriving in small pieces is read again only once a piece ends a line.
                if let searched = headSearchedBytes, !pending.readableBytesView.dropFirst(searched).contains(UInt8(ascii: "\n")),
                   pending.readableBytes <= FastLaneRequestHead.maxHeadBytes {
                    headSearchedBytes = pending.readableBytes
                    return
                }
                switch FastLaneRequestHead.read(pending, maxBodyBytes: maxBodyBytes) {
                case .incomplete:
                    headSearchedBytes = pending.readableBytes
                    return
                case .notForFastLane:
                    leave(context: context)
                    return
                case .request(let read):
                    head = read
                    headSearchedBytes = nil
                    recentHead = FastLaneRequestHead.Recent(read, from: pending)
                }
            }
            guard let request = head, pending.readableBytes >= request.length else { return }
            let body = pending.getSlice(at: pending.readerIndex + request.headLength, length: request.contentLength)!
            guard let pool, let (call, exchange) = lane.start(authorization: request.authorization, helicone: request.helicone,
                                                              endpoint: request.endpoint, body: body, recent: &recentCaller)
            else {
                // The general path answers it (nothing was counted), from its own bytes.
                leave(context: context)
                return
            }
            let requestBytes = pending.readSlice(length: request.length)!
            head = nil
            if pending.readableBytes == 0 {
                pending = ByteBuffer()
            } else if pending.readerIndex >= Self.maxPendingBytes {
                // What was served is not kept while pipelined bytes keep arriving.
                pending.discardReadBytes()
            }
            callInFlight = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pool.send(exchange) { result in
                let (handler, context) = loopBound.value
                handler.callFinished(call, result: result, request: requestBytes, context: context)
            }
        }
    }

    private func callFinished(_ call: FastLane.Call, result: UpstreamExchangeResult, request: ByteBuffer, context: ChannelHandlerContext) {
        callInFlight = false
        let allocator = context.channel.allocator
        switch lane.finish(call, result: result, head: { AnswerHeadBytes($0, allocator: allocator) }) {
        case .respond(let status, let head, let answer, let answered):
            lane.gateway.metrics.fastLaneAnswered.increment()
            if isActive {
                context.write(wrapOutboundOut(head.finished()), promise: nil)
                if answer.readableBytes > 0 { context.write(wrapOutboundOut(answer), promise: nil) }
                context.flush()
            }
            // After the answer went out: the caller need not wait for the row and the line.
            if answered { lane.account(call, status: Int(status.code)) }
        case .handOver(let handover):
            guard let token = lane.register(handover, callerActive: isActive) else { break }
            // The request goes to NIO's decoder again, its token to the handler after it.
            var replay = request
            replay.writeBuffer(&pending)
            pending = replay
            leave(context: context, handover: token)
            return
        }
        serveNext(context: context)
        if !callInFlight, readPending {
            readPending = false
            context.read()
        }
    }

    /// Gives the connection to NIO's decoder from the request at the start of `pending` on, and
    /// leaves the pipeline.
    private func leave(context: ChannelHandlerContext, handover token: String? = nil) {
        leaving = true
        if let token, let next = try? context.pipeline.syncOperations.handler(type: FastLaneHandler.self) {
            next.expectHandover(token: token)
        }
        let bytes = pending
        pending = ByteBuffer()
        if bytes.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        let events = eventsHeld
        eventsHeld = []
        for event in events { context.fireUserInboundEventTriggered(event) }
        if ownsReads {
            // The channel reads again as it would without this handler (turning it on asks for a read).
            ownsReads = false
            readPending = false
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        } else if readPending {
            readPending = false
            context.read()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Reads served here wake nobody after this handler.
        if leaving {
            context.fireChannelReadComplete()
        } else if ownsReads, isActive {
            read(context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        // Holding every read during a call would cost two epoll changes per request; a client
        // that is not pipelining sends nothing meanwhile, and one that is fills `pending` first.
        if callInFlight, pending.readableBytes >= Self.maxPendingBytes {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !leaving else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Hummingbird closes a connection it thinks idle when the server shuts down; one with a
        // request being read or called is not idle, so the event waits for its answer.
        eventsHeld.append(event)
        passEventsIfIdle(context: context)
    }

    /// Passes held events on between requests. With part of a request held and no call under
    /// way (the caller closed its side mid-request, or the server is stopping), the connection
    /// is NIO's decoder's, which judges the partial request as it would without the fast lane.
    private func passEventsIfIdle(context: ChannelHandlerContext) {
        guard !eventsHeld.isEmpty, !callInFlight, !leaving else { return }
        if pending.readableBytes > 0 {
            leave(context: context)
            return
        }
        let events = eventsHeld
        eventsHeld = []
        for event in events { context.fireUserInboundEventTriggered(event) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        // Pipelined requests of a caller that left are not sent on.
        pending = ByteBuffer()
        head = nil
        context.fireChannelInactive()
    }
}
