import SluiceCore
import SluiceProviders
import Testing

@Suite("Streamed chunks and usage")
struct StreamChunkInspectorTests {
    @Test("the usage-only chunk is recognised; content chunks are not; text bytes are counted")
    func usageChunk() throws {
        let usageOnly = #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#
        let inspection = try #require(StreamChunkInspector.inspect(Array(usageOnly.utf8)))
        #expect(inspection.isUsageOnly)
        #expect(inspection.usage == TokenUsage(inputTokens: 9, outputTokens: 4))

        let content = #"{"choices":[{"index":0,"delta":{"content":"héllo"}}],"usage":null}"#
        let contentInspection = try #require(StreamChunkInspector.inspect(Array(content.utf8)))
        #expect(!contentInspection.isUsageOnly && contentInspection.usage == nil)
        #expect(contentInspection.textBytes == "héllo".utf8.count)

        let completion = #"{"choices":[{"index":0,"text":"abc"}]}"#
        #expect(StreamChunkInspector.inspect(Array(completion.utf8))?.textBytes == 3)
        #expect(StreamChunkInspector.inspect(Array("not json".utf8)) == nil)
    }

    @Test("usage is read from whole answers, and absent usage is nil")
    func wholeAnswers() {
        #expect(TokenUsage.from(body: Array(#"{"usage":{"prompt_tokens":3,"total_tokens":3}}"#.utf8)) == TokenUsage(inputTokens: 3, outputTokens: 0))
        #expect(TokenUsage.from(body: Array(#"{"choices":[]}"#.utf8)) == nil)
        #expect(TokenUsage.from(body: Array("[1]".utf8)) == nil)
    }

    @Test("a whole answer's usage reads as a view of it would", arguments: [
        #" { "id" : "x", "usage" : { "prompt_tokens" : 26 , "completion_tokens" : 15, "x": {"prompt_tokens": 1} } } "#,
        #"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2,"completion_tokens":3}}"#,
        #"{"usage":{"prompt_tokens":1,"prompt_tokens":"2","completion_tokens":4.5}}"#,
        #"{"usa\u0067e":{"prompt_\u0074okens":7,"completion_tokens":-2}}"#,
        #"{"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":null}}"#,
        #"{"usage":null}"#, #"{"usage":[1]}"#, #"{"usage":{}}"#, #"{"usage":{"prompt_tokens":1}} x"#, #"{"usage":{"prompt_tokens":1"#, "",
    ])
    func wholeAnswerAsView(body: String) {
        let bytes = Array(body.utf8)
        let viewed = (try? JSONObjectView(parsing: bytes)).flatMap(TokenUsage.from(_:))
        #expect(TokenUsage.from(body: bytes) == viewed)
    }

    @Test("a usage at the end of an answer broken before it is read; one in a body that is not an object, or broken after it, is not")
    func brokenAnswers() {
        #expect(TokenUsage.from(body: Array(#"{"id":"x","choices":[{"a":tru}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#.utf8))
                == TokenUsage(inputTokens: 5, outputTokens: 2))
        #expect(TokenUsage.from(body: Array(#"x,"usage":{"prompt_tokens":5}}"#.utf8)) == nil)
        #expect(TokenUsage.from(body: Array(#"{"choices":[{"a":tru}],"usage":{"prompt_tokens":5}} x"#.utf8)) == nil)
        #expect(TokenUsage.from(body: Array(#"{"choices":[{"a":tru}],"usage":{"prompt_tokens":5}"#.utf8)) == nil)
    }

    @Test("provider error bodies are read in their common shapes")
    func providerErrors() {
        let openAI = ProviderErrorBody(parsing: Array(#"{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded","param":"messages"}}"#.utf8))
        #expect(openAI == ProviderErrorBody(message: "too long", type: "invalid_request_error", code: "context_length_exceeded", param: "messages"))
        #expect(ProviderErrorBody(parsing: Array(#"{"error":"boom"}"#.utf8)).message == "boom")
        #expect(ProviderErrorBody(parsing: Array(#"{"message":"nope","code":429}"#.utf8)).message == "nope")
        #expect(ProviderErrorBody(parsing: Array("  Bad Gateway\n".utf8)).message == "Bad Gateway")
        #expect(ProviderErrorBody(parsing: []).message == nil)
    }
}
