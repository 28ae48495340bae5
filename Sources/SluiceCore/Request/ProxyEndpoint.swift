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

    /// Whether the endpoint can stream its answer.
    public var canStream: Bool { self != .embeddings }
}
