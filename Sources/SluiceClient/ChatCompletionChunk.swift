/// One `data:` event of a streamed chat completion: a piece of the answer in `delta`, or (with
/// `stream_options.include_usage`) the final usage with no choices.
public struct ChatCompletionChunk: Codable, Sendable, Equatable {
    /// The new part of the message.
    public struct Delta: Codable, Sendable, Equatable {
        public var role: String?
        public var content: String?
    }

    /// One alternative's piece.
    public struct Choice: Codable, Sendable, Equatable {
        public var index: Int?
        public var delta: Delta
        public var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    public var id: String?
    public var model: String?
    public var choices: [Choice]
    public var usage: Usage?
}
