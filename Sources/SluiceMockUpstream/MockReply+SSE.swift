/// The SSE events of a streamed reply, each framed as `data: {json}\n\n`.
///
/// When the client asked for `stream_options.include_usage`, every chunk but the usage chunk
/// carries `"usage":null`, as OpenAI's do.
extension MockReply {
    /// The event that ends every stream.
    static let done = "data: [DONE]\n\n"

    /// Chat only: the first chunk, `delta: {"role":"assistant","content":""}`.
    func roleEvent(usageNull: Bool) -> String {
        chunkEvent(delta: #"{"role":"assistant","content":""}"#, text: "", finishReason: nil, usageNull: usageNull)
    }

    /// The chunk carrying word `index`, followed by a space unless it is the last word.
    func contentEvent(index: Int, usageNull: Bool) -> String {
        let piece = index == words.count - 1 ? words[index] : words[index] + " "
        let quoted = MockJSON.quote(piece)
        return chunkEvent(delta: #"{"content":\#(quoted)}"#, text: quoted, finishReason: nil, usageNull: usageNull)
    }

    /// The chunk with an empty delta (chat) or empty text (completion) and the finish reason.
    func finishEvent(usageNull: Bool) -> String {
        chunkEvent(delta: "{}", text: #""""#, finishReason: finishReason, usageNull: usageNull)
    }

    /// The chunk with `"choices":[]` and the `usage` object.
    func usageEvent() -> String {
        let usage = MockJSON.usage(prompt: promptTokens, completion: completionTokens)
        return "data: {\(header(object: chunkObject)),\"choices\":[],\"usage\":\(usage)}\n\n"
    }

    private var chunkObject: String { kind == .chat ? "chat.completion.chunk" : "text_completion" }

    /// - Parameters:
    ///   - delta: the chat `delta` object.
    ///   - text: the completion `text`, already a JSON literal.
    private func chunkEvent(delta: String, text: String, finishReason: String?, usageNull: Bool) -> String {
        let finish = finishReason.map { "\"\($0)\"" } ?? "null"
        let choice: String
        switch kind {
        case .chat:
            choice = #"{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}"#
        case .completion:
            choice = #"{"text":\#(text),"index":0,"logprobs":null,"finish_reason":\#(finish)}"#
        }
        let usage = usageNull ? #","usage":null"# : ""
        return "data: {\(header(object: chunkObject)),\"choices\":[\(choice)]\(usage)}\n\n"
    }
}
