import Foundation
import Hummingbird

/// The request handlers behind the mock's routes; one instance per router.
struct MockProvider: Sendable {
    let options: MockUpstreamOptions
    let counters = MockCounters()

    /// Largest request body read; embeddings batches can be big, benchmarks send small ones.
    static let maxBodySize = 16 * 1024 * 1024

    /// `POST /v1/chat/completions`, `/v1/completions` and `/v1/embeddings`.
    func answer(_ request: Request, endpoint: MockRequest.Endpoint) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBodySize)
        let parsed: MockRequest
        do {
            parsed = try MockRequest(body: body, endpoint: endpoint)
        } catch {
            try await pause(milliseconds: options.latencyMs)
            return Self.error(status: 400, message: error.message, param: error.param, code: error.code)
        }
        let directives = parsed.directives
        // The script is consulted before waiting so that counting follows arrival order.
        let failure = failureResponse(for: directives, model: parsed.model)
        try await pause(milliseconds: options.latencyMs + (directives.firstByteMs ?? 0))
        if let failure { return failure }

        if endpoint == .embedding {
            return Self.json(embeddingsBody(parsed))
        }
        let (tokens, finishReason) = MockUsage.completion(requested: directives.completionTokens, maxTokens: parsed.maxTokens)
        let reply = MockReply(
            kind: endpoint == .chat ? .chat : .completion,
            number: counters.nextResponseID(),
            created: Int(Date().timeIntervalSince1970),
            model: parsed.model,
            words: MockUsage.replyWords(count: tokens),
            finishReason: finishReason,
            promptTokens: parsed.promptTokens
        )
        guard parsed.stream else {
            return Self.json(reply.body())
        }
        let stream = MockStream(
            reply: reply,
            includeUsage: parsed.includeUsage,
            suppressUsage: directives.noUsage,
            chunkMs: directives.chunkMs ?? options.streamChunkMs,
            breakAfter: directives.breakAfter,
            stallAfter: directives.stallAfter
        )
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: stream.responseBody()
        )
    }

    /// `GET /v1/models`; the latency and random failures of the options apply here too.
    func models() async throws -> Response {
        let failure = failureResponse(for: MockDirectives(), model: "")
        try await pause(milliseconds: options.latencyMs)
        return failure ?? Self.json(MockJSON.models)
    }

    /// The scripted failure of this request, else a random one at ``MockUpstreamOptions/failRate``.
    private func failureResponse(for directives: MockDirectives, model: String) -> Response? {
        if let status = directives.scriptedStatus(model: model, counters: counters) {
            return Self.error(
                status: status,
                message: directives.message ?? "mock failure \(status)",
                code: directives.code,
                retryAfter: directives.retryAfter
            )
        }
        if options.failRate > 0 && Double.random(in: 0..<1) < options.failRate {
            return Self.error(status: 500, message: "mock random failure")
        }
        return nil
    }

    private func embeddingsBody(_ parsed: MockRequest) -> String {
        let data = parsed.embeddingInputs.enumerated().map { index, text in
            let vector = MockUsage.embedding(for: text).map { "\($0)" }.joined(separator: ",")
            return #"{"object":"embedding","index":\#(index),"embedding":[\#(vector)]}"#
        }
        let usage = #"{"prompt_tokens":\#(parsed.promptTokens),"total_tokens":\#(parsed.promptTokens)}"#
        return #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":\#(MockJSON.quote(parsed.model)),"usage":\#(usage)}"#
    }

    private func pause(milliseconds: Int) async throws {
        if milliseconds > 0 {
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
    }

    private static func json(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// An OpenAI-shaped error: `server_error` for 5xx, `invalid_request_error` for 4xx.
    static func error(status: Int, message: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil) -> Response {
        let type = status >= 500 ? "server_error" : "invalid_request_error"
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter {
            headers[.retryAfter] = String(retryAfter)
        }
        let body = MockJSON.error(message: message, type: type, param: param, code: code)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
