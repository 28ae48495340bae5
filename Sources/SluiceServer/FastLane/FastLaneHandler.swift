import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import SluiceCore
import SluiceProviders

/// Puts the fast lane's handlers into a new connection's pipeline, then leaves: a
/// `FastLaneByteHandler` before NIO's HTTP/1 codec, and a `FastLaneHandler` just before
/// Hummingbird's HTTPTypes codec. Hummingbird adds its extra handlers after that codec; the fast
/// lane wants the bytes, and after them NIO's own HTTP/1 parts, so that the requests it serves
/// are never converted to HTTPTypes and its answers never converted back.
final class FastLaneInstaller: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    private let lane: FastLane

    init(lane: FastLane) { self.lane = lane }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let codec = try? pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self) {
            try? pipeline.addHandler(FastLaneHandler(lane: lane), position: .before(codec.handler))
            // NIO puts the response encoder first, then the request decoder: the bytes handler
            // goes before both, so its answers reach the socket as written.
            if let encoder = try? pipeline.context(handlerType: HTTPResponseEncoder.self) {
                try? pipeline.addHandler(FastLaneByteHandler(lane: lane), position: .before(encoder.handler))
            }
        }
        pipeline.removeHandler(context: context, promise: nil)
    }
}

/// Sits in each caller connection's pipeline between NIO's HTTP/1 decoder and Hummingbird, and serves
/// the requests `FastLane` can take; every other request, and every request while Hummingbird
/// still owes an answer on the connection, passes through to Hummingbird unchanged.
///
/// A candidate's head and body are held until the body ends, then either served here or replayed
/// to Hummingbird as they came (with a handover token when the fast lane admitted it and its
/// first attempt failed). A pipelining client's next requests wait in a short queue during a
/// call (reading pauses when it is full), so they are answered in order. Lives on its channel's
/// event loop only.
final class FastLaneHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Inbound {
        case betweenRequests
        /// Parts of a request Hummingbird serves: passed on until its end.
        case toGeneralPath
        /// A fast-lane candidate being read.
        case collecting(HTTPRequestHead, ProxyEndpoint, ByteBuffer)
    }

    private let lane: FastLane
    private let maxBodyBytes: Int
    private var pool: UpstreamConnectionPool?
    private var inbound = Inbound.betweenRequests
    /// Answers Hummingbird has yet to finish writing on this connection.
    private var owed = 0
    private var callInFlight = false
    /// Parts that arrived during a call, handled after it.
    private var queued: [HTTPServerRequestPart] = []
    private var readPending = false
    /// Parts queued during a call before reading pauses.
    static let maxQueuedParts = 16
    /// User events (Hummingbird's quiesce at shutdown, the caller closing its side) that arrived
    /// during a fast-lane request, passed on after it, in order.
    private var eventsHeld: [Any] = []
    private var isActive = true
    private var recentCaller: FastLane.RecentCaller?
    /// Whether Hummingbird was given a part since the end of the last read: a read that only
    /// brought fast-lane requests does not wake Hummingbird's handlers with its end.
    private var passedSinceReadComplete = false
    /// The token of a request `FastLaneByteHandler` admitted and handed over: the next head.
    private var handoverToken: String?

    init(lane: FastLane) {
        self.lane = lane
        self.maxBodyBytes = lane.gateway.config.server.maxBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        pool = lane.gateway.upstreamPools.pool(for: context.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if callInFlight || !queued.isEmpty {
            queued.append(part)
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        defer { passEventsIfIdle(context: context) }
        switch (inbound, part) {
        case (.betweenRequests, .head(var head)):
            // Only the fast lane itself may hand a request over. (Looked for first: removing
            // copies the head, which is shared with the part it came in.)
            if head.headers.contains(name: FastLane.handoverHeader) { head.headers.remove(name: FastLane.handoverHeader) }
            if let token = handoverToken {
                handoverToken = nil
                head.headers.add(name: FastLane.handoverHeader, value: token)
                toGeneralPath(head, context: context)
                return
            }
            if FastLane.expectsContinue(head, maxBodyBytes: maxBodyBytes) {
                // Hummingbird never answers `Expect: 100-continue`, so a client that waits for
                // it (curl does, for large bodies) would stall a second before sending the body.
                // A body announced as too long gets no invitation: its 413 comes first.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            if owed == 0, let endpoint = FastLane.endpoint(of: head), !FastLane.announcesTooLong(head, maxBodyBytes: maxBodyBytes) {
                inbound = .collecting(head, endpoint, ByteBuffer())
            } else {
                toGeneralPath(head, context: context)
            }
        case (.collecting(let head, let endpoint, var body), .body(var chunk)):
            inbound = .betweenRequests  // body is uniquely referenced while appending
            body.writeBuffer(&chunk)
            if body.readableBytes > maxBodyBytes {
                // Hummingbird refuses it with 413 and the general path's usage row.
                toGeneralPath(head, context: context)
                pass(.body(body), context: context)
            } else {
                inbound = .collecting(head, endpoint, body)
            }
        case (.collecting(let head, let endpoint, let body), .end(let trailers)):
            inbound = .betweenRequests
            guard let pool, let (call, exchange) = lane.start(head, endpoint: endpoint, body: body, recent: &recentCaller) else {
                replay(head, body: body, trailers: trailers, context: context)
                return
            }
            callInFlight = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pool.send(exchange) { result in
                let (handler, context) = loopBound.value
                handler.callFinished(call, result: result, head: head, body: body, context: context)
            }
        case (.toGeneralPath, _):
            if case .end = part { inbound = .betweenRequests }
            pass(part, context: context)
        case (.betweenRequests, _), (.collecting, .head):
            // The codec never sends these; pass them on for Hummingbird to judge.
            pass(part, context: context)
        }
    }

    private func pass(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        passedSinceReadComplete = true
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// The next request is one `FastLaneByteHandler` admitted and whose first attempt failed:
    /// it goes to the general path with `token`, like this handler's own handovers.
    func expectHandover(token: String) {
        handoverToken = token
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard passedSinceReadComplete else { return }
        passedSinceReadComplete = false
        context.fireChannelReadComplete()
    }

    private func toGeneralPath(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        owed += 1
        inbound = .toGeneralPath
        pass(.head(head), context: context)
    }

    private func replay(_ head: HTTPRequestHead, body: ByteBuffer, trailers: HTTPHeaders?, context: ChannelHandlerContext) {
        owed += 1
        pass(.head(head), context: context)
        if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
        pass(.end(trailers), context: context)
        channelReadComplete(context: context)
    }

    private func callFinished(_ call: FastLane.Call, result: UpstreamExchangeResult, head: HTTPRequestHead, body: ByteBuffer,
                              context: ChannelHandlerContext) {
        callInFlight = false
        switch lane.finish(call, result: result, head: { _ in
            var headers = HTTPHeaders()
            headers.reserveCapacity(16)
            return headers
        }) {
        case .respond(let status, let headers, let answer, let answered):
            lane.gateway.metrics.fastLaneAnswered.increment()
            if isActive {
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                if answer.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(answer))), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            // After the answer went out: the caller need not wait for the row and the line.
            if answered { lane.account(call, status: Int(status.code)) }
        case .handOver(let handover):
            guard let token = lane.register(handover, callerActive: isActive) else { break }
            var head = head
            head.headers.add(name: FastLane.handoverHeader, value: token)
            replay(head, body: body, trailers: nil, context: context)
        }
        resumeAfterCall(context: context)
        passEventsIfIdle(context: context)
    }

    /// Handles what arrived during the call, until the next call starts; then reading resumes.
    private func resumeAfterCall(context: ChannelHandlerContext) {
        let hadQueued = !queued.isEmpty
        while !callInFlight, !queued.isEmpty {
            handle(queued.removeFirst(), context: context)
        }
        // Hummingbird takes in what it was given at the end of a read; the read these parts
        // came in has ended long ago.
        if hadQueued { channelReadComplete(context: context) }
        guard !callInFlight else { return }
        if readPending {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        // Holding every read during a call would cost two epoll changes per request; a client
        // that is not pipelining sends nothing meanwhile, and one that is fills the queue first.
        if callInFlight, queued.count >= Self.maxQueuedParts {
            readPending = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { owed = max(0, owed - 1) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Hummingbird closes a connection it thinks idle when the server shuts down; one with a
        // fast-lane request being read or called is not idle, so the event waits for its answer.
        eventsHeld.append(event)
        passEventsIfIdle(context: context)
    }

    private func passEventsIfIdle(context: ChannelHandlerContext) {
        guard !eventsHeld.isEmpty, !callInFlight else { return }
        if case .collecting = inbound { return }
        let events = eventsHeld
        eventsHeld = []
        for event in events { context.fireUserInboundEventTriggered(event) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        context.fireChannelInactive()
    }
}
