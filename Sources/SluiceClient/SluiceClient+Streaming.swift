import Foundation
import NIOCore

extension SluiceClient {
    /// `POST /chat/completions` with `stream: true`: the chunks as they arrive, ending after
    /// `data: [DONE]`. Retried (paced, after the policy's wait) only before the first chunk, since
    /// the caller has seen output after it. Ending the iteration early (or cancelling the
    /// consuming task) cancels the HTTP request, which closes the connection.
    ///
    /// The stream throws ``SluiceClientError`` only.
    public func chatStream(_ request: ChatCompletionRequest) -> AsyncThrowingStream<ChatCompletionChunk, any Error> {
        var request = request
        request.stream = true
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ChatCompletionChunk.self)
        let task = Task {
            do {
                let body = try Self.encode(request)
                try await withAdmission { try await self.runStream(body: body, into: continuation) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: SluiceClientError.wrap(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The attempts of one stream.
    private func runStream(body: [UInt8], into continuation: AsyncThrowingStream<ChatCompletionChunk, any Error>.Continuation) async throws {
        var number = 1
        while true {
            try await pace()
            var delivered = false
            do {
                try await streamAttempt(body: body, into: continuation, delivered: &delivered)
                return
            } catch {
                let typed = SluiceClientError.wrap(error)
                let decision = configuration.retryPolicy.decide(attempt: number, error: typed, afterFirstChunk: delivered)
                guard case .retry(let wait) = decision else { throw typed }
                try await configuration.sleep(wait)
                number += 1
            }
        }
    }

    /// One attempt: yields each chunk, returns at `[DONE]`; a body that ends without it is a
    /// transport error (the connection broke).
    private func streamAttempt(body: [UInt8], into continuation: AsyncThrowingStream<ChatCompletionChunk, any Error>.Continuation,
                               delivered: inout Bool) async throws {
        let response = try await open(.POST, "/chat/completions", body: body)
        var lines = ServerSentEventLines()
        for try await buffer in response.body {
            // Leaving the loop drops the body, which makes AsyncHTTPClient cancel the request.
            try Task.checkCancellation()
            for payload in lines.append(buffer.readableBytesView) {
                if payload == "[DONE]" { return }
                continuation.yield(try Self.chunk(payload, requestID: response.headers.first(name: "X-Request-Id")))
                delivered = true
            }
        }
        throw SluiceClientError.transport("The stream ended before data: [DONE]")
    }

    /// Decodes one `data:` payload; an error object sent mid-stream (the provider failed after
    /// the head) becomes the typed error it describes, as a 502 since the head said 200.
    static func chunk(_ payload: String, requestID: String?) throws -> ChatCompletionChunk {
        let bytes = Array(payload.utf8)
        if let chunk = try? JSONDecoder().decode(ChatCompletionChunk.self, from: Data(bytes)) { return chunk }
        var headers: [String: String] = [:]
        if let requestID { headers["X-Request-Id"] = requestID }
        throw SluiceClientError.from(status: 502, headers: headers, body: bytes, now: Date())
    }
}
