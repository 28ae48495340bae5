import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A few connections to one Redis, used in turn. Connections open lazily (a gateway starts while
/// Redis is down) and reopen when they drop; after a failed connect the next attempt waits a
/// backoff that doubles up to a cap, and commands meanwhile fail at once rather than each waiting
/// for a connect of its own. Every command is bounded by `commandTimeout`.
public final class RedisClient: Sendable {
    public let url: RedisURL
    public let commandTimeout: Duration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let slots: [RedisConnectionSlot]
    private let turn = Atomic<Int>(0)

    /// - Parameters:
    ///   - commandTimeout: the longest any command (and a connect) may take; past it the command
    ///     fails with `RedisError.timeout` and its connection is replaced.
    ///   - connections: how many connections to spread commands over.
    ///   - reconnectBackoff: the wait after a first failed connect, doubled per failure up to `max`.
    public init(url: RedisURL, commandTimeout: Duration = .milliseconds(250), connections: Int = 2,
                reconnectBackoff: (first: Duration, max: Duration) = (.milliseconds(50), .seconds(2)),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "sluice.redis")) {
        self.url = url
        self.commandTimeout = commandTimeout
        self.group = eventLoopGroup
        self.logger = logger
        slots = (0..<max(1, connections)).map { _ in RedisConnectionSlot(endpoint: url.endpoint, backoff: reconnectBackoff) }
    }

    /// Parses `url` (see `RedisURL`) and makes a client; nothing connects yet.
    public convenience init(url: String, commandTimeout: Duration = .milliseconds(250), connections: Int = 2,
                            logger: Logger = Logger(label: "sluice.redis")) throws(RedisError) {
        self.init(url: try RedisURL(url), commandTimeout: commandTimeout, connections: connections, logger: logger)
    }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        let reply = try await pipeline([command])[0]
        if let message = reply.errorMessage { throw .server(endpoint: url.endpoint, message: message) }
        return reply
    }

    /// Sends the commands in one write on one connection; replies in order, error replies as
    /// `.error` values.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let connection = try await connection()
        do {
            let replies = try await connection.send(commands)
            guard replies.count == commands.count else {
                throw RedisError.protocolViolation(endpoint: url.endpoint, detail: "\(replies.count) replies to \(commands.count) commands")
            }
            return replies
        } catch let error as RedisError {
            if error.isConnectivity { slot(of: connection)?.connectionFailed(connection, error: error) }
            throw error
        } catch {
            throw .connectionClosed(endpoint: url.endpoint)
        }
    }

    /// A connection of the next slot in turn, opened if need be.
    private func connection() async throws(RedisError) -> RedisConnection {
        let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        // Prefer an open connection: a dropped one is reopened by the next caller its turn falls to.
        for offset in 0..<slots.count {
            if let open = slots[Self.index(start &+ offset, count: slots.count)].openConnection() { return open }
        }
        let (url, timeout, group, logger) = (url, commandTimeout, group, logger)
        return try await slots[Self.index(start, count: slots.count)].connection { () async throws(RedisError) -> RedisConnection in
            try await RedisConnection.connect(to: url, timeout: timeout, group: group, logger: logger)
        }
    }

    /// A turn counter (which wraps to negative numbers eventually) as a slot index.
    private static func index(_ turn: Int, count: Int) -> Int { Int(UInt(bitPattern: turn) % UInt(count)) }

    private func slot(of connection: RedisConnection) -> RedisConnectionSlot? {
        slots.first { $0.holds(connection) }
    }

    /// Closes every connection; commands afterwards fail with `RedisError.shutDown`.
    public func shutdown() async {
        for slot in slots {
            await slot.shutdown()
        }
    }
}

/// One connection of the pool and its state: none yet (or waiting out a backoff), opening, or
/// open. Callers that find it opening wait for that one connect rather than starting their own.
final class RedisConnectionSlot: Sendable {
    enum State {
        case idle(retryAt: ContinuousClock.Instant?, lastError: RedisError?)
        case connecting(id: Int, task: Task<RedisConnection, any Error>)
        case ready(RedisConnection)
        case shutDown
    }

    private let endpoint: String
    private let backoff: (first: Duration, max: Duration)
    private let state = Mutex(State.idle(retryAt: nil, lastError: nil))
    /// Failed connects (and commands lost to timeouts or drops) since the last good connect.
    private let failures = Atomic<Int>(0)
    private let attempts = Atomic<Int>(0)

    init(endpoint: String, backoff: (first: Duration, max: Duration)) {
        self.endpoint = endpoint
        self.backoff = backoff
    }

    /// The connection if it is open now; never waits.
    func openConnection() -> RedisConnection? {
        state.withLock { state in
            if case .ready(let connection) = state, connection.isActive { return connection }
            return nil
        }
    }

    func holds(_ connection: RedisConnection) -> Bool {
        state.withLock { state in
            if case .ready(let held) = state { return held === connection }
            return false
        }
    }

    /// The open connection, or a new one from `open`; during a backoff, fails at once.
    func connection(open: @escaping @Sendable () async throws(RedisError) -> RedisConnection) async throws(RedisError) -> RedisConnection {
        enum Step { case use(RedisConnection), wait(Int, Task<RedisConnection, any Error>), fail(RedisError) }
        let now = ContinuousClock.now
        let step: Step = state.withLock { state in
            switch state {
            case .shutDown:
                return .fail(.shutDown)
            case .ready(let connection) where connection.isActive:
                return .use(connection)
            case .connecting(let id, let task):
                return .wait(id, task)
            case .idle(let retryAt?, let lastError?) where retryAt > now:
                let reason = if case .connectionFailed(_, let why) = lastError { why } else { lastError.description }
                return .fail(.backingOff(endpoint: endpoint, reason: reason, retryInMs: max(1, (retryAt - now).wholeMilliseconds)))
            case .ready, .idle:
                // A connection that dropped by itself is reopened at once; failures set the backoff.
                let id = attempts.wrappingAdd(1, ordering: .relaxed).newValue
                let task = Task<RedisConnection, any Error> { try await open() }
                state = .connecting(id: id, task: task)
                return .wait(id, task)
            }
        }
        switch step {
        case .use(let connection):
            return connection
        case .fail(let error):
            throw error
        case .wait(let id, let task):
            do {
                let connection = try await task.value
                let kept: Bool = state.withLock { state in
                    guard case .connecting(let current, _) = state, current == id else { return false }
                    state = .ready(connection)
                    return true
                }
                // Shut down while connecting: nobody else will close it.
                if !kept, openConnection() !== connection { await connection.close() }
                failures.store(0, ordering: .relaxed)
                return connection
            } catch {
                let redisError = (error as? RedisError) ?? .connectionClosed(endpoint: endpoint)
                state.withLock { state in
                    guard case .connecting(let current, _) = state, current == id else { return }
                    state = failedState(redisError)
                }
                throw redisError
            }
        }
    }

    private func failedState(_ error: RedisError) -> State {
        let count = failures.wrappingAdd(1, ordering: .relaxed).newValue
        let exponent = min(max(0, count - 1), 20)
        let wait = min(backoff.first * (1 << exponent), backoff.max)
        return .idle(retryAt: .now + wait, lastError: error)
    }

    /// A command on `connection` failed for want of Redis (timeout, drop): close it and wait a
    /// backoff before the next connect, so a hung server costs callers one timeout per backoff
    /// rather than one per command.
    func connectionFailed(_ connection: RedisConnection, error: RedisError) {
        let replaced: Bool = state.withLock { state in
            guard case .ready(let held) = state, held === connection else { return false }
            state = failedState(error)
            return true
        }
        if replaced { Task { await connection.close() } }
    }

    func shutdown() async {
        let previous = state.withLock { state in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .ready(let connection): await connection.close()
        case .connecting(_, let task): if let connection = try? await task.value { await connection.close() }
        case .idle, .shutDown: break
        }
    }
}
