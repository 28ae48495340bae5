/// One chat or text completion of the mock, rendered whole or as SSE chunks.
struct MockReply: Sendable {
    /// Which OpenAI object family the reply belongs to.
    enum Kind: Sendable {
        /// `chat.completion` / `chat.completion.chunk` with `message` / `delta`.
        case chat
        /// `text_completion` with `text`, also for stream chunks.
        case completion
    }

    var kind: Kind
    /// `chatcmpl-mock-N` or `cmpl-mock-N`.
    var id: String
    /// Unix seconds.
    var created: Int
    var model: String
    /// The reply, one word per completion token.
    var words: [String]
    /// `"stop"` or `"length"`.
    var finishReason: String
    var promptTokens: Int

    init(kind: Kind, number: Int, created: Int, model: String, words: [String], finishReason: String, promptTokens: Int) {
        self.kind = kind
        self.id = (kind == .chat ? "chatcmpl-mock-" : "cmpl-mock-") + String(number)
        self.created = created
        self.model = model
        self.words = words
        self.finishReason = finishReason
        self.promptTokens = promptTokens
    }

    var completionTokens: Int { words.count }

    /// The whole reply text: the words joined by single spaces.
    var text: String { words.joined(separator: " ") }

    /// The non-streamed answer body.
    func body() -> String {
        let usage = MockJSON.usage(prompt: promptTokens, completion: completionTokens)
        let choice: String
        switch kind {
        case .chat:
            choice = #"{"index":0,"message":{"role":"assistant","content":\#(MockJSON.quote(text))},"logprobs":null,"finish_reason":"\#(finishReason)"}"#
        case .completion:
            choice = #"{"text":\#(MockJSON.quote(text)),"index":0,"logprobs":null,"finish_reason":"\#(finishReason)"}"#
        }
        return #"{\#(header(object: kind == .chat ? "chat.completion" : "text_completion")),"choices":[\#(choice)],"usage":\#(usage)}"#
    }

    /// `"id":…,"object":…,"created":…,"model":…` shared by bodies and chunks.
    func header(object: String) -> String {
        #""id":"\#(id)","object":"\#(object)","created":\#(created),"model":\#(MockJSON.quote(model))"#
    }
}
