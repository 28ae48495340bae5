/// The OpenAI endpoints Sluice proxies, by their path under `/v1`.
public enum ProxyEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/chat/completions"
    case completions = "/completions"
    case embeddings = "/embeddings"

    /// The body member that holds the prompt, which the endpoint requires.
    var promptMember: String {
        switch self {
        case .chatCompletions: "messages"
        case .completions: "prompt"
        case .embeddings: "input"
        }
    }

    /// The path callers send it to. Literals, not `"/v1" + rawValue`: it goes into every usage
    /// row and log line, and a literal costs no allocation.
    public var path: String {
        switch self {
        case .chatCompletions: "/v1/chat/completions"
        case .completions: "/v1/completions"
        case .embeddings: "/v1/embeddings"
        }
    }

    /// Whether the endpoint can stream its answer.
    public var canStream: Bool { self != .embeddings }
}
