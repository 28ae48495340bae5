import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SluiceProviders
import SluiceTestSupport
import Testing

/// The body of an answered exchange; nil for any other result.
func body(_ result: UpstreamExchangeResult) -> String? {
    guard case .answered(let answer) = result else { return nil }
    return String(buffer: answer.body)
}

@Suite("Upstream connection pool")
struct UpstreamConnectionPoolTests {
    let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next())

    func exchange(_ port: Int, timeout: TimeAmount = .seconds(5), maxAnswerBytes: Int = 1 << 20) -> UpstreamExchange {
        UpstreamExchange(origin: ProviderOrigin(baseURL: "http://127.0.0.1:\(port)/v1")!, target: "/v1/chat/completions",
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

    @Test("sequential calls share one kept-alive connection")
    func reusesConnections() async throws {
        let server = try await ScriptedHTTPServer.start { request in .answer(status: 200, body: "{\"n\":\(request)}", keepAlive: true) }
        for request in 1...3 {
            #expect(body(await send(exchange(server.port))) == "{\"n\":\(request)}")
        }
        #expect(server.connections == 1)
        #expect(try await idleCount() == 1)
        pool.close()
        try await waitUntil { server.closedConnections == 1 }
        #expect(server.closedConnections == 1)
        try await server.stop()
    }

    @Test("an idle connection is closed once idle longer than idleTimeout, not before")
    func idleConnectionIsClosed() async throws {
        let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), idleTimeout: .seconds(3))
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
        while server.closedConnections == 0, ContinuousClock.now - beforeLastUse < .seconds(15) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.closedConnections == 1)
        #expect(ContinuousClock.now - beforeLastUse >= .seconds(3))
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
        // Not forever; a loaded machine can resume the waiting task seconds late.
        #expect(waited < .seconds(15))
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
        try await waitUntil { server.closedConnections == 1 }
        #expect(server.closedConnections == 1)
        #expect(try await idleCount() == 0)
        try await server.stop()
    }

    @Test("chunked answers keep the connection; answers framed by its end, and malformed ones, close it")
    func framings() async throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"
        let server = try await ScriptedHTTPServer.start { request in
            switch request {
            case 1, 2: .raw(chunked, close: false)
            case 3: .raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"until\":\"close\"}", close: true)
            default: .raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBroken header\r\n\r\n{}", close: false)
            }
        }
        #expect(body(await send(exchange(server.port))) == "{\"a\":1}")
        #expect(body(await send(exchange(server.port))) == "{\"a\":1}")
        #expect(server.connections == 1)
        #expect(body(await send(exchange(server.port))) == "{\"until\":\"close\"}")
        #expect(try await idleCount() == 0)
        guard case .failed(.connection(let detail)) = await send(exchange(server.port)) else {
            Issue.record("expected a malformed answer to fail the exchange")
            return
        }
        #expect(detail == "127.0.0.1:\(server.port) sent a malformed answer: a header line without a colon")
        try await waitUntil { server.closedConnections == 2 }
        #expect(server.closedConnections == 2)
        #expect(try await idleCount() == 0)
        try await server.stop()
    }

    @Test("an idle connection that receives bytes nobody asked for is closed, not used again")
    func unsolicitedBytes() async throws {
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        let server = try await ScriptedHTTPServer.start { _ in .raw(answer, close: false) }
        #expect(body(await send(exchange(server.port))) == "{}")
        #expect(try await idleCount() == 1)
        try await server.sendToAll("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        try await waitUntil { server.closedConnections == 1 }
        #expect(server.closedConnections == 1)
        #expect(body(await send(exchange(server.port))) == "{}")
        #expect(server.connections == 2)
        try await server.stop()
    }
}

@Suite("Upstream connection pool over TLS")
struct UpstreamConnectionPoolTLSTests {
    static func serverTLS() throws -> NIOSSLContext { try NIOSSLContext(configuration: TestTLS.serverConfiguration()) }

    func send(_ pool: UpstreamConnectionPool, host: String, port: Int) async -> UpstreamExchangeResult {
        let exchange = UpstreamExchange(origin: ProviderOrigin(baseURL: "https://\(host):\(port)/v1")!, target: "/v1/chat/completions",
                                        headers: ["Content-Type": "application/json"], body: ByteBuffer(string: "{}"), timeout: .seconds(5),
                                        maxAnswerBytes: 1 << 20)
        return await withCheckedContinuation { continuation in
            pool.eventLoop.execute { pool.send(exchange) { continuation.resume(returning: $0) } }
        }
    }

    @Test("https providers are called over verified TLS, by name or by IP address, and the connection is kept")
    func verifiedAndKept() async throws {
        let server = try await ScriptedHTTPServer.start(tls: Self.serverTLS()) { request in .answer(status: 200, body: "{\"n\":\(request)}", keepAlive: true) }
        let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                                          tls: try UpstreamConnectionPool.tlsContext(TestTLS.clientConfiguration()))
        #expect(body(await send(pool, host: "localhost", port: server.port)) == "{\"n\":1}")
        #expect(body(await send(pool, host: "localhost", port: server.port)) == "{\"n\":2}")
        #expect(server.connections == 1)
        // An IP address is checked against the certificate's addresses (it cannot go in SNI).
        #expect(body(await send(pool, host: "127.0.0.1", port: server.port)) == "{\"n\":3}")
        pool.close()
        try await server.stop()
    }

    @Test("a certificate the client does not trust fails the exchange, as does an https provider without TLS configured")
    func untrusted() async throws {
        let server = try await ScriptedHTTPServer.start(tls: Self.serverTLS()) { _ in .answer(status: 200, body: "{}", keepAlive: true) }
        // The system's trust roots do not include the tests' authority.
        let systemTrust = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), tls: try UpstreamConnectionPool.tlsContext())
        guard case .failed(let failure) = await send(systemTrust, host: "localhost", port: server.port) else {
            Issue.record("an untrusted certificate was accepted")
            return
        }
        #expect("\(failure)".contains("localhost:\(server.port)"))
        #expect("\(failure)".contains("TLS handshake failed: CERTIFICATE_VERIFY_FAILED"), "\(failure)")
        #expect(server.connections == 1, "the connection was made; the certificate was refused: \(failure)")
        let noTLS = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        guard case .failed(let missing) = await send(noTLS, host: "localhost", port: server.port) else {
            Issue.record("an https exchange went out without TLS")
            return
        }
        #expect("\(missing)".contains("no TLS configuration"))
        #expect(server.requests == 0)
        systemTrust.close()
        try await server.stop()
    }

    @Test("pools without a TLS context cannot reach https providers, and say so before trying")
    func reach() throws {
        let plain = ProviderOrigin(baseURL: "http://127.0.0.1:8080/v1")!
        let secure = ProviderOrigin(baseURL: "https://api.openai.com/v1")!
        let withoutTLS = UpstreamConnectionPools()
        #expect(withoutTLS.canReach(plain))
        #expect(!withoutTLS.canReach(secure))
        let withTLS = UpstreamConnectionPools(tls: try UpstreamConnectionPool.tlsContext())
        #expect(withTLS.canReach(plain))
        #expect(withTLS.canReach(secure))
    }

    @Test("a name the certificate does not cover fails the exchange")
    func wrongName() async throws {
        // Listening on 127.0.0.2, presenting a certificate for localhost and 127.0.0.1 only.
        let server = try await ScriptedHTTPServer.start(host: "127.0.0.2", tls: Self.serverTLS()) { _ in .answer(status: 200, body: "{}", keepAlive: true) }
        let pool = UpstreamConnectionPool(eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                                          tls: try UpstreamConnectionPool.tlsContext(TestTLS.clientConfiguration()))
        guard case .failed(let failure) = await send(pool, host: "127.0.0.2", port: server.port) else {
            Issue.record("a certificate for another address was accepted")
            return
        }
        #expect(server.connections == 1, "the connection was made; the certificate was refused: \(failure)")
        #expect(server.requests == 0)
        pool.close()
        try await server.stop()
    }
}

@Suite("Provider origins")
struct ProviderOriginTests {
    @Test("http and https base URLs give host, port, scheme and Host header; anything else gives none")
    func parsing() {
        let local = ProviderOrigin(baseURL: "http://127.0.0.1:8080/v1")
        #expect(local?.host == "127.0.0.1")
        #expect(local?.port == 8080)
        #expect(local?.authority == "127.0.0.1:8080")
        let named = ProviderOrigin(baseURL: "HTTP://vllm.internal/v1")
        #expect(named?.host == "vllm.internal")
        #expect(named?.port == 80)
        let ipv6 = ProviderOrigin(baseURL: "http://[::1]:9000")
        #expect(ipv6?.host == "::1")
        #expect(ipv6?.port == 9000)
        #expect(ipv6?.serverHostname == nil)
        #expect(local?.usesTLS == false)
        #expect(local?.serverHostname == nil)
        let openAI = ProviderOrigin(baseURL: "https://api.openai.com/v1")
        #expect(openAI?.host == "api.openai.com")
        #expect(openAI?.port == 443)
        #expect(openAI?.usesTLS == true)
        #expect(openAI?.authority == "api.openai.com")
        #expect(openAI?.serverHostname == "api.openai.com")
        #expect(ProviderOrigin(baseURL: "HTTPS://llm.internal:8443")?.authority == "llm.internal:8443")
        // Four dot-separated numbers up to 255 are an address, not a name (no SNI).
        #expect(ProviderOrigin(baseURL: "https://10.0.0.7/v1")?.serverHostname == nil)
        #expect(ProviderOrigin(baseURL: "https://10.0.0.256/v1")?.serverHostname == "10.0.0.256")
        for url in ["http://", "https://", "http://:80/v1", "http://host:0/v1", "http://host:99999", "http://u:p@host/v1", "https://u@host/v1",
                    "http://host:abc/v1", "ftp://host", "api.openai.com/v1"] {
            #expect(ProviderOrigin(baseURL: url) == nil, "\(url)")
        }
    }

    @Test("the request target of a URL keeps its path and query")
    func requestTarget() {
        #expect(ProviderOrigin.requestTarget(of: "http://h:1/v1/chat/completions") == "/v1/chat/completions")
        #expect(ProviderOrigin.requestTarget(of: "http://h:1/openai/deployments/d/chat/completions?api-version=2024")
            == "/openai/deployments/d/chat/completions?api-version=2024")
        #expect(ProviderOrigin.requestTarget(of: "http://h:1") == "/")
        #expect(ProviderOrigin.requestTarget(of: "http://h:1?x=1") == "/?x=1")
        #expect(ProviderOrigin.requestTarget(of: "https://api.openai.com/v1/embeddings") == "/v1/embeddings")
    }
}
