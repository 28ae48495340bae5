import SluiceCore

/// A usage row being filled in as a request goes through the gateway.
struct UsageDraft: Sendable {
    var row: UsageRow
    let startedAt: ContinuousClock.Instant

    init(requestID: String, caller: Gateway.Caller, endpoint: ProxyEndpoint, nowMs: Int64) {
        row = UsageRow(requestID: requestID, keyID: caller.key.id, account: caller.key.account,
                       environment: caller.key.environment.rawValue, endpoint: endpoint.path,
                       status: 0, createdAtMs: nowMs)
        startedAt = .now
    }

    var elapsedMs: Int { Int((ContinuousClock.now - startedAt).milliseconds) }

    /// Marks the request refused or failed with `error`.
    mutating func fail(_ error: GatewayError) {
        row.status = error.status
        row.errorCode = error.code
        row.latencyMs = elapsedMs
    }

    /// Marks the first byte sent to the caller.
    mutating func markFirstByte() {
        if row.timeToFirstByteMs == nil { row.timeToFirstByteMs = elapsedMs }
    }

    /// Records tokens and their cost at `price`.
    mutating func settle(input: Int, output: Int, price: Price, estimated: Bool) {
        row.inputTokens = input
        row.outputTokens = output
        row.cost = price.cost(inputTokens: input, outputTokens: output)
        row.estimated = estimated
    }
}
