import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SluiceClient
import SluiceCore
import SluiceMockUpstream
import SluiceServer
import SluiceStore

/// A real gateway and the mock provider on loopback ports with a SQLite ledger in a temporary
/// folder, the client's counterpart of SluiceServerTests' TestGateway: the client is tested
/// against what it will really talk to.
final class ClientTestGateway: Sendable {
    let port: Int
    let ledger: Ledger
    let gateway: Gateway
    let folder: String
    private let serverGroup: ServiceGroup
    private let serverTask: Task<Void, any Error>
    private let mockGroup: ServiceGroup
    private let mockTask: Task<Void, any Error>

    /// The API root a client is given.
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Starts both; `configure` adjusts the demo configuration first.
    static func start(configure: (inout SluiceConfig) -> Void) async throws -> ClientTestGateway {
        var logger = Logger(label: "client-test")
        logger.logLevel = .critical
        let (mockPorts, mockContinuation) = AsyncStream.makeStream(of: Int.self)
        let mock = MockUpstream.makeApplication(options: .init(), host: "127.0.0.1", port: 0, logger: logger) { mockContinuation.yield($0) }
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: logger))
        let mockTask = Task { try await mockGroup.run() }
        var mockIterator = mockPorts.makeAsyncIterator()
        let mockPort = await mockIterator.next()!

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-client-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config = DemoConfiguration.make(mockPort: mockPort, workingDirectory: folder)
        config.server.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.storage.flushIntervalMs = 50
        config.retry.attemptTimeoutSeconds = 5
        config.retry.baseDelayMs = 20
        config.retry.maxDelayMs = 200
        config.presets["open"] = PresetConfig()
        configure(&config)
        let ledger = try await Ledger.open(config.storage.ledger, logger: logger)

        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let options = ServerOptions(adminKey: Secret("client-test-admin-key"), keyRefreshInterval: .milliseconds(100),
                                    onServerRunning: { continuation.yield($0) })
        let (app, gateway) = try await buildApplication(config: config, ledger: ledger, options: options, logger: logger)
        let serverGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let serverTask = Task { try await serverGroup.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        return ClientTestGateway(port: port, ledger: ledger, gateway: gateway, folder: folder, serverGroup: serverGroup,
                                 serverTask: serverTask, mockGroup: mockGroup, mockTask: mockTask)
    }

    private init(port: Int, ledger: Ledger, gateway: Gateway, folder: String, serverGroup: ServiceGroup,
                 serverTask: Task<Void, any Error>, mockGroup: ServiceGroup, mockTask: Task<Void, any Error>) {
        self.port = port
        self.ledger = ledger
        self.gateway = gateway
        self.folder = folder
        self.serverGroup = serverGroup
        self.serverTask = serverTask
        self.mockGroup = mockGroup
        self.mockTask = mockTask
    }

    func stop() async throws {
        await serverGroup.triggerGracefulShutdown()
        try await serverTask.value
        await mockGroup.triggerGracefulShutdown()
        try? await mockTask.value
        await ledger.close()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// An account (once) and a key of `preset` for it.
    func makeKey(preset: String) async throws -> String {
        if try await ledger.account(named: "acme") == nil {
            try await ledger.createAccount(name: "acme", balance: NanoDollars(10 * NanoDollars.perDollar), atMs: Ledger.nowMs())
        }
        return try await KeyIssuer(ledger: ledger, config: gateway.config).issue(
            account: "acme", environment: .dev, preset: preset, name: nil, expiresInSeconds: nil, nowMs: Ledger.nowMs()).key
    }
}

/// Runs `body` with a fresh gateway whose `limited` preset is `preset`, a key of that preset and a
/// client built from `configuration`; stops everything however `body` ends.
func withClient(
    preset: PresetConfig = PresetConfig(),
    configuration: SluiceClientConfiguration = .init(),
    configure: (inout SluiceConfig) -> Void = { _ in },
    _ body: (SluiceClient, ClientTestGateway) async throws -> Void
) async throws {
    let gateway = try await ClientTestGateway.start { config in
        config.presets["limited"] = preset
        configure(&config)
    }
    do {
        let key = try await gateway.makeKey(preset: "limited")
        let client = SluiceClient(baseURL: gateway.baseURL, apiKey: key, configuration: configuration)
        do {
            try await body(client, gateway)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    } catch {
        try? await gateway.stop()
        throw error
    }
    try await gateway.stop()
}

/// A sleeper that records what it was asked to wait and returns at once, so that tests can
/// check a minute-long Retry-After was honoured without spending the minute.
final class RecordingSleeper: Sendable {
    private let box = NIOLockedValueBox<[Duration]>([])
    var waits: [Duration] { box.withLockedValue { $0 } }
    var sleep: @Sendable (Duration) async throws -> Void {
        { [box] wait in box.withLockedValue { $0.append(wait) } }
    }
}

/// A one-message user chat request.
func chatRequest(_ content: String = "hello there", model: String = "gpt-4o-mini") -> ChatCompletionRequest {
    ChatCompletionRequest(model: model, messages: [ChatMessage(role: "user", content: content)])
}
