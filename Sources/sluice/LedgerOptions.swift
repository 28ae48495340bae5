import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import SluiceCore
import SluiceServer
import SluiceStore

/// Options shared by the admin commands: the local ledger (through the configuration) or a
/// running server's admin API.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./sluice.yaml if present, else the demo configuration).")
    var config: String?

    @Option(name: .long, help: "Act through a running server's admin API instead, e.g. http://127.0.0.1:8080.")
    var server: String?

    @Option(name: .customLong("admin-key"), help: "Admin key for --server (default: $SLUICE_ADMIN_KEY).")
    var adminKey: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    /// The configuration: the file given, `./sluice.yaml`, or the demo's (whose ledger is `./sluice.db`).
    func loadConfig() throws -> SluiceConfig {
        let environment = ProcessInfo.processInfo.environment
        if let path = config ?? (FileManager.default.fileExists(atPath: "sluice.yaml") ? "sluice.yaml" : nil) {
            return try ConfigFile.load(path: path, environment: environment)
        }
        var demo = DemoConfiguration.make(mockPort: 0, workingDirectory: FileManager.default.currentDirectoryPath)
        let overridden = try ConfigFile.load(path: nil, environment: environment)
        if environment["SLUICE_STORAGE_LEDGER"] != nil { demo.storage.ledger = overridden.storage.ledger }
        return demo
    }

    func validate() throws {
        if server != nil, config != nil { throw ValidationError("give either --server or --config, not both") }
        if let server, !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
            throw ValidationError("--server must be a URL such as http://127.0.0.1:8080, not \"\(server)\"")
        }
        if server != nil, (adminKey ?? ProcessInfo.processInfo.environment["SLUICE_ADMIN_KEY"]) == nil {
            throw ValidationError("--server needs the admin key: pass --admin-key or set SLUICE_ADMIN_KEY")
        }
    }

    /// Runs `body` with the chosen backend, releasing it afterwards.
    func withBackend<T>(_ body: (any AdminBackend) async throws -> T) async throws -> T {
        if let server {
            var base = server
            while base.hasSuffix("/") { base.removeLast() }
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let key = adminKey ?? ProcessInfo.processInfo.environment["SLUICE_ADMIN_KEY"] ?? ""
            do {
                let result = try await body(RemoteAdmin(baseURL: base, adminKey: key, http: http))
                try await http.shutdown()
                return result
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
        return try await withLedger { ledger, config in
            try await body(LocalAdmin(operations: AdminOperations(ledger: ledger, config: config)))
        }
    }

    /// Runs `body` with the ledger open, closing it afterwards.
    func withLedger<T>(_ body: (Ledger, SluiceConfig) async throws -> T) async throws -> T {
        let config = try loadConfig()
        var logger = Logger(label: "sluice")
        logger.logLevel = .warning
        let ledger = try await Ledger.open(config.storage.ledger, logger: logger)
        return try await ledger.closing { try await body(ledger, config) }
    }
}

/// Prints `value` as pretty, key-sorted JSON on standard output.
func printJSON(_ value: Any) {
    let data = try! JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// A timestamp in milliseconds as `2026-11-23 15:04Z`.
func formatTime(_ ms: Int64?) -> String {
    guard let ms else { return "-" }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm'Z'"
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// Whole numbers in JSON objects arrive as Int, Int64 or NSNumber depending on their source.
protocol NSNumberConvertible { var int64Value: Int64 { get } }
extension Int: NSNumberConvertible { var int64Value: Int64 { Int64(self) } }
extension Int64: NSNumberConvertible { var int64Value: Int64 { self } }
extension NSNumber: NSNumberConvertible {}
