import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import SluiceCore
import SluiceStore
import Synchronization
import Testing

/// The shared test Redis (`scripts/test-services start` prints its URL), and Redis servers of a
/// test's own for the tests that stop them.
enum RedisTestSupport {
    /// `SLUICE_TEST_REDIS_URL`, if set.
    static let url: String? = ProcessInfo.processInfo.environment["SLUICE_TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Whether the Redis tests run: when a Redis is given, and always in CI, where a missing one
    /// is a failure rather than a skip.
    static let enabled = url != nil || isCI

    /// The shared Redis' URL; records a failure (CI without one) and returns nil otherwise.
    static func requireURL() -> RedisURL? {
        guard let url else {
            Issue.record("SLUICE_TEST_REDIS_URL is not set but CI=true: run `eval \"$(scripts/test-services start)\"` first")
            return nil
        }
        do {
            return try RedisURL(url)
        } catch {
            Issue.record("SLUICE_TEST_REDIS_URL: \(error)")
            return nil
        }
    }

    /// A key prefix no other test uses.
    static func uniquePrefix() -> String { "sluice-test-\(UUID().uuidString.prefix(8))" }

    /// Deletes every key under `prefix`, so test runs leave the shared server as they found it.
    static func deleteKeys(prefix: String, client: RedisClient) async {
        var cursor = "0"
        repeat {
            guard let reply = try? await client.send(RedisCommand("SCAN", cursor, "MATCH", prefix + ":*", "COUNT", "1000")),
                  let parts = reply.array, parts.count == 2, let next = parts[0].string else { return }
            let keys = parts[1].array?.compactMap(\.string) ?? []
            if !keys.isEmpty { _ = try? await client.send(RedisCommand("DEL", arguments: keys)) }
            cursor = next
        } while cursor != "0"
    }

    /// A client on the shared Redis and a store under a fresh prefix; both cleaned up after `body`.
    static func withStore(timeSource: RedisCounterStore.TimeSource, leaseTimeout: Duration = .seconds(30 * 86_400),
                          _ body: (RedisCounterStore, RedisClient) async throws -> Void) async throws {
        guard let url = requireURL() else { return }
        // Generous: these tests are about what is decided, not how fast, and run 2,000 decisions
        // deep in one pipeline on a busy 2-core host (queueing counts toward the timeout). The
        // timeout has tests of its own.
        let client = RedisClient(url: url, commandTimeout: .seconds(30), connections: 2)
        let prefix = uniquePrefix()
        let store = RedisCounterStore(client: client, keyPrefix: prefix, leaseTimeout: leaseTimeout, timeSource: timeSource)
        do {
            try await body(store, client)
        } catch {
            await deleteKeys(prefix: prefix, client: client)
            await client.shutdown()
            throw error
        }
        await deleteKeys(prefix: prefix, client: client)
        await client.shutdown()
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }
}

/// A redis-server of the test's own, on a free port, without persistence; stopped (or killed, to
/// play a crash) and started again on the same port by the failure-mode tests. Never the shared one.
final class OwnRedisServer: Sendable {
    let port: Int
    private let extraArguments: [String]
    /// `Process` is not Sendable; it is only touched under the lock.
    private final class Box: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    private let process = Mutex<Box?>(nil)

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_TEST_REDIS_SERVER"], !path.isEmpty { return path }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(folder)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "redis-server"
    }

    init(extraArguments: [String] = []) throws {
        port = try RedisTestSupport.freePort()
        self.extraArguments = extraArguments
    }

    var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    /// Starts the server and waits until it answers PING.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--loglevel", "warning", "--dir", FileManager.default.temporaryDirectory.path] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let box = Box(process)
        self.process.withLock { $0 = box }
        let probe = RedisClient(url: url, commandTimeout: .milliseconds(500), connections: 1,
                                reconnectBackoff: (.milliseconds(20), .milliseconds(20)))
        defer { Task { await probe.shutdown() } }
        for _ in 0..<200 {
            // Ours only if the answer names our process: tests starting servers at once could
            // have been handed the same free port, and then one of the two servers cannot bind.
            guard process.isRunning else { break }
            do {
                let info = try await probe.send(RedisCommand("INFO", "server")).string ?? ""
                if info.contains("process_id:\(process.processIdentifier)\r") { return }
                break
            } catch RedisError.server(_, let message) where message.hasPrefix("NOAUTH") {
                return  // a password-protected server of ours, answering
            } catch {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        crash()
        throw RedisError.connectionFailed(endpoint: url.endpoint, reason: "own redis-server did not start (port taken?)")
    }

    /// Kills the server (SIGKILL: a crash, nothing flushed) and waits until it is gone.
    func crash() {
        let box = process.withLock { current in
            defer { current = nil }
            return current
        }
        guard let box else { return }
        _ = Glibc.kill(box.process.processIdentifier, SIGKILL)
        box.process.waitUntilExit()
    }

    /// Stops the server started by `start`, whatever happened in the test.
    func stop() {
        crash()
    }
}

/// A TCP listener that accepts connections and reads what comes but never answers: a hung Redis.
final class SilentServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init() throws {
        final class Swallow: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
        }
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.pipeline.addHandler(Swallow()) }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func close() async {
        try? await channel.close()
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Int64>
    init(_ start: Int64) { now = Mutex(start) }
    func read() -> Int64 { now.withLock { $0 } }
    func advance(by ms: Int64) { now.withLock { $0 += ms } }
}
