import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceProviders
import Testing

@Suite("Upstream connection pool")
struct UpstreamConnectionPoolTests {
    let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next())

    func exchange(_ port: Int, timeout: TimeAmount = .seconds(5), maxAnswerBytes: Int = 1 << 20) -> UpstreamExchange {
        UpstreamExchange(origin: PlainHTTPOrigin(baseURL: "http://127.0.0.1:\(port)/v1")!, target: "/v1/chat/completions",
                         headers: ["Content-Type": "application/json"], body: ByteBuffer(string: "{}"), timeout: timeout,
                         maxAnswerBytes: maxAnswerBytes)
    }

    func send(_ exchange: UpstreamExchange) async -> UpstreamExchangeResult {
        await withCheckedContinuation { continuation in
            pool.eventLoop.execute {
                pool.send(exchange) { continuation.resume(returning: $0) }
            }
        }
    }

    func idleCount() async throws -> Int {
        try await pool.eventLoop.submit { pool.idleCount }.get()
    }

    func body(_ result: UpstreamExchangeResult) -> String? {
        guard case .answered(let answer) = result else { return nil }
        return String(buffer: answer.body)
    }

    @Test("sequential calls share one kept-alive connection")
    func reusesConnections() async throws {
        let server = try await ScriptedHTTPServer.start { request in .answer(status: 200, body: "{\"n\":\(request)}", keepAlive: true) }
        for request in 1...3 {
            #expect(body(await send(exchange(server.port))) == "{\"n\":\(request)}")
        }
        #expect(server.connections == 1)
        #expect(try await idleCount() == 1)
        pool.close()
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.closedConnections == 1)
        try await server.stop()
    }

    @Test("an idle connection is closed once idle longer than idleTimeout, not before")
    func idleConnectionIsClosed() async throws {
        let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), idleTimeout: .seconds(1))
        let server = try await ScriptedHTTPServer.start { request in .answer(status: 200, body: "{\"n\":\(request)}", keepAlive: true) }
        func send() async -> UpstreamExchangeResult {
            await withCheckedContinuation { continuation in
                pool.eventLoop.execute { pool.send(exchange(server.port)) { continuation.resume(returning: $0) } }
            }
        }
        #expect(body(await send()) == "{\"n\":1}")
        // Idle from some time after this: closed by the pool's sweep, never before the timeout
        // (a loaded machine can only make it later).
        let beforeLastUse = ContinuousClock.now
        #expect(body(await send()) == "{\"n\":2}")
        #expect(server.connections == 1)
        while server.closedConnections == 0, ContinuousClock.now - beforeLastUse < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.closedConnections == 1)
        #expect(ContinuousClock.now - beforeLastUse >= .seconds(1))
        #expect(try await pool.eventLoop.submit { pool.idleCount }.get() == 0)
        #expect(body(await send()) == "{\"n\":3}")
        #expect(server.connections == 2)
        pool.close()
        try await server.stop()
    }

    @Test("a connection the provider closed while idle is replaced without the caller seeing a failure")
    func staleConnectionIsReplaced() async throws {
        let server = try await ScriptedHTTPServer.start { request in .answerThenCloseIdle(body: "{\"n\":\(request)}", afterMs: 50) }
        #expect(body(await send(exchange(server.port))) == "{\"n\":1}")
        try await Task.sleep(for: .milliseconds(300))
        #expect(body(await send(exchange(server.port))) == "{\"n\":2}")
        #expect(server.connections == 2)
        try await server.stop()
    }

    @Test("an answer with Connection: close is not kept")
    func connectionCloseIsNotPooled() async throws {
        let server = try await ScriptedHTTPServer.start { _ in .answer(status: 503, body: "{}", keepAlive: false) }
        guard case .answered(let answer) = await send(exchange(server.port)) else {
            Issue.record("no answer")
            return
        }
        #expect(answer.status == 503)
        #expect(try await idleCount() == 0)
        try await server.stop()
    }

    @Test("a provider that never answers fails the exchange at its timeout")
    func timeout() async throws {
        let server = try await ScriptedHTTPServer.start { _ in .silent }
        let started = ContinuousClock.now
        let result = await send(exchange(server.port, timeout: .milliseconds(300)))
        guard case .failed(.timeout) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300))
        #expect(waited < .seconds(2))
        #expect(try await idleCount() == 0)
        try await server.stop()
    }

    @Test("nothing listening is a connection failure naming the address")
    func refused() async throws {
        let server = try await ScriptedHTTPServer.start { _ in .silent }
        let port = server.port
        try await server.stop()
        guard case .failed(.connection(let detail)) = await send(exchange(port)) else {
            Issue.record("expected a connection failure")
            return
        }
        #expect(detail.contains("127.0.0.1:\(port)"))
    }

    @Test("an answer longer than allowed fails as too large and its connection is closed")
    func tooLarge() async throws {
        let server = try await ScriptedHTTPServer.start { _ in .answer(status: 200, body: String(repeating: "x", count: 100), keepAlive: true) }
        guard case .tooLarge = await send(exchange(server.port, maxAnswerBytes: 10)) else {
            Issue.record("expected tooLarge")
            return
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.closedConnections == 1)
        #expect(try await idleCount() == 0)
        try await server.stop()
    }
}

@Suite("Plain HTTP origins")
struct PlainHTTPOriginTests {
    @Test("http base URLs give host, port and Host header; anything else gives none")
    func parsing() {
        let local = PlainHTTPOrigin(baseURL: "http://127.0.0.1:8080/v1")
        #expect(local?.host == "127.0.0.1")
        #expect(local?.port == 8080)
        #expect(local?.authority == "127.0.0.1:8080")
        let named = PlainHTTPOrigin(baseURL: "HTTP://vllm.internal/v1")
        #expect(named?.host == "vllm.internal")
        #expect(named?.port == 80)
        let ipv6 = PlainHTTPOrigin(baseURL: "http://[::1]:9000")
        #expect(ipv6?.host == "::1")
        #expect(ipv6?.port == 9000)
        for url in ["https://api.openai.com/v1", "http://", "http://:80/v1", "http://host:0/v1", "http://host:99999", "http://u:p@host/v1",
                    "http://host:abc/v1", "ftp://host"] {
            #expect(PlainHTTPOrigin(baseURL: url) == nil, "\(url)")
        }
    }

    @Test("the request target of a URL keeps its path and query")
    func requestTarget() {
        #expect(PlainHTTPOrigin.requestTarget(of: "http://h:1/v1/chat/completions") == "/v1/chat/completions")
        #expect(PlainHTTPOrigin.requestTarget(of: "http://h:1/openai/deployments/d/chat/completions?api-version=2024")
            == "/openai/deployments/d/chat/completions?api-version=2024")
        #expect(PlainHTTPOrigin.requestTarget(of: "http://h:1") == "/")
        #expect(PlainHTTPOrigin.requestTarget(of: "http://h:1?x=1") == "/?x=1")
    }
}
