/// `POST /chat/completions`: the fields the client sends. Nil fields are left out of the JSON, so
/// the server's defaults apply.
public struct ChatCompletionRequest: Codable, Sendable, Equatable {
    /// Asks a streamed answer to end with a usage chunk.
    public struct StreamOptions: Codable, Sendable, Equatable {
        /// Whether the last chunk before `[DONE]` carries the usage.
        public var includeUsage: Bool

        /// Creates the options.
        public init(includeUsage: Bool) { self.includeUsage = includeUsage }

        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public var model: String
    public var messages: [ChatMessage]
    public var maxTokens: Int?
    public var temperature: Double?
    /// The end user, for the server's per-user limits and reports.
    public var user: String?
    /// Set by ``SluiceClient/chatStream(_:)``; ``SluiceClient/chat(_:)`` always sends `false`.
    public var stream: Bool?
    public var streamOptions: StreamOptions?

    /// Creates a request.
    public init(model: String, messages: [ChatMessage], maxTokens: Int? = nil, temperature: Double? = nil,
                user: String? = nil, stream: Bool? = nil, streamOptions: StreamOptions? = nil) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.user = user
        self.stream = stream
        self.streamOptions = streamOptions
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, user, stream
        case maxTokens = "max_tokens"
        case streamOptions = "stream_options"
    }
}
