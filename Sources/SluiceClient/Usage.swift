/// Token counts of an answer. Only `prompt_tokens` is always present: embeddings have no
/// completion tokens, and some servers leave out the total.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int?
    public var totalTokens: Int?

    /// Creates the counts.
    public init(promptTokens: Int, completionTokens: Int? = nil, totalTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}
