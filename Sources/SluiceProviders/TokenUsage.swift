import SluiceCore

/// Tokens a provider reports for a call.
public struct TokenUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int

    public init(inputTokens: Int, outputTokens: Int) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    /// The `usage` object of an OpenAI-shaped answer or chunk (`prompt_tokens`,
    /// `completion_tokens`); nil when there is none.
    public static func from(_ object: JSONObjectView) -> TokenUsage? {
        guard let usage = try? object.object("usage") else { return nil }
        let prompt = (try? usage.integer("prompt_tokens")) ?? nil
        let completion = (try? usage.integer("completion_tokens")) ?? nil
        guard prompt != nil || completion != nil else { return nil }
        return TokenUsage(inputTokens: max(0, prompt ?? 0), outputTokens: max(0, completion ?? 0))
    }

    /// The usage in a whole JSON answer body; nil when it is not JSON or has no usage.
    public static func from(body: [UInt8]) -> TokenUsage? {
        guard let object = try? JSONObjectView(parsing: body) else { return nil }
        return from(object)
    }
}
