/// The answer of a non-streamed chat completion. Fields a server may leave out are optional, and
/// unknown ones (`system_fingerprint`, `logprobs`, …) are ignored, so that other
/// OpenAI-compatible servers decode too.
public struct ChatCompletion: Codable, Sendable, Equatable {
    /// One alternative of the answer.
    public struct Choice: Codable, Sendable, Equatable {
        public var index: Int?
        public var message: ChatMessage
        /// `stop`, `length`, `tool_calls`, ….
        public var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    public var id: String
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
}
