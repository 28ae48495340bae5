import SluiceCore
import Testing

@Suite("ClientRequestBody.upstreamBody")
struct UpstreamBodyTests {
    func upstream(_ text: String, _ providerModel: String, _ endpoint: ProxyEndpoint = .chatCompletions) throws -> String {
        let out = try parseBody(text, endpoint).upstreamBody(providerModel: providerModel)
        _ = try foundationObject(out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("a plain body for the same model goes upstream byte for byte", arguments: [
        ("{ \"model\" : \"gpt-4o\",\n  \"messages\": [ {\"role\":\"user\",\"content\":\"h\\u00e9\"} ], \"temperature\": 1.50 }\n", ProxyEndpoint.chatCompletions),
        (#"{"model":"gpt-4o","input":["a","b"]}"#, .embeddings),
        (#"{"model":"gpt-4o","prompt":"x","stream":true,"stream_options":{"include_usage":true}}"#, .completions),
        (#"{"model":"gpt-4o","prompt":"x","stream":false,"stream_options":{"include_usage":false}}"#, .completions),
    ])
    func unchanged(text: String, endpoint: ProxyEndpoint) throws {
        let bytes = Array(text.utf8)
        let body = try ClientRequestBody(parsing: bytes, endpoint: endpoint)
        #expect(body.upstreamBody(providerModel: "gpt-4o") == bytes)
        #expect(body.editedUpstreamBody(providerModel: "gpt-4o") == nil)
    }

    @Test("an edited body is told apart from an untouched one")
    func editedOrNot() throws {
        let body = try parseBody(#"{"model":"gpt-4o","messages":[{}]}"#, .chatCompletions)
        #expect(body.editedUpstreamBody(providerModel: "gpt-4o-2024-08-06") == body.upstreamBody(providerModel: "gpt-4o-2024-08-06"))
        let stream = try parseBody(#"{"model":"gpt-4o","messages":[{}],"stream":true}"#, .chatCompletions)
        #expect(stream.editedUpstreamBody(providerModel: "gpt-4o") == stream.upstreamBody(providerModel: "gpt-4o"))
        #expect(stream.editedUpstreamBody(providerModel: "gpt-4o") != nil)
    }

    @Test("the model is rewritten to the provider's name and nothing else changes")
    func modelRewritten() throws {
        #expect(try upstream(#"{"model":"gpt-4o","messages":[{}],"n":1E+2}"#, "gpt-4o-2024-08-06")
            == #"{"model":"gpt-4o-2024-08-06","messages":[{}],"n":1E+2}"#)
    }

    @Test("a provider model name with quotes is escaped")
    func modelEscaped() throws {
        #expect(try upstream(#"{"model":"m","messages":[{}]}"#, "we\"ird") == #"{"model":"we\"ird","messages":[{}]}"#)
    }

    @Test("models is removed before the body goes upstream")
    func modelsRemoved() throws {
        #expect(try upstream(#"{"model":"a","models":["a","b"],"messages":[{}]}"#, "a") == #"{"model":"a","messages":[{}]}"#)
        #expect(try upstream(#"{"model":"a","models":["a","b"],"messages":[{}]}"#, "b-upstream") == #"{"model":"b-upstream","messages":[{}]}"#)
    }

    @Test("a body that named its model only in models gets a model member")
    func modelAddedFromModels() throws {
        #expect(try upstream(#"{"models":["a","b"],"messages":[{}]}"#, "b") == #"{"messages":[{}],"model":"b"}"#)
    }

    @Test("a stream asks for the usage chunk, keeping other stream_options", arguments: [
        (#"{"model":"m","stream":true,"messages":[{}]}"#, #"{"model":"m","stream":true,"messages":[{}],"stream_options":{"include_usage":true}}"#),
        (#"{"model":"m","stream":true,"stream_options":{"other":"x"},"messages":[{}]}"#, #"{"model":"m","stream":true,"stream_options":{"other":"x","include_usage":true},"messages":[{}]}"#),
        (#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"o":1},"messages":[{}]}"#, #"{"model":"m","stream":true,"stream_options":{"include_usage":true,"o":1},"messages":[{}]}"#),
        (#"{"model":"m","stream":true,"stream_options":null,"messages":[{}]}"#, #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{}]}"#),
    ])
    func streamUsageInjected(text: String, expected: String) throws {
        let body = try parseBody(text)
        #expect(!body.callerWantsUsageChunk)
        let out = body.upstreamBody(providerModel: "m")
        #expect(String(decoding: out, as: UTF8.self) == expected)
        let options = try foundationObject(out)["stream_options"] as? [String: Any]
        #expect(options?["include_usage"] as? Bool == true)
    }

    @Test("model rewrite, models removal and usage injection combine")
    func allEdits() throws {
        let out = try upstream(#"{"models":["a","b"],"model":"a","stream":true,"prompt":"p"}"#, "a-up", .completions)
        #expect(out == #"{"model":"a-up","stream":true,"prompt":"p","stream_options":{"include_usage":true}}"#)
    }
}

@Suite("Prompt size estimates")
struct PromptEstimateTests {
    @Test("prompt bytes and estimated tokens for each endpoint's prompt shape", arguments: [
        (#"{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"héllo"}]}"#, ProxyEndpoint.chatCompletions, 20, 5),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"de"}]}]}"#, .chatCompletions, 5, 2),
        (#"{"model":"m","messages":[{"role":"user","content":"a\nb\u00e9"},{"role":"assistant","content":null,"tool_calls":[]}]}"#, .chatCompletions, 5, 2),
        (#"{"model":"m","messages":[{}]}"#, .chatCompletions, 0, 0),
        (#"{"model":"m","prompt":"abcd"}"#, .completions, 4, 1),
        (#"{"model":"m","prompt":["ab","cde"]}"#, .completions, 5, 2),
        (#"{"model":"m","prompt":[1,2,3]}"#, .completions, 12, 3),
        (#"{"model":"m","input":"hello world"}"#, .embeddings, 11, 3),
        (#"{"model":"m","input":["a","bb"]}"#, .embeddings, 3, 1),
        (#"{"model":"m","input":[[1,2,3,4],[5]]}"#, .embeddings, 20, 5),
        (#"{"model":"m","input":""}"#, .embeddings, 0, 0),
        // A repeated key counts once, its last value, as member(_:) reads it; escaped keys are their characters.
        (#"{"model":"m","messages":[{"content":"abcdefgh","content":"ab"},{"con\u0074ent":"xyz","text":"q"}]}"#, .chatCompletions, 6, 2),
        // Whitespace everywhere, empty objects and arrays, numbers and booleans among the parts.
        (#"{ "model" : "m" , "messages" : [ { } , { "content" : [ ] } , { "content" : [ { "text" : "ab" } , 7 , true , { } ] } ] }"#, .chatCompletions, 6, 2),
    ])
    func estimates(text: String, endpoint: ProxyEndpoint, bytes: Int, tokens: Int) throws {
        let body = try parseBody(text, endpoint)
        #expect(body.promptBytes == bytes)
        #expect(body.estimatedPromptTokens == tokens)
    }

    @Test("streamed text estimates round bytes ÷ 4 up", arguments: [(0, 0), (1, 1), (4, 1), (5, 2), (4001, 1001)])
    func textEstimate(bytes: Int, tokens: Int) {
        #expect(estimatedTokens(forTextBytes: bytes) == tokens)
    }
}
