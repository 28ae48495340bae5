import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A loopback HTTP/1.1 server (plain, or TLS with `TestTLS`'s certificate) that answers each
/// request as its script says, counting the connections it accepts: for what a well-behaved
/// server would not do (go silent, close a kept-alive connection, answer too much).
final class ScriptedHTTPServer: Sendable {
    enum Action: Sendable {
        /// Answer with `body`; `keepAlive: false` adds `Connection: close` and closes after it.
        case answer(status: Int, body: String, keepAlive: Bool)
        /// Answer, then close the connection `afterMs` later (an idle timeout on the server side).
        case answerThenCloseIdle(body: String, afterMs: Int64)
        /// Write `text` as it is (any framing, or none), then close the connection if `close`.
        case raw(String, close: Bool)
        /// Never answer.
        case silent
    }

    private let channel: any Channel
    private let state = Mutex((connections: 0, requests: 0, closed: 0))
    let script: @Sendable (_ request: Int) -> Action

    var port: Int { channel.localAddress!.port! }
    var connections: Int { state.withLock { $0.connections } }
    var closedConnections: Int { state.withLock { $0.closed } }
    /// Requests read in full (a TLS handshake that failed never gets this far).
    var requests: Int { state.withLock { $0.requests } }

    static func start(host: String = "127.0.0.1", tls: NIOSSLContext? = nil, script: @escaping @Sendable (_ request: Int) -> Action) async throws -> ScriptedHTTPServer {
        let box = Mutex<ScriptedHTTPServer?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let server = box.withLock { $0! }
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.addHandler(Connection(server: server))
                }
            }
            .bind(host: host, port: 0).get()
        let server = ScriptedHTTPServer(channel: channel, script: script)
        box.withLock { $0 = server }
        return server
    }

    private init(channel: any Channel, script: @escaping @Sendable (Int) -> Action) {
        self.channel = channel
        self.script = script
    }

    func stop() async throws { try await channel.close() }

    private let children = Mutex<[any Channel]>([])

    /// Writes `text` on every connection still open, unasked.
    func sendToAll(_ text: String) async throws {
        for child in children.withLock({ $0 }) where child.isActive {
            try await child.writeAndFlush(ByteBuffer(string: text))
        }
    }

    fileprivate func opened(_ channel: any Channel) {
        children.withLock { $0.append(channel) }
        state.withLock { $0.connections += 1 }
    }
    fileprivate func closed() { state.withLock { $0.closed += 1 } }
    fileprivate func nextRequest() -> Int { state.withLock { $0.requests += 1; return $0.requests } }

    /// Reads requests (a head and a Content-Length body) and answers each.
    private final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let server: ScriptedHTTPServer
        var pending = ""

        init(server: ScriptedHTTPServer) { self.server = server }

        func channelActive(context: ChannelHandlerContext) {
            server.opened(context.channel)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            server.closed()
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += String(buffer: unwrapInboundIn(data))
            while let headEnd = pending.range(of: "\r\n\r\n") {
                let head = pending[..<headEnd.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let bodyStart = pending.utf8.distance(from: pending.startIndex, to: headEnd.upperBound)
                guard pending.utf8.count >= bodyStart + length else { return }
                pending = String(pending.utf8.dropFirst(bodyStart + length))!
                answer(server.script(server.nextRequest()), context: context)
            }
        }

        private func answer(_ action: Action, context: ChannelHandlerContext) {
            func write(status: Int, body: String, close: Bool) {
                var text = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                if close { text += "Connection: close\r\n" }
                text += "\r\n" + body
                context.writeAndFlush(NIOAny(ByteBuffer(string: text)), promise: nil)
            }
            switch action {
            case .answer(let status, let body, let keepAlive):
                write(status: status, body: body, close: !keepAlive)
                if !keepAlive { context.close(promise: nil) }
            case .answerThenCloseIdle(let body, let afterMs):
                write(status: 200, body: body, close: false)
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .milliseconds(afterMs)) { channel.close(promise: nil) }
            case .raw(let text, let close):
                context.writeAndFlush(NIOAny(ByteBuffer(string: text)), promise: nil)
                if close { context.close(promise: nil) }
            case .silent:
                break
            }
        }
    }
}
