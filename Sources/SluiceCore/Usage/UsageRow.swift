/// What one client request did and cost: one row of the ledger's usage table.
public struct UsageRow: Sendable, Equatable {
    public var requestID: String
    public var keyID: String
    public var account: String
    public var environment: String
    public var userID: String?
    /// `Helicone-Property-<name>` headers, names lower-cased.
    public var properties: [String: String]
    /// The endpoint path, e.g. `/v1/chat/completions`.
    public var endpoint: String
    public var requestedModel: String?
    public var servedModel: String?
    public var status: Int
    public var errorCode: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: NanoDollars
    public var latencyMs: Int
    /// Time to the first byte sent to the caller.
    public var timeToFirstByteMs: Int?
    public var attempts: Int
    public var streamed: Bool
    /// True when the tokens are Sluice's estimate because the provider reported no usage.
    public var estimated: Bool
    /// Milliseconds since 1970 (UTC) when the request arrived.
    public var createdAtMs: Int64

    public init(requestID: String, keyID: String, account: String, environment: String, userID: String? = nil,
                properties: [String: String] = [:], endpoint: String, requestedModel: String? = nil, servedModel: String? = nil,
                status: Int, errorCode: String? = nil, inputTokens: Int = 0, outputTokens: Int = 0, cost: NanoDollars = .zero,
                latencyMs: Int = 0, timeToFirstByteMs: Int? = nil, attempts: Int = 0, streamed: Bool = false,
                estimated: Bool = false, createdAtMs: Int64) {
        self.requestID = requestID
        self.keyID = keyID
        self.account = account
        self.environment = environment
        self.userID = userID
        self.properties = properties
        self.endpoint = endpoint
        self.requestedModel = requestedModel
        self.servedModel = servedModel
        self.status = status
        self.errorCode = errorCode
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.latencyMs = latencyMs
        self.timeToFirstByteMs = timeToFirstByteMs
        self.attempts = attempts
        self.streamed = streamed
        self.estimated = estimated
        self.createdAtMs = createdAtMs
    }
}
