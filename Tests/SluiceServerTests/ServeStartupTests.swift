import Foundation
import NIOCore
import NIOPosix
import Testing

/// `sluice serve` as an operator starts it, as a real process: a start that cannot succeed ends
/// with a message saying why and a non-zero status, never a crash.
@Suite("Starting the server")
struct ServeStartupTests {
    /// Runs the built `sluice` with `arguments` in a fresh folder; its status and output.
    static func run(_ arguments: [String], files: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-start-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, text) in files { try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8) }
        let logPath = folder + "/out.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceProcess.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_") }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try log.close()
        return (process.terminationStatus, try String(contentsOfFile: logPath, encoding: .utf8))
    }

    @Test("a port already in use: exits 1 naming the address and the reason, with no crash", arguments: [true, false])
    func portInUse(demo: Bool) async throws {
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(taken.localAddress?.port)
        let config = """
            server:
              listen: 127.0.0.1:\(port)
            providers:
              mock: {kind: openai, base_url: "http://127.0.0.1:9/v1"}
            models:
              gpt-4o-mini:
                deployments: [{provider: mock}]
                price: {input_per_mtok: 0.15, output_per_mtok: 0.60}
            presets:
              dev: {models: [gpt-4o-mini]}
            """
        let arguments = demo ? ["serve", "--demo", "--listen", "127.0.0.1:\(port)"] : ["serve", "--config", "sluice.yaml"]
        let (status, output) = try await Self.run(arguments, files: ["sluice.yaml": config])
        try await taken.close()
        #expect(status == 1, "\(output)")
        #expect(output.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"), "\(output)")
        #expect(!output.contains("crashed") && !output.contains("Assertion failed"), "\(output)")
    }

    @Test("a configuration refused after the ledger opened (an anthropic provider) exits 1 saying why, with no crash")
    func refusedAfterLedgerOpened() async throws {
        let config = """
            server:
              listen: 127.0.0.1:0
            providers:
              claude: {kind: anthropic, base_url: "http://127.0.0.1:9/v1"}
            models:
              claude-3:
                deployments: [{provider: claude}]
                price: {input_per_mtok: 3, output_per_mtok: 15}
            presets:
              dev: {models: [claude-3]}
            """
        let (status, output) = try await Self.run(["serve", "--config", "sluice.yaml"], files: ["sluice.yaml": config])
        #expect(status == 1, "\(output)")
        #expect(output.contains("providers.claude.kind: anthropic providers are not available in this version"), "\(output)")
        #expect(!output.contains("crashed") && !output.contains("Assertion failed"), "\(output)")
    }
}
