import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 connections to providers (plain or TLS), owned by one event loop.
///
/// The gateway's fast lane runs on the event loop of the caller's connection; calling a provider
/// over a connection of that same loop keeps the whole request on one thread with no task, no
/// hop and no lock (AsyncHTTPClient, the general path, costs about a third of a proxied
/// request's CPU time: docs/benchmarks.md). Idle connections are reused most recent first and
/// closed after `idleTimeout` (found by the same 100 ms sweep as the exchanges' deadlines). A
/// request that fails on a reused connection before the provider sent anything (it closed the
/// idle connection as the request went out) is sent once more on a new connection, as nginx
/// does with its cached upstream connections. `https` providers are reached over TLS
/// (swift-nio-ssl, verified against the host name) when the pool has a TLS context.
public final class UpstreamConnectionPool: @unchecked Sendable {
    public let eventLoop: any EventLoop
    let idleTimeout: TimeAmount
    let maxIdlePerOrigin: Int
    /// For `https` origins; without it they fail to connect.
    let tls: NIOSSLContext?
    /// Flushes the requests written during a turn of the loop together.
    public let endOfTurn: EndOfTurn
    /// Idle connections per origin, most recently used last. A class per origin, so taking and
    /// giving back a connection mutates it in place (through the dictionary's optional, the
    /// array was copied on every exchange).
    private var idle: [ProviderOrigin: IdleConnections] = [:]

    private final class IdleConnections {
        var connections: [UpstreamConnection] = []
    }
    /// Every open connection, idle or busy, for the deadline sweep.
    private var open: [UpstreamConnection] = []
    private var sweep: RepeatedTask?
    private var isClosed = false
    /// How often exchanges are checked against their deadlines and idle connections against
    /// `idleTimeout`: either fires up to this late.
    static let sweepInterval = TimeAmount.milliseconds(100)

    public init(eventLoop: any EventLoop, idleTimeout: TimeAmount = .seconds(60), maxIdlePerOrigin: Int = 256, tls: NIOSSLContext? = nil) {
        self.eventLoop = eventLoop
        self.idleTimeout = idleTimeout
        self.maxIdlePerOrigin = maxIdlePerOrigin
        self.tls = tls
        self.endOfTurn = EndOfTurn(eventLoop: eventLoop)
    }

    /// The TLS context for `https` providers: `configuration` (the system's trust roots by
    /// default) speaking HTTP/1.1 only, since the pool does not speak HTTP/2.
    public static func tlsContext(_ configuration: TLSConfiguration = .makeClientConfiguration()) throws -> NIOSSLContext {
        var configuration = configuration
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// Sends `exchange` and calls `completion` on this pool's event loop with the whole answer.
    /// Must be called on that loop.
    public func send(_ exchange: UpstreamExchange, completion: @escaping (UpstreamExchangeResult) -> Void) {
        eventLoop.preconditionInEventLoop()
        let deadline = NIODeadline.now() + exchange.timeout
        guard let connection = takeIdle(exchange.origin) else {
            sendOnNewConnection(exchange, deadline: deadline, completion: completion)
            return
        }
        connection.start(exchange, deadline: deadline, reused: true) { [self] result, stale in
            if stale, NIODeadline.now() < deadline {
                sendOnNewConnection(exchange, deadline: deadline, completion: completion)
            } else {
                completion(result)
            }
        }
    }

    /// Idle connections held now, for tests.
    public var idleCount: Int {
        eventLoop.preconditionInEventLoop()
        return idle.values.reduce(0) { $0 + $1.connections.count }
    }

    /// Closes every idle connection and keeps none from now on (connections busy now close when
    /// their exchange ends).
    public func close() {
        eventLoop.execute { [self] in
            isClosed = true
            sweep?.cancel()
            sweep = nil
            let all = idle.values.flatMap(\.connections)
            idle = [:]
            for connection in all { connection.channel?.close(promise: nil) }
        }
    }

    private func takeIdle(_ origin: ProviderOrigin) -> UpstreamConnection? {
        guard let list = idle[origin] else { return nil }
        while let connection = list.connections.popLast() {
            if connection.isUsable { return connection }
        }
        return nil
    }

    private func sendOnNewConnection(_ exchange: UpstreamExchange, deadline: NIODeadline, completion: @escaping (UpstreamExchangeResult) -> Void) {
        let connection = UpstreamConnection(origin: exchange.origin, turn: endOfTurn) { [self] connection, available in
            available ? keep(connection) : forget(connection)
        }
        let origin = exchange.origin
        guard !origin.usesTLS || tls != nil else {
            completion(.failed(.connection("\(origin.authority): no TLS configuration for https providers")))
            return
        }
        let connectTimeout = min(deadline - .now(), .seconds(10))
        let tls = tls
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(max(connectTimeout, .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if origin.usesTLS, let tls {
                        // Verified against the host name (SNI and the certificate), as AsyncHTTPClient does.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: origin.serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: origin.host, port: origin.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    connection.attach(channel)
                    self.opened(connection)
                    connection.start(exchange, deadline: deadline, reused: false) { result, _ in completion(result) }
                case .failure(let error as ChannelError) where error == .connectTimeout(connectTimeout):
                    completion(.failed(.connection("connecting to \(origin.authority) timed out")))
                case .failure(let error):
                    completion(.failed(.connection("connecting to \(origin.authority): \(UpstreamFailure.reason(error))")))
                }
            }
    }

    private func keep(_ connection: UpstreamConnection) {
        // One lookup: this runs after every answer.
        let list = idle[connection.origin]
        guard !isClosed, (list?.connections.count ?? 0) < maxIdlePerOrigin else {
            connection.channel?.close(promise: nil)
            return
        }
        if let list {
            list.connections.append(connection)
        } else {
            let list = IdleConnections()
            list.connections.append(connection)
            idle[connection.origin] = list
        }
        connection.markIdle(now: .now())
    }

    private func forget(_ connection: UpstreamConnection) {
        idle[connection.origin]?.connections.removeAll { $0 === connection }
        open.removeAll { $0 === connection }
    }

    private func opened(_ connection: UpstreamConnection) {
        open.append(connection)
        guard sweep == nil, !isClosed else { return }
        sweep = eventLoop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { [self] _ in
            let now = NIODeadline.now()
            for connection in open { connection.sweep(now: now, idleTimeout: idleTimeout) }
        }
    }
}

/// One `UpstreamConnectionPool` per event loop of a group, made when a loop first asks.
public final class UpstreamConnectionPools: Sendable {
    private let pools = Mutex<[ObjectIdentifier: UpstreamConnectionPool]>([:])
    private let idleTimeout: TimeAmount
    private let tls: NIOSSLContext?

    public init(idleTimeout: TimeAmount = .seconds(60), tls: NIOSSLContext? = nil) {
        self.idleTimeout = idleTimeout
        self.tls = tls
    }

    /// Whether the pools can connect to `origin` (an `https` one needs the TLS context).
    public func canReach(_ origin: ProviderOrigin) -> Bool {
        !origin.usesTLS || tls != nil
    }

    /// The pool of `eventLoop`; look it up once per caller connection, not per request.
    public func pool(for eventLoop: any EventLoop) -> UpstreamConnectionPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(eventLoop)] { return pool }
            let pool = UpstreamConnectionPool(eventLoop: eventLoop, idleTimeout: idleTimeout, tls: tls)
            pools[ObjectIdentifier(eventLoop)] = pool
            return pool
        }
    }

    /// Closes every pool's idle connections (at shutdown).
    public func close() {
        for pool in pools.withLock({ Array($0.values) }) { pool.close() }
    }
}
