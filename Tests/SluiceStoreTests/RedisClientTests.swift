import Foundation
import SluiceCore
import SluiceStore
import Testing

private func rpm(_ quota: Int64) -> [LimitCheck] {
    [LimitCheck(counterKey: "key_a|rpm", name: "rpm", kind: .rolling(windowSeconds: 60), mode: .whole, quota: quota, amount: 1,
                unit: .requests, summary: "")]
}

/// The client against servers that misbehave: silent, absent, password-protected, restarted.

@Suite("Redis client")
struct RedisClientTests {
    @Test("a Redis that accepts connections but never answers fails a decision within the command timeout")
    func hungRedis() async throws {
        let silent = try SilentServer()
        let client = RedisClient(url: RedisURL(host: "127.0.0.1", port: silent.port), commandTimeout: .milliseconds(250), connections: 2)
        let store = RedisCounterStore(client: client)
        let started = ContinuousClock.now
        await #expect(throws: RedisError.timeout(endpoint: "127.0.0.1:\(silent.port)", ms: 250)) {
            _ = try await store.decide(rpm(10), shard: "key_a", nowMs: 0)
        }
        let took = ContinuousClock.now - started
        // The error value shows the 250 ms timeout fired on the event loop. Alone this test takes
        // ~260 ms per call; the wall-clock bound is loose because on a 2-core host running every
        // other suite at once (2,000-task tests) resuming the awaiting task can take seconds. It
        // only has to tell a timeout from a hang.
        #expect(took < .seconds(15), "took \(took)")
        #expect(RedisError.timeout(endpoint: "127.0.0.1:6379", ms: 250).description == "redis at 127.0.0.1:6379 did not answer within 250 ms")
        // Straight after, the client backs off rather than making the next caller wait too.
        let again = ContinuousClock.now
        await #expect(throws: RedisError.self) { _ = try await store.decide(rpm(10), shard: "key_a", nowMs: 0) }
        #expect(ContinuousClock.now - again < .seconds(15))
        await client.shutdown()
        await silent.close()
    }
    @Test("a refused connection fails at once with a message saying so, then backs off")
    func refused() async throws {
        let port = try RedisTestSupport.freePort()
        let client = RedisClient(url: RedisURL(host: "127.0.0.1", port: port), connections: 1)
        do {
            _ = try await client.send(RedisCommand("PING"))
            Issue.record("PING succeeded")
        } catch {
            #expect(error.description == "could not connect to redis at 127.0.0.1:\(port): connection refused (is redis-server running and listening there?)")
        }
        do {
            _ = try await client.send(RedisCommand("PING"))
            Issue.record("PING succeeded")
        } catch {
            guard case .backingOff = error else { Issue.record("expected a backoff, got \(error)"); return }
            #expect(error.description.contains("is unreachable (connection refused"))
        }
        await client.shutdown()
        await #expect(throws: RedisError.shutDown) { _ = try await client.send(RedisCommand("PING")) }
    }

    @Test("a thousand commands from concurrent tasks, pipelined on two connections, each get their own reply",
          .enabled(if: RedisTestSupport.enabled))
    func pipelining() async throws {
        guard let url = RedisTestSupport.requireURL() else { return }
        let client = RedisClient(url: url, commandTimeout: .seconds(5), connections: 2)
        let key = RedisTestSupport.uniquePrefix() + ":n"
        let values = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let replies = try await client.pipeline([RedisCommand("INCR", key), RedisCommand("ECHO", "task-\(index)")])
                    #expect(replies[1].string == "task-\(index)")
                    return [replies[0].integer ?? -1]
                }
            }
            return try await group.reduce([]) { $0 + $1 }
        }
        #expect(values.sorted() == Array(1...1_000))
        _ = try await client.send(RedisCommand("DEL", key))
        // An error reply is thrown by `send`, returned by `pipeline`.
        await #expect(throws: RedisError.self) { _ = try await client.send(RedisCommand("NOSUCHCOMMAND")) }
        let mixed = try await client.pipeline([RedisCommand("NOSUCHCOMMAND"), RedisCommand("PING")])
        #expect(mixed[0].errorMessage?.hasPrefix("ERR") == true)
        #expect(mixed[1] == .simpleString("PONG"))
        await client.shutdown()
    }

    @Test("the database number of the URL is selected on connect", .enabled(if: RedisTestSupport.enabled))
    func selectsDatabase() async throws {
        guard var url = RedisTestSupport.requireURL() else { return }
        url.database = 7
        let client = RedisClient(url: url, commandTimeout: .seconds(5), connections: 1)
        let key = RedisTestSupport.uniquePrefix() + ":db"
        _ = try await client.send(RedisCommand("SET", key, "x", "PX", "10000"))
        url.database = 0
        let other = RedisClient(url: url, commandTimeout: .seconds(5), connections: 1)
        #expect(try await other.send(RedisCommand("EXISTS", key)) == .integer(0))
        #expect(try await client.send(RedisCommand("EXISTS", key)) == .integer(1))
        await client.shutdown()
        await other.shutdown()
    }

    @Test("a password-protected Redis: NOAUTH without the password, WRONGPASS with a wrong one, answers with the right one",
          .enabled(if: RedisTestSupport.enabled))
    func authentication() async throws {
        let server = try OwnRedisServer(extraArguments: ["--requirepass", "s3cret"])
        try await server.start()
        defer { server.stop() }
        let endpoint = "127.0.0.1:\(server.port)"
        let none = RedisClient(url: server.url, commandTimeout: .seconds(5), connections: 1)
        do {
            _ = try await none.send(RedisCommand("PING"))
            Issue.record("PING without a password succeeded")
        } catch {
            #expect(error.description.hasPrefix("redis at \(endpoint) refused us: NOAUTH"))
            #expect(error.description.contains("redis://:password@host"))
        }
        var wrong = server.url
        wrong.password = "nope"
        let wrongClient = RedisClient(url: wrong, commandTimeout: .seconds(5), connections: 1)
        do {
            _ = try await wrongClient.send(RedisCommand("PING"))
            Issue.record("PING with a wrong password succeeded")
        } catch {
            #expect(error.description.contains("WRONGPASS"))
        }
        let right = RedisClient(url: try RedisURL("redis://:s3cret@127.0.0.1:\(server.port)/1"), commandTimeout: .seconds(5), connections: 1)
        #expect(try await right.send(RedisCommand("PING")) == .simpleString("PONG"))
        for client in [none, wrongClient, right] { await client.shutdown() }
    }

    @Test("after Redis restarts, the client reconnects by itself", .enabled(if: RedisTestSupport.enabled))
    func reconnects() async throws {
        let server = try OwnRedisServer()
        try await server.start()
        defer { server.stop() }
        let client = RedisClient(url: server.url, commandTimeout: .seconds(5), connections: 2,
                                 reconnectBackoff: (.milliseconds(10), .milliseconds(100)))
        #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
        server.crash()
        await #expect(throws: RedisError.self) { _ = try await client.send(RedisCommand("PING")) }
        try await server.start()
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? await client.send(RedisCommand("PING"))) == .simpleString("PONG")
            if !answered { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(answered)
        await client.shutdown()
    }
}
