import Hummingbird
// Hummingbird does not re-export swift-log, and `Logger` is part of the public API.
import Logging

/// The fake OpenAI-compatible provider used by the demo, the tests and the benchmarks.
///
/// Routes: `POST /v1/chat/completions` (plain and SSE), `POST /v1/completions` (plain and SSE),
/// `POST /v1/embeddings`, `GET /v1/models` (`gpt-4o`, `gpt-4o-mini`, `text-embedding-3-small`).
/// Any `Authorization` is accepted and any model name is answered and echoed back.
///
/// Usage is deterministic, so tests can predict it:
/// * prompt tokens = the whitespace-separated words of all chat message contents (plus 3 per
///   message), of the completion prompt(s), or of the embedding input(s); arrays of token
///   integers count one token per integer;
/// * the reply is C words taken cyclically from "lorem ipsum dolor sit amet consectetur
///   adipiscing elit sed do eiusmod tempor", one token each, C = 12 (or `mock.completion_tokens`)
///   capped by `max_completion_tokens`/`max_tokens`; `finish_reason` is `"length"` when the cap
///   cut the reply, else `"stop"`;
/// * embeddings are 8 floats derived from each input's text.
///
/// Words `mock.NAME=VALUE` in the prompt text script one request (they still count as words):
/// * `mock.status=503` answers that status with an OpenAI error body (`server_error` for 5xx,
///   `invalid_request_error` for 4xx), `mock.code=…` sets its `code`, `mock.message=…` its
///   message (`_` read as spaces), `mock.retry_after=N` adds `Retry-After: N`;
/// * with `mock.id=ID`, `mock.times=K` limits the status to the first K requests carrying that
///   id, and a list `mock.status=503,429` gives the n-th such request the n-th status (later ones
///   succeed); without an id the (first) status applies to every request;
/// * `mock.first_byte_ms=N` waits before the response head, `mock.completion_tokens=N` sets the
///   reply length, `mock.chunk_ms=N` the pause between SSE chunks;
/// * streams only: `mock.break_after=N` closes the connection after N content chunks, without
///   the last chunk of the chunked encoding, finish chunk, usage or `[DONE]`;
///   `mock.stall_after=N` sends nothing more after N content chunks, without closing, until
///   10 minutes pass or the server shuts down gracefully; `mock.no_usage=1` never sends the
///   usage chunk.
///
/// ``MockUpstreamOptions`` latency and random failures apply to every request. A body that is
/// not a JSON object is a 400 with `code` `invalid_json`.
public enum MockUpstream {
    /// A Hummingbird application serving the fake provider on `host:port`.
    ///
    /// - Parameters:
    ///   - options: behaviour applied to every request.
    ///   - host: address to bind, e.g. `127.0.0.1`.
    ///   - port: port to bind; 0 picks any free port.
    ///   - logger: the server's logger; nil gives one labelled `sluice.mock-upstream`.
    ///   - onServerRunning: called once listening, with the bound port.
    public static func makeApplication(
        options: MockUpstreamOptions,
        host: String,
        port: Int,
        logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(options: options),
            configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? port)
            },
            logger: logger ?? Logger(label: "sluice.mock-upstream")
        )
    }

    /// The router alone, for in-process tests. Each router keeps its own `mock.id` counters.
    public static func makeRouter(options: MockUpstreamOptions) -> Router<BasicRequestContext> {
        let router = Router()
        let provider = MockProvider(options: options)
        router.post("/v1/chat/completions") { request, _ in
            try await provider.answer(request, endpoint: .chat)
        }
        router.post("/v1/completions") { request, _ in
            try await provider.answer(request, endpoint: .completion)
        }
        router.post("/v1/embeddings") { request, _ in
            try await provider.answer(request, endpoint: .embedding)
        }
        router.get("/v1/models") { _, _ in
            try await provider.models()
        }
        return router
    }
}
