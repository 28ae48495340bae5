import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SluiceCore
import SluiceMockUpstream
import SluiceServer
import SluiceStore
import SluiceTestSupport

/// The real gateway and the mock provider, each listening on a real loopback port, with a
/// SQLite ledger in a temporary folder. Tests talk to it over HTTP like any client.
final class TestGateway: Sendable {
    let port: Int
    let mockPort: Int
    let ledger: Ledger
    let gateway: Gateway
    let folder: String
    let http: HTTPClient
    private let serverGroup: ServiceGroup
    private let serverTask: Task<Void, any Error>
    private let mockGroup: ServiceGroup
    private let mockTask: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The admin API's bearer key in every test gateway.
    static let adminKey = "test-admin-key"

    /// Starts everything; `configure` adjusts the configuration (built on the demo's) first.
    /// With `httpsProvider` the mock provider serves TLS (`TestTLS`'s certificate), the `mock`
    /// provider's `base_url` is `https://localhost:…/v1`, and the gateway trusts the tests'
    /// authority unless `trustProvider` is false (then only the system's trust roots).
    static func start(fastLane: Bool = true, httpsProvider: Bool = false, trustProvider: Bool = true,
                      configure: (inout SluiceConfig) -> Void = { _ in }) async throws -> TestGateway {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (mockPorts, mockContinuation) = AsyncStream.makeStream(of: Int.self)
        let mock: any Service
        if httpsProvider {
            mock = Application(router: MockUpstream.makeRouter(options: .init()), server: try .tls(.http1(), tlsConfiguration: TestTLS.serverConfiguration()),
                               configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                               onServerRunning: { mockContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        } else {
            mock = MockUpstream.makeApplication(options: .init(), host: "127.0.0.1", port: 0, logger: logger) { mockContinuation.yield($0) }
        }
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: logger))
        let mockTask = Task { try await mockGroup.run() }
        var mockIterator = mockPorts.makeAsyncIterator()
        let mockPort = await mockIterator.next()!

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config = DemoConfiguration.make(mockPort: mockPort, workingDirectory: folder)
        config.server.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.storage.flushIntervalMs = 50
        config.retry.attemptTimeoutSeconds = 5
        // Short backoffs keep retrying tests quick; tests about waiting set their own.
        config.retry.baseDelayMs = 20
        config.retry.maxDelayMs = 200
        // A preset with no limits, for tests about something else.
        config.presets["open"] = PresetConfig()
        if httpsProvider { config.providers["mock"]?.baseURL = "https://localhost:\(mockPort)/v1" }
        configure(&config)
        let ledger = try await Ledger.open(config.storage.ledger, logger: logger)

        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let options = ServerOptions(adminKey: Secret(TestGateway.adminKey), keyRefreshInterval: .milliseconds(100), onServerRunning: { continuation.yield($0) },
                                    fastLane: fastLane, providerTLS: httpsProvider && trustProvider ? try TestTLS.clientConfiguration() : nil)
        let (app, gateway) = try await buildApplication(config: config, ledger: ledger, options: options, logger: logger)
        let serverGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let serverTask = Task { try await serverGroup.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        return TestGateway(port: port, mockPort: mockPort, ledger: ledger, gateway: gateway, folder: folder,
                           serverGroup: serverGroup, serverTask: serverTask, mockGroup: mockGroup, mockTask: mockTask)
    }

    private init(port: Int, mockPort: Int, ledger: Ledger, gateway: Gateway, folder: String, serverGroup: ServiceGroup,
                 serverTask: Task<Void, any Error>, mockGroup: ServiceGroup, mockTask: Task<Void, any Error>) {
        self.port = port
        self.mockPort = mockPort
        self.ledger = ledger
        self.gateway = gateway
        self.folder = folder
        self.serverGroup = serverGroup
        self.serverTask = serverTask
        self.mockGroup = mockGroup
        self.mockTask = mockTask
        // "connect" also bounds how long a request waits in the client's queue for a free
        // connection: generous, so concurrent tests on a loaded machine wait rather than fail.
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(timeout: .init(connect: .seconds(60))))
    }

    /// Graceful stop of the gateway (drains, final flush), then the mock; removes the folder
    /// unless asked to keep it.
    func stop(keepFolder: Bool = false) async throws {
        await serverGroup.triggerGracefulShutdown()
        try await serverTask.value
        await mockGroup.triggerGracefulShutdown()
        try? await mockTask.value
        try await http.shutdown()
        await ledger.close()
        if !keepFolder { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// Creates an account (once) and a key for it.
    func makeKey(account: String = "acme", preset: String = "demo", expiresIn: Int? = nil) async throws -> (key: String, record: KeyRecord) {
        if try await ledger.account(named: account) == nil {
            try await ledger.createAccount(name: account, balance: NanoDollars(10 * NanoDollars.perDollar), atMs: Ledger.nowMs())
        }
        return try await KeyIssuer(ledger: ledger, config: gateway.config).issue(
            account: account, environment: .dev, preset: preset, name: nil, expiresInSeconds: expiresIn, nowMs: Ledger.nowMs())
    }

    /// Sends a request and collects the whole answer.
    func send(_ path: String, method: HTTPMethod = .POST, key: String?, body: String? = nil,
              headers: [(String, String)] = [], client: HTTPClient? = nil) async throws -> TestResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        // The deadline covers the wait for a connection too: generous for the concurrent tests.
        let response = try await (client ?? http).execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Starts a streamed chat completion and returns once its head has arrived; the caller reads
    /// (or drops, to disconnect) the body.
    func openStream(key: String, content: String, client: HTTPClient? = nil) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.body = .bytes(ByteBuffer(string: chatBody(content: content, stream: true)))
        return try await (client ?? http).execute(request, timeout: .seconds(30))
    }

    /// The usage row of `requestID`, waiting for the flusher to write it.
    func usageRow(_ requestID: String, timeout: Duration = .seconds(5)) async throws -> UsageRow? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let row = try await ledger.recentUsage(limit: 1000).first(where: { $0.requestID == requestID }) { return row }
            try await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }
}

/// A whole HTTP answer.
struct TestResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an OpenAI-shaped error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    var requestID: String? { headers.first(name: "x-request-id") }

    /// The `data:` payloads of an SSE body, in order.
    var events: [String] {
        body.components(separatedBy: "\n\n").compactMap { block in
            block.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        }
    }
}

/// Runs `body` against a fresh gateway and always stops it.
func withGateway(fastLane: Bool = true, httpsProvider: Bool = false, trustProvider: Bool = true, configure: (inout SluiceConfig) -> Void = { _ in },
                 _ body: (TestGateway) async throws -> Void) async throws {
    let gateway = try await TestGateway.start(fastLane: fastLane, httpsProvider: httpsProvider, trustProvider: trustProvider, configure: configure)
    do {
        try await body(gateway)
    } catch {
        try? await gateway.stop()
        throw error
    }
    try await gateway.stop()
}

/// Runs `body` with its own HTTP client of up to `connections` connections, shut down however
/// `body` ends (a client dropped without shutdown traps in AsyncHTTPClient's debug builds).
func withClient<T>(connections: Int = 64, _ body: (HTTPClient) async throws -> T) async throws -> T {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    // Thousands of requests queue for these connections; "connect" bounds that wait too.
    configuration.timeout = .init(connect: .seconds(60))
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// A chat request body.
func chatBody(model: String = "gpt-4o-mini", content: String = "hello there", stream: Bool = false, extra: String = "") -> String {
    "{\"model\":\"\(model)\",\"messages\":[{\"role\":\"user\",\"content\":\"\(content)\"}]\(stream ? ",\"stream\":true" : "")\(extra)}"
}
