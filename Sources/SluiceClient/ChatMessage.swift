/// One message of a chat, as OpenAI shapes it. `content` is optional because assistants may
/// answer with tool calls and no text; unknown fields (tool calls, refusals) are ignored.
public struct ChatMessage: Codable, Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, ….
    public var role: String
    /// The text, if any.
    public var content: String?

    /// Creates a message.
    public init(role: String, content: String?) {
        self.role = role
        self.content = content
    }
}
