import SluiceCore

/// What the gateway needs to know about one streamed chunk, read without re-encoding it.
public struct StreamChunkInspection: Sendable, Equatable {
    /// The chunk's `usage`, when it carries one.
    public var usage: TokenUsage?
    /// True for the extra chunk `stream_options.include_usage` adds: no choices, only usage.
    public var isUsageOnly: Bool
    /// UTF-8 bytes of generated text in the chunk, to estimate output tokens if no usage comes.
    public var textBytes: Int
}

/// Reads streamed OpenAI chunks (`chat.completion.chunk` and `text_completion`).
public enum StreamChunkInspector {
    /// Inspects the `data:` payload of one event; nil when it is not a JSON object.
    public static func inspect(_ data: [UInt8]) -> StreamChunkInspection? {
        guard let object = try? JSONObjectView(parsing: data) else { return nil }
        let usage = TokenUsage.from(object)
        let choices = (try? object.array("choices")) ?? nil
        var textBytes = 0
        for choice in choices ?? [] where choice.kind == .object {
            guard let choiceObject = try? JSONObjectView(bytes: data, objectAt: choice.range.lowerBound) else { continue }
            if let text = try? choiceObject.string("text") {
                textBytes += text.utf8.count
            }
            if let delta = try? choiceObject.object("delta"), let content = try? delta.string("content") {
                textBytes += content.utf8.count
            }
        }
        let isUsageOnly = usage != nil && (choices?.isEmpty ?? true)
        return StreamChunkInspection(usage: usage, isUsageOnly: isUsageOnly, textBytes: textBytes)
    }
}
