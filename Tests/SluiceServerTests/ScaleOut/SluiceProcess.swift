import Foundation

/// A real `sluice serve` process, started from the binary the test build produced, with a config
/// file of its own. Scale-out tests run several of them against one Redis and one PostgreSQL, as
/// a user would behind a load balancer. (`Process` is not marked Sendable; the members used here,
/// `isRunning`, `terminate` and the pid, are safe from any thread.)
final class SluiceProcess: @unchecked Sendable {
    let port: Int
    let name: String
    let logPath: String
    private let process: Process

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The binary: `SLUICE_BIN` when set (scripts/test sets it), else the debug build next to the
    /// test bundle's package.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"], !path.isEmpty { return path }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/sluice").path
    }

    /// Starts `sluice serve --config CONFIG` listening on a free port and returns once it has said
    /// where it listens; the process's output goes to `NAME.log` in `folder`.
    static func start(name: String, config: String, folder: String, environment: [String: String] = [:],
                      timeout: Duration = .seconds(30)) async throws -> SluiceProcess {
        let configPath = folder + "/\(name).yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let logPath = folder + "/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", configPath, "--listen", "127.0.0.1:0"]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_SERVER_") && !$0.key.hasPrefix("SLUICE_STORAGE_") }
        env["SLUICE_ADMIN_KEY"] = TestGateway.adminKey
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: "sluice.address=http://127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return SluiceProcess(port: port, name: name, logPath: logPath, process: process) }
            }
            if !process.isRunning {
                throw SluiceProcessError(message: "sluice \(name) exited with status \(process.terminationStatus) before listening:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw SluiceProcessError(message: "sluice \(name) did not start listening within \(timeout):\n\((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    private init(port: Int, name: String, logPath: String, process: Process) {
        self.port = port
        self.name = name
        self.logPath = logPath
        self.process = process
    }

    /// SIGTERM, which drains and flushes, then waits for the exit.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// What the process has logged so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

struct SluiceProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
