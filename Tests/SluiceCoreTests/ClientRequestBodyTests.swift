import SluiceCore
import Testing

func parseBody(_ text: String, _ endpoint: ProxyEndpoint = .chatCompletions) throws(GatewayError) -> ClientRequestBody {
    try ClientRequestBody(parsing: Array(text.utf8), endpoint: endpoint)
}

/// The error `ClientRequestBody` refuses `text` with; nil when it is accepted.
func bodyError(_ text: String, _ endpoint: ProxyEndpoint = .chatCompletions) -> GatewayError? {
    do {
        _ = try parseBody(text, endpoint)
        return nil
    } catch {
        return error
    }
}

@Suite("ClientRequestBody parsing")
struct ClientRequestBodyTests {
    @Test("the fields the gateway acts on are read")
    func fieldsRead() throws {
        let body = try parseBody(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"user":"u-1","temperature":0.2}"#)
        #expect(body.endpoint == .chatCompletions)
        #expect(body.model == "gpt-4o")
        #expect(body.models == nil)
        #expect(body.stream)
        #expect(body.callerWantsUsageChunk)
        #expect(body.maxTokens == 100)
        #expect(body.user == "u-1")
    }

    @Test("optional fields default when absent or null")
    func defaults() throws {
        let body = try parseBody(#"{"model":"m","messages":[{}],"stream":null,"max_tokens":null,"user":null}"#)
        #expect(!body.stream)
        #expect(!body.callerWantsUsageChunk)
        #expect(body.maxTokens == nil)
        #expect(body.user == nil)
    }

    @Test("max_completion_tokens wins over max_tokens")
    func maxCompletionTokens() throws {
        #expect(try parseBody(#"{"model":"m","messages":[{}],"max_tokens":10,"max_completion_tokens":20}"#).maxTokens == 20)
        #expect(try parseBody(#"{"model":"m","messages":[{}],"max_completion_tokens":0}"#).maxTokens == 0)
    }

    @Test("a models list is the chain and gives the model when model is absent")
    func modelsChain() throws {
        let fromList = try parseBody(#"{"models":["a","b"],"messages":[{}]}"#)
        #expect(fromList.model == "a")
        #expect(fromList.models == ["a", "b"])
        let both = try parseBody(#"{"model":"a","models":["a","b"],"messages":[{}]}"#)
        #expect(both.model == "a")
        #expect(both.models == ["a", "b"])
    }

    @Test("each endpoint requires its own prompt member, and embeddings never stream")
    func endpoints() throws {
        #expect(try parseBody(#"{"model":"m","prompt":["a",[1,2]]}"#, .completions).model == "m")
        #expect(try parseBody(#"{"model":"m","input":[[1,2],[3]]}"#, .embeddings).model == "m")
        #expect(try parseBody(#"{"model":"m","prompt":"x","stream":true}"#, .completions).stream)
        #expect(try parseBody(#"{"model":"m","input":"x","stream":false}"#, .embeddings).stream == false)
        #expect(ProxyEndpoint.chatCompletions.canStream && ProxyEndpoint.completions.canStream && !ProxyEndpoint.embeddings.canStream)
    }

    @Test("broken JSON is a 400 invalid_json whose message says where", arguments: [
        (#"{"model":"#, "unexpected end of input at byte 9"),
        (#"{"model":"m","messages":[]} x"#, "unexpected data after the JSON object at byte 28"),
        (#"{"model":"m\x"}"#, "invalid escape in string at byte 12"),
        ("", "the body is empty; expected a JSON object at byte 0"),
        ("[]", "expected a JSON object at byte 0"),
    ])
    func invalidJSON(text: String, detail: String) {
        let error = bodyError(text)
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_json")
        #expect(error?.type == "invalid_request_error")
        #expect(error?.message == "Request body is not valid JSON: \(detail)")
        #expect(error?.param == nil)
    }

    @Test("no usable model is a 400 missing_model", arguments: [
        #"{"messages":[{}]}"#, #"{"model":"","messages":[{}]}"#, #"{"model":null,"messages":[{}]}"#, #"{"stream":"yes","messages":[{}]}"#,
    ])
    func missingModel(text: String) {
        let error = bodyError(text)
        #expect(error?.status == 400)
        #expect(error?.code == "missing_model")
        #expect(error?.param == "model")
        #expect(error?.message.contains("\"model\"") == true)
    }

    @Test("well-formed JSON with invalid fields is a 422 invalid_request naming the field", arguments: [
        (#"{"model":5,"messages":[{}]}"#, ProxyEndpoint.chatCompletions, "model", #"Invalid request body: "model" must be a string, not a number"#),
        (#"{"model":"m","stream":"yes","messages":[{}]}"#, .chatCompletions, "stream", #"Invalid request body: "stream" must be a boolean, not a string"#),
        (#"{"model":"m","max_tokens":1.5,"messages":[{}]}"#, .chatCompletions, "max_tokens", #"Invalid request body: "max_tokens" must be a whole number, not a number"#),
        (#"{"model":"m","max_tokens":"9","messages":[{}]}"#, .chatCompletions, "max_tokens", #"Invalid request body: "max_tokens" must be a whole number, not a string"#),
        (#"{"model":"m","max_tokens":-1,"messages":[{}]}"#, .chatCompletions, "max_tokens", #""max_tokens" must not be negative"#),
        (#"{"model":"m","user":7,"messages":[{}]}"#, .chatCompletions, "user", #"Invalid request body: "user" must be a string, not a number"#),
        (#"{"model":"m","stream":true,"stream_options":true,"messages":[{}]}"#, .chatCompletions, "stream_options", #"Invalid request body: "stream_options" must be an object, not a boolean"#),
        (#"{"models":[],"messages":[{}]}"#, .chatCompletions, "models", #""models" must list at least one model"#),
        (#"{"models":"a","messages":[{}]}"#, .chatCompletions, "models", #"Invalid request body: "models" must be an array, not a string"#),
        (#"{"models":["a",5],"messages":[{}]}"#, .chatCompletions, "models", #""models" must be a list of model names"#),
        (#"{"model":"b","models":["a","b"],"messages":[{}]}"#, .chatCompletions, "model", #""model" ("b") must be the first entry of "models" ("a") when both are given"#),
        (#"{"model":"m"}"#, .chatCompletions, "messages", #"The request body has no "messages", which /chat/completions requires"#),
        (#"{"model":"m","messages":null}"#, .chatCompletions, "messages", #"The request body has no "messages", which /chat/completions requires"#),
        (#"{"model":"m","messages":[{}]}"#, .completions, "prompt", #"The request body has no "prompt", which /completions requires"#),
        (#"{"model":"m","prompt":"x"}"#, .embeddings, "input", #"The request body has no "input", which /embeddings requires"#),
        (#"{"model":"m","input":"x","stream":true}"#, .embeddings, "stream", #"/embeddings does not stream; remove "stream""#),
        (#"{"model":"m","messages":"x"}"#, .chatCompletions, "messages", #""messages" must be an array of message objects, not a string"#),
        (#"{"model":"m","messages":{}}"#, .chatCompletions, "messages", #""messages" must be an array of message objects, not an object"#),
        (#"{"model":"m","messages":[]}"#, .chatCompletions, "messages", #""messages" must hold at least one message"#),
        (#"{"model":"m","messages":[{"role":"user","content":"x"},1]}"#, .chatCompletions, "messages", #""messages" must hold message objects such as {"role": "user", "content": "Hi"}, not a number"#),
        (#"{"model":"m","prompt":5}"#, .completions, "prompt", #""prompt" must be a string or an array, not a number"#),
        (#"{"model":"m","input":[]}"#, .embeddings, "input", #""input" must not be an empty array"#),
        (#"{"model":"m","input":true}"#, .embeddings, "input", #""input" must be a string or an array, not a boolean"#),
    ])
    func invalidRequest(text: String, endpoint: ProxyEndpoint, param: String, message: String) {
        let error = bodyError(text, endpoint)
        #expect(error?.status == 422)
        #expect(error?.code == "invalid_request")
        #expect(error?.type == "invalid_request_error")
        #expect(error?.param == param)
        #expect(error?.message == message)
    }
}
