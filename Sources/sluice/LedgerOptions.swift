import ArgumentParser
import Foundation
import Logging
import SluiceCore
import SluiceServer
import SluiceStore

/// Options shared by the admin commands: which configuration (and so which ledger) to use.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./sluice.yaml if present, else the demo configuration).")
    var config: String?

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

    /// Runs `body` with the ledger open, closing it afterwards.
    func withLedger<T>(_ body: (Ledger, SluiceConfig) async throws -> T) async throws -> T {
        let config = try loadConfig()
        var logger = Logger(label: "sluice")
        logger.logLevel = .warning
        let ledger = try await Ledger.open(config.storage.ledger, logger: logger)
        do {
            let result = try await body(ledger, config)
            await ledger.close()
            return result
        } catch {
            await ledger.close()
            throw error
        }
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
