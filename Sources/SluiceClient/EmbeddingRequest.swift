/// `POST /embeddings`. The input is always sent as an array of texts, which every
/// OpenAI-compatible server accepts.
public struct EmbeddingRequest: Codable, Sendable, Equatable {
    public var model: String
    public var input: [String]
    public var user: String?

    /// Creates a request.
    public init(model: String, input: [String], user: String? = nil) {
        self.model = model
        self.input = input
        self.user = user
    }
}
