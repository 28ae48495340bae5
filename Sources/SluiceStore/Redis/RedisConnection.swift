import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One TCP connection to Redis: commands are pipelined on it and answered in order. Logged in
/// (AUTH) and on the right database (SELECT) before anyone else can use it.
public final class RedisConnection: Sendable {
    let channel: any Channel
    public let endpoint: String

    private init(channel: any Channel, endpoint: String) {
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Opens a connection; connect, AUTH and SELECT each wait at most `timeout`.
    public static func connect(to url: RedisURL, timeout: Duration, group: any EventLoopGroup,
                               logger: Logger) async throws(RedisError) -> RedisConnection {
        let endpoint = url.endpoint
        let timeAmount = timeout.timeAmount
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeAmount)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(RESPValueDecoder()),
                            RedisCommandHandler(endpoint: endpoint, timeout: timeAmount))
                    }
                }
                .connect(host: url.host, port: url.port)
                .get()
        } catch {
            throw .connectionFailed(endpoint: endpoint, reason: reason(error, timeout: timeout))
        }
        let connection = RedisConnection(channel: channel, endpoint: endpoint)
        var setup: [RedisCommand] = []
        if let password = url.password {
            setup.append(url.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if url.database != 0 { setup.append(RedisCommand("SELECT", String(url.database))) }
        do {
            for (command, reply) in zip(setup, try await connection.send(setup)) {
                if let message = reply.errorMessage {
                    throw RedisError.server(endpoint: endpoint, message: command.name == "SELECT" ? "SELECT \(url.database): \(message)" : message)
                }
            }
        } catch let error as RedisError {
            await connection.close()
            throw error
        } catch {
            await connection.close()
            throw .connectionClosed(endpoint: endpoint)
        }
        logger.debug("connected to redis", metadata: ["sluice.redis": "\(url)"])
        return connection
    }

    /// Sends the commands in one write and returns their replies in order. Error replies are
    /// returned as `.error` values, not thrown: in a pipeline, one may fail and the rest not.
    public func send(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise), promise: nil)
        do {
            return try await promise.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionClosed(endpoint: endpoint)
        }
    }

    /// Whether the connection is still open (a timeout or a server restart closes it).
    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }

    /// A connect error in words: "connection refused", "connect timed out after 250 ms"...
    static func reason(_ error: any Error, timeout: Duration) -> String {
        if let connectionError = error as? NIOConnectionError, let first = connectionError.connectionErrors.first {
            return reason(first.error, timeout: timeout)
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "connect timed out after \(timeout.wholeMilliseconds) ms"
        }
        if let ioError = error as? IOError {
            switch ioError.errnoCode {
            case ECONNREFUSED: return "connection refused (is redis-server running and listening there?)"
            case ETIMEDOUT: return "connect timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: return String(cString: strerror(ioError.errnoCode)).lowercased()
            }
        }
        if error is SocketAddressError { return "host name not found" }
        return "\(error)"
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Whole milliseconds, for messages and arithmetic on the millisecond clock.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
