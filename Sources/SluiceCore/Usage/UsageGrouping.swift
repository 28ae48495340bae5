/// How a usage report groups rows: `key`, `model`, `account`, `env`, `user` or `property:NAME`.
public enum UsageGrouping: Sendable, Equatable, CustomStringConvertible {
    case key, model, account, environment, user
    case property(String)

    /// Parses the `--by` / `by=` value; nil when it is none of the forms above.
    public init?(parsing text: String) {
        switch text {
        case "key": self = .key
        case "model": self = .model
        case "account": self = .account
        case "env": self = .environment
        case "user": self = .user
        default:
            guard text.hasPrefix("property:"), text.count > "property:".count else { return nil }
            self = .property(String(text.dropFirst("property:".count)).lowercased())
        }
    }

    public var description: String {
        switch self {
        case .key: "key"
        case .model: "model"
        case .account: "account"
        case .environment: "env"
        case .user: "user"
        case .property(let name): "property:\(name)"
        }
    }

    public static let problem = "must be key, model, account, env, user or property:NAME"
}

/// One line of a usage report (SPEC §1 `usage --json`).
public struct UsageReportRow: Sendable, Equatable, Codable {
    /// The key id, model, account, env, user id or property value of the group.
    public var group: String
    /// Every request made with a valid key, refused ones included.
    public var requests: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: NanoDollars
    /// Non-2xx answers other than 429.
    public var errors: Int
    /// 429 answers.
    public var rateLimited: Int

    public init(group: String, requests: Int, inputTokens: Int, outputTokens: Int, cost: NanoDollars, errors: Int, rateLimited: Int) {
        self.group = group
        self.requests = requests
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.errors = errors
        self.rateLimited = rateLimited
    }
}
