import NIOCore
import NIOPosix
import Synchronization

/// Bytes written to the gateway as they are, and what comes back, over one TCP connection: for
/// what an HTTP client library would not do (pipelining several requests in one write).
enum RawHTTPConnection {
    /// Sends `text` in one write and returns what arrived once `untilResponses` status lines
    /// have come and then nothing for `quiet` (or after `timeout`).
    /// `resetOnClose` ends the connection with a TCP reset (SO_LINGER 0), which the gateway sees
    /// at once, rather than a FIN, which it sees only as the end of the caller's input.
    static func exchange(port: Int, sending text: String, untilResponses: Int, quiet: Duration = .milliseconds(500),
                         timeout: Duration = .seconds(15), resetOnClose: Bool = false) async throws -> String {
        try await exchange(port: port, sendingPieces: [text], untilResponses: untilResponses, quiet: quiet, timeout: timeout,
                           resetOnClose: resetOnClose)
    }

    /// As `exchange(port:sending:…)`, writing `pieces` one at a time, `pause` apart (each arrives
    /// at the gateway in a read of its own). With `afterResponses`, piece `i` is written only once
    /// `afterResponses[i]` status lines have come (a loaded machine then only makes it later).
    static func exchange(port: Int, sendingPieces pieces: [String], pause: Duration = .milliseconds(20), afterResponses: [Int]? = nil,
                         untilResponses: Int, quiet: Duration = .milliseconds(500), timeout: Duration = .seconds(15),
                         resetOnClose: Bool = false) async throws -> String {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received: received)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        if resetOnClose, let options = channel as? any SocketOptionProvider {
            try await options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        let deadline = ContinuousClock.now + timeout
        for (index, piece) in pieces.enumerated() {
            if let wanted = afterResponses?[index] {
                while received.snapshot.text.components(separatedBy: "HTTP/1.1 ").count - 1 < wanted, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            if index > 0 { try await Task.sleep(for: pause) }
            try await channel.writeAndFlush(ByteBuffer(string: piece))
        }
        while ContinuousClock.now < deadline {
            let (text, lastArrival) = received.snapshot
            if text.components(separatedBy: "HTTP/1.1 ").count - 1 >= untilResponses, ContinuousClock.now - lastArrival >= quiet { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try? await channel.close()
        return received.snapshot.text
    }

    /// Sends `text`, then closes the sending side (the caller has nothing more to say) and
    /// returns what arrived and whether the gateway closed the connection within `timeout`.
    static func halfClosing(port: Int, sending text: String, timeout: Duration = .seconds(5)) async throws -> (text: String, closedByGateway: Bool) {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received: received)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: text))
        try await channel.close(mode: .output)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, channel.isActive {
            try await Task.sleep(for: .milliseconds(50))
        }
        let closed = !channel.isActive
        try? await channel.close()
        return (received.snapshot.text, closed)
    }

    final class Received: Sendable {
        private let state = Mutex((text: "", lastArrival: ContinuousClock.now))
        func append(_ bytes: String) { state.withLock { $0 = ($0.text + bytes, .now) } }
        var snapshot: (text: String, lastArrival: ContinuousClock.Instant) { state.withLock { $0 } }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Received
        init(received: Received) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received.append(String(buffer: unwrapInboundIn(data)))
        }
    }
}
