import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceServer

/// Where admin commands act: the local ledger, or a running server's admin API. Both answer
/// with the same JSON objects, so the commands print the same way either way.
protocol AdminBackend: Sendable {
    func createAccount(name: String, credits: NanoDollars?) async throws -> [String: Any]
    func accounts() async throws -> [[String: Any]]
    func addCredits(account: String, amount: NanoDollars) async throws -> [String: Any]
    func createKey(account: String, environment: KeyEnvironment, preset: String, name: String?, expires: String?) async throws -> [String: Any]
    func keys(account: String?) async throws -> [[String: Any]]
    func revokeKey(id: String) async throws
    func usage(by grouping: UsageGrouping, since: String) async throws -> [[String: Any]]
    func timeline(since: String) async throws -> [[String: Any]]
}

/// Admin commands against the ledger named by the configuration.
struct LocalAdmin: AdminBackend {
    let operations: AdminOperations

    func createAccount(name: String, credits: NanoDollars?) async throws -> [String: Any] {
        try await operations.createAccount(name: name, credits: credits)
    }
    func accounts() async throws -> [[String: Any]] { try await operations.accounts() }
    func addCredits(account: String, amount: NanoDollars) async throws -> [String: Any] {
        try await operations.addCredits(account: account, amount: amount)
    }
    func createKey(account: String, environment: KeyEnvironment, preset: String, name: String?, expires: String?) async throws -> [String: Any] {
        try await operations.createKey(account: account, environment: environment, preset: preset, name: name,
                                       expiresInSeconds: expires.flatMap(DurationText.seconds))
    }
    func keys(account: String?) async throws -> [[String: Any]] { try await operations.keys(account: account) }
    func revokeKey(id: String) async throws { _ = try await operations.revokeKey(id: id) }
    func usage(by grouping: UsageGrouping, since: String) async throws -> [[String: Any]] {
        try await operations.usage(by: grouping, sinceSeconds: DurationText.seconds(since) ?? 86_400)
    }
    func timeline(since: String) async throws -> [[String: Any]] {
        try await operations.usageTimeline(sinceSeconds: DurationText.seconds(since) ?? 3600)
    }
}

/// Admin commands through a running server's admin API.
struct RemoteAdmin: AdminBackend {
    let baseURL: String
    let adminKey: String
    let http: HTTPClient

    func createAccount(name: String, credits: NanoDollars?) async throws -> [String: Any] {
        var body: [String: Any] = ["name": name]
        if let credits { body["credits_usd"] = credits.dollars } else { body["unlimited"] = true }
        return try await call(.POST, "/admin/accounts", body: body) as? [String: Any] ?? [:]
    }
    func accounts() async throws -> [[String: Any]] { try await call(.GET, "/admin/accounts") as? [[String: Any]] ?? [] }
    func addCredits(account: String, amount: NanoDollars) async throws -> [String: Any] {
        try await call(.POST, "/admin/accounts/\(escape(account))/credits", body: ["usd": amount.dollars]) as? [String: Any] ?? [:]
    }
    func createKey(account: String, environment: KeyEnvironment, preset: String, name: String?, expires: String?) async throws -> [String: Any] {
        var body: [String: Any] = ["account": account, "env": environment.rawValue, "preset": preset]
        if let name { body["name"] = name }
        if let expires { body["expires_in"] = expires }
        return try await call(.POST, "/admin/keys", body: body) as? [String: Any] ?? [:]
    }
    func keys(account: String?) async throws -> [[String: Any]] {
        try await call(.GET, "/admin/keys" + (account.map { "?account=\(escape($0))" } ?? "")) as? [[String: Any]] ?? []
    }
    func revokeKey(id: String) async throws { _ = try await call(.DELETE, "/admin/keys/\(escape(id))") }
    func usage(by grouping: UsageGrouping, since: String) async throws -> [[String: Any]] {
        try await call(.GET, "/admin/usage?by=\(escape(grouping.description))&since=\(escape(since))") as? [[String: Any]] ?? []
    }
    func timeline(since: String) async throws -> [[String: Any]] {
        try await call(.GET, "/admin/usage/timeline?since=\(escape(since))") as? [[String: Any]] ?? []
    }

    private func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "/&=?+"))) ?? text
    }

    private func call(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> Any? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(30))
        } catch {
            throw CommandError(message: "cannot reach \(baseURL): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let json = bytes.readableBytes == 0 ? nil : try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))
        guard (200..<300).contains(response.status.code) else {
            let message = ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(response.status.code)"
            throw CommandError(message: message)
        }
        return json
    }
}

/// A command that cannot go on, printed as its message (without the usage text that
/// ArgumentParser adds to validation errors).
struct CommandError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
