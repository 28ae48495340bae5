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

    /// The usage in a whole JSON answer body; nil when it has none. For a valid JSON answer it is
    /// what `from(_:)` reads from a view of it, without building one, and only its `usage`
    /// member is looked into (views of the answer and of its usage were most of the work of
    /// settling a call). A top-level `usage` followed only by other members, as providers send
    /// it, is found from the end (`JSONObjectView.trailingMember`) without reading the `choices`
    /// before it: so an answer broken before such a `usage` still has that usage read, and
    /// billed (it is relayed as the provider sent it either way). Otherwise the answer is
    /// validated whole, and one that is not valid JSON has no usage.
    public static func from(body: [UInt8]) -> TokenUsage? {
        // Found from the end when it is there, as answers put it; else the answer is read whole.
        var usage = JSONObjectView.trailingMember(body, named: "usage")
        if usage == nil {
            do {
                let end = try JSONObjectView.forEachMember(body, objectAt: try JSONObjectView.documentObjectStart(body)) { member in
                    if JSONObjectView.hasKey(member, "usage", in: body) { usage = member }  // the last, as a view reads it
                }
                try JSONObjectView.expectDocumentEnd(body, objectEnd: end)
            } catch {
                return nil
            }
        }
        guard let usage, usage.kind == .object else { return nil }
        var prompt: Int?
        var completion: Int?
        _ = try? JSONObjectView.forEachMember(body, objectAt: usage.valueRange.lowerBound) { member in
            if JSONObjectView.hasKey(member, "prompt_tokens", in: body) {
                prompt = member.kind == .number ? JSONObjectView.integer(body[member.valueRange]) : nil
            } else if JSONObjectView.hasKey(member, "completion_tokens", in: body) {
                completion = member.kind == .number ? JSONObjectView.integer(body[member.valueRange]) : nil
            }
        }
        guard prompt != nil || completion != nil else { return nil }
        return TokenUsage(inputTokens: max(0, prompt ?? 0), outputTokens: max(0, completion ?? 0))
    }
}
