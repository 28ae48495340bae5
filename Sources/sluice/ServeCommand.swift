import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceMockUpstream
import SluiceServer
import SluiceStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the gateway.")

    @Option(name: .long, help: "Configuration file (default: ./sluice.yaml).") var config: String?
    @Flag(name: .long, help: "Run offline with a built-in mock provider, a demo account and a demo key.") var demo = false
    @Option(name: .long, help: "HOST:PORT to listen on; overrides the configuration and SLUICE_SERVER_LISTEN.") var listen: String?

    func validate() throws {
        if let listen, ListenAddress(parsing: listen) == nil {
            throw ValidationError("--listen must be HOST:PORT, such as 127.0.0.1:8080, not \"\(listen)\"")
        }
        if demo, config != nil { throw ValidationError("--demo runs its own configuration; leave out --config") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "sluice")
        logger.logLevel = environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

        if demo {
            try await DemoRun(listen: listen, environment: environment, logger: logger).run()
            return
        }
        let path = config ?? (FileManager.default.fileExists(atPath: "sluice.yaml") ? "sluice.yaml" : nil)
        guard let path else {
            throw CommandError(message: "no configuration: pass --config FILE, create ./sluice.yaml (see docs/configuration.md), or try `sluice serve --demo`")
        }
        var config = try ConfigFile.load(path: path, environment: environment, checkingProviderKeys: true)
        if let listen { config.server.listen = ListenAddress(parsing: listen)! }
        let secrets = try config.providerSecrets(environment: environment)
        let ledger = try await Ledger.open(config.storage.ledger, logger: logger)
        try await ledger.closing {
            let listenAddress = config.server.listen
            let startLogger = logger
            let adminKey = environment[config.server.adminKeyEnv].flatMap { $0.isEmpty ? nil : Secret($0) }
            if adminKey == nil {
                logger.warning("admin API disabled: \(config.server.adminKeyEnv) is not set")
            }
            let options = ServerOptions(providerSecrets: secrets, adminKey: adminKey, onServerRunning: { port in
                startLogger.info("sluice listening", metadata: ["sluice.address": "http://\(listenAddress.host):\(port)"])
            })
            let (app, _) = try await buildApplication(config: config, ledger: ledger, options: options, logger: logger)
            try await ListenFailure.explained(listenAddress) { try await app.runService() }
        }
    }
}

/// `serve --demo`: the mock provider in-process, the demo configuration, a demo account and key.
struct DemoRun {
    let listen: String?
    let environment: [String: String]
    let logger: Logger

    func run() async throws {
        // Start the mock provider first: the demo configuration needs its port.
        var quietLogger = logger
        quietLogger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let mock = MockUpstream.makeApplication(options: MockUpstreamOptions(), host: "127.0.0.1", port: 0, logger: quietLogger) { port in
            portContinuation.yield(port)
        }
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: quietLogger))
        let mockTask = Task { try await mockGroup.run() }
        var ports = portStream.makeAsyncIterator()
        guard let mockPort = await ports.next() else { throw CommandError(message: "the demo's mock provider did not start") }

        let cwd = FileManager.default.currentDirectoryPath
        var config = DemoConfiguration.make(mockPort: mockPort, workingDirectory: cwd)
        let overrides = try ConfigFile.load(path: nil, environment: environment)
        config.server = overrides.server
        config.storage = overrides.storage
        if let listen { config.server.listen = ListenAddress(parsing: listen)! }

        // The mock provider stops with the gateway, however the gateway ends.
        let outcome: Result<Void, any Error>
        do {
            let ledger = try await Ledger.open(config.storage.ledger, logger: logger)
            try await ledger.closing { try await run(config: config, ledger: ledger, mockPort: mockPort) }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await mockGroup.triggerGracefulShutdown()
        _ = try? await mockTask.value
        try outcome.get()
    }

    /// The demo gateway on its ledger, until it stops.
    private func run(config: SluiceConfig, ledger: Ledger, mockPort: Int) async throws {
        let demoKey = try await ensureDemoAccountAndKey(ledger: ledger, config: config)
        let address = config.server.listen
        let ledgerDescription = config.storage.ledger.description
        // The demo always has an admin API: the operator's key if set, else one made for this run.
        var generator = SystemRandomNumberGenerator()
        let adminKeyVariable = config.server.adminKeyEnv
        let givenAdminKey = environment[adminKeyVariable].flatMap { $0.isEmpty ? nil : $0 }
        let adminKey = givenAdminKey ?? "sluice-admin-" + APIKeyFormat.randomBase62(count: 32, using: &generator)
        let adminKeyLine = givenAdminKey == nil
            ? "Admin key for this run (admin API, sluice --server): export \(adminKeyVariable)=\(adminKey)"
            : "Admin key: from \(adminKeyVariable)."
        let options = ServerOptions(adminKey: Secret(adminKey), onServerRunning: { port in
            let base = "http://\(address.host):\(port)"
            // Written unbuffered, so the key and URL show up at once even into a pipe.
            FileHandle.standardOutput.write(Data("""

            Sluice demo is running on \(base) (mock provider on 127.0.0.1:\(mockPort); ledger \(ledgerDescription)).
            Models: gpt-4o, gpt-4o-mini, text-embedding-3-small.
            \(demoKey)
            Try it:

              curl \(base)/v1/chat/completions \\
                -H "Authorization: Bearer $SLUICE_KEY" -H "Content-Type: application/json" \\
                -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}'

            \(adminKeyLine)
            Usage so far: sluice usage --by model.  Dashboard (\(base)/dashboard): not built yet, see README.
            Stop with Ctrl-C.


            """.utf8))
        })
        let (app, _) = try await buildApplication(config: config, ledger: ledger, options: options, logger: logger)
        try await ListenFailure.explained(address) { try await app.runService() }
    }

    /// Creates the demo account and key on first start; the text to print about the key.
    func ensureDemoAccountAndKey(ledger: Ledger, config: SluiceConfig) async throws -> String {
        let now = Ledger.nowMs()
        if try await ledger.account(named: DemoConfiguration.account) == nil {
            try await ledger.createAccount(name: DemoConfiguration.account, balance: DemoConfiguration.startingCredits, atMs: now)
        }
        let existing = try await ledger.keys(account: DemoConfiguration.account).first { $0.name == DemoConfiguration.keyName && $0.isUsable(atMs: now) }
        if let existing {
            return """
            Demo key: \(existing.displayPrefix)… (its full text was printed when it was created; Sluice keeps only a digest).
            Lost it? Make another: sluice keys create --account demo --env dev --preset demo
            """
        }
        let (key, _) = try await KeyIssuer(ledger: ledger, config: config).issue(
            account: DemoConfiguration.account, environment: .dev, preset: DemoConfiguration.preset, name: DemoConfiguration.keyName,
            expiresInSeconds: nil, nowMs: now)
        return """
        Demo key (shown only this once; Sluice keeps only a digest):

          export SLUICE_KEY=\(key)
        """
    }
}
