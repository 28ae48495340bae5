import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import SluiceServer

/// `sluice limits`: the running server's live counters (they live in its memory or in Redis).
struct LimitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits", abstract: "Show how close keys, users and properties are to their limits (asks the running server).")

    @Option(name: .long, help: "Only this key's counters.") var key: String?
    @OptionGroup var options: LedgerOptions

    func run() async throws {
        let (base, adminKey) = try target()
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        var request = HTTPClientRequest(url: base + "/admin/limits" + (key.map { "?key=\($0)" } ?? ""))
        request.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        let rows: [[String: Any]]
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
            guard response.status.code == 200, let list = json as? [[String: Any]] else {
                let message = ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(response.status.code)"
                try? await http.shutdown()
                throw CommandError(message: message)
            }
            rows = list
        } catch let error as CommandError {
            throw error
        } catch {
            try? await http.shutdown()
            throw CommandError(message: "cannot reach the server at \(base): \(error)")
        }
        try? await http.shutdown()
        if options.json {
            printJSON(rows)
            return
        }
        var table = TextTable("KEY", "LIMIT", "SEGMENT", "USED", "QUOTA", "REMAINING", "RESET")
        for row in rows {
            func number(_ name: String) -> String { (row[name] as? any NSNumberConvertible).map { String($0.int64Value) } ?? "-" }
            table.add(row["key_id"] as? String ?? "", row["limit"] as? String ?? "", row["segment"] as? String ?? "-",
                      number("used"), number("quota"), number("remaining"), (row["reset_s"] as? any NSNumberConvertible).map { "\($0.int64Value)s" } ?? "-")
        }
        print(rows.isEmpty ? "No live counters." : table.render())
    }

    /// The server's URL and admin key: `--server`/`--admin-key`, else `server.listen` and the
    /// variable named by `server.admin_key_env` from the configuration.
    func target() throws -> (String, String) {
        let environment = ProcessInfo.processInfo.environment
        if let server = options.server {
            return (server, options.adminKey ?? environment["SLUICE_ADMIN_KEY"] ?? "")
        }
        let config = try options.loadConfig()
        let listen = config.server.listen
        let host = listen.host == "0.0.0.0" || listen.host == "::" ? "127.0.0.1" : listen.host
        guard let adminKey = options.adminKey ?? environment[config.server.adminKeyEnv] else {
            throw CommandError(message: "no admin key: set \(config.server.adminKeyEnv) (the server's admin key) or pass --admin-key")
        }
        return ("http://\(ListenAddress(host: host, port: listen.port))", adminKey)
    }
}
