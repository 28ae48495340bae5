import Foundation
import SluiceCore
import SluiceStore

/// What administrators can do, with the JSON objects of SPEC §1/§8 as results. The admin API
/// and the CLI (against a local ledger) both call this, so both print the same objects.
public struct AdminOperations: Sendable {
    public let ledger: Ledger
    public let config: SluiceConfig
    let nowMs: @Sendable () -> Int64

    public init(ledger: Ledger, config: SluiceConfig, nowMs: @escaping @Sendable () -> Int64 = { Ledger.nowMs() }) {
        self.ledger = ledger
        self.config = config
        self.nowMs = nowMs
    }

    /// `{"name", "balance_usd"}` of the new account; `credits` nil means unlimited.
    public func createAccount(name: String, credits: NanoDollars?) async throws(GatewayError) -> [String: Any] {
        AccountView.json(try await run { try await ledger.createAccount(name: name, balance: credits, atMs: nowMs()) })
    }

    public func accounts() async throws(GatewayError) -> [[String: Any]] {
        try await run { try await ledger.accounts() }.map(AccountView.json)
    }

    public func addCredits(account: String, amount: NanoDollars) async throws(GatewayError) -> [String: Any] {
        AccountView.json(try await run(notFoundStatus: 404) { try await ledger.addCredits(account: account, amount: amount, atMs: nowMs()) })
    }

    /// `{"id", "key", "account", "env", "preset"}`: the only time the key text is shown.
    public func createKey(account: String, environment: KeyEnvironment, preset: String, name: String?,
                          expiresInSeconds: Int?) async throws(GatewayError) -> [String: Any] {
        let (key, record) = try await run {
            try await KeyIssuer(ledger: ledger, config: config).issue(account: account, environment: environment, preset: preset, name: name,
                                                                     expiresInSeconds: expiresInSeconds, nowMs: nowMs())
        }
        return KeyView.created(key: key, record: record)
    }

    public func keys(account: String?) async throws(GatewayError) -> [[String: Any]] {
        let now = nowMs()
        return try await run { try await ledger.keys(account: account) }.map { KeyView.listed($0, nowMs: now) }
    }

    public func revokeKey(id: String) async throws(GatewayError) -> [String: Any] {
        KeyView.listed(try await run(notFoundStatus: 404) { try await ledger.revokeKey(id: id, atMs: nowMs()) }, nowMs: nowMs())
    }

    public func usage(by grouping: UsageGrouping, sinceSeconds: Int) async throws(GatewayError) -> [[String: Any]] {
        let since = nowMs() - Int64(sinceSeconds) * 1000
        return try await run { try await ledger.usageReport(by: grouping, sinceMs: since) }.map(UsageView.json)
    }

    /// Per-minute request volume: `[{"minute_ms", "requests", "errors", "rate_limited", "tokens", "cost_usd"}]`.
    public func usageTimeline(sinceSeconds: Int) async throws(GatewayError) -> [[String: Any]] {
        let since = nowMs() - Int64(sinceSeconds) * 1000
        return try await run { try await ledger.usageTimeline(sinceMs: since) }.map { point in
            ["minute_ms": point.startMs, "requests": point.requests, "errors": point.errors, "rate_limited": point.rateLimited,
             "tokens": point.tokens, "cost_usd": point.cost.dollars]
        }
    }

    public func recentRequests(limit: Int) async throws(GatewayError) -> [[String: Any]] {
        try await run { try await ledger.recentUsage(limit: limit) }.map(UsageView.json)
    }

    /// Runs a ledger call, turning its errors into admin API errors: an unknown account or
    /// preset named in a body is the caller's mistake (400), an unknown id in a path is 404.
    private func run<T: Sendable>(notFoundStatus: Int = 400, _ body: () async throws -> T) async throws(GatewayError) -> T {
        do {
            return try await body()
        } catch let error as LedgerError {
            switch error {
            case .notFound(let message): throw GatewayError(status: notFoundStatus, code: notFoundStatus == 404 ? .notFound : .invalidRequest, message: message)
            case .conflict(let message): throw GatewayError(status: 409, code: .conflict, message: message)
            case .invalid(let message): throw GatewayError(status: 400, code: .invalidRequest, message: message)
            case .unavailable(let message): throw GatewayError(status: 503, code: .internalError, message: message)
            }
        } catch {
            throw GatewayError(status: 500, code: .internalError, message: "ledger error: \(error)")
        }
    }
}
