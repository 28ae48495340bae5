import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

/// Stream faults checked on the wire with a plain socket, as the gateway's HTTP client meets them.
@Suite struct DroppedStreamTests {
    @Test func breakAfterTwoClosesTheConnectionAfterTwoContentChunksWithoutDone() async throws {
        let request = RawHTTP.post(
            "/v1/chat/completions",
            json: #"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi mock.break_after=2"}]}"#
        )
        try await mockApp().test(.live) { client in
            let port = try #require(client.port)
            let capture = try await RawHTTP.exchange(host: "localhost", port: port, request: request)
            #expect(capture.closedByServer, "the server must close the connection")
            let response = try RawResponse(capture.bytes)
            #expect(response.statusCode == 200)
            #expect(response.headers["transfer-encoding"] == "chunked")
            #expect(!response.sawLastChunk, "a dropped stream has no terminating chunk")
            let payloads = ssePayloads(response.body)
            #expect(!payloads.contains("[DONE]"))
            let chunks = try chunkObjects(payloads)
            #expect(chunks.count == 3)  // role chunk + 2 content chunks
            #expect(chunks.compactMap { value($0, "choices", 0, "delta", "content") as? String } == ["", "lorem ", "ipsum "])
        }
    }

    @Test func stallAfterGoesSilentWithoutClosingAndEndsOnGracefulShutdown() async throws {
        let request = RawHTTP.post(
            "/v1/chat/completions",
            json: #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"mock.stall_after=1"}]}"#
        )
        let start = ContinuousClock.now
        try await mockApp().test(.live) { client in
            let port = try #require(client.port)
            // Silent for a second counts as stalled: long enough that a loaded machine's late
            // chunk is still read.
            let capture = try await RawHTTP.exchange(
                host: "localhost", port: port, request: request, idleTimeout: .seconds(1))
            #expect(!capture.closedByServer)
            let response = try RawResponse(capture.bytes)
            #expect(!response.sawLastChunk)
            #expect(try chunkObjects(ssePayloads(response.body)).count == 2)  // role chunk + 1 content chunk
        }
        // The live test ends with a graceful shutdown, which waits for open connections: the
        // stall must give way to it instead of lasting its 10 minutes (the bound leaves a loaded
        // machine plenty of room and is still far short of the stall).
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func eventsAreFlushedAsTheyAreProduced() async throws {
        let request = RawHTTP.post(
            "/v1/chat/completions",
            json: #"{"model":"gpt-4o","stream":true,"max_tokens":2,"messages":[{"role":"user","content":"mock.chunk_ms=150"}]}"#
        )
        try await mockApp().test(.live) { client in
            let port = try #require(client.port)
            let capture = try await RawHTTP.exchange(host: "localhost", port: port, request: request) { bytes in
                bytes.suffix(5) == Array("0\r\n\r\n".utf8)
            }
            let response = try RawResponse(capture.bytes)
            #expect(response.sawLastChunk)
            // One chunk per event: role, 2 words, finish, [DONE], 150 ms apart (600 ms in all; held
            // back and sent together they would arrive in one read).
            #expect(response.chunks.count == 5)
            #expect(response.chunks.last == "data: [DONE]\n\n")
            let first = try #require(capture.reads.first?.elapsed)
            let last = try #require(capture.reads.last?.elapsed)
            #expect(capture.reads.count >= 3)
            // Half the span: a reader starved for a while on a loaded machine still sees it.
            #expect(last - first >= .milliseconds(300))
        }
    }

    @Test func makeApplicationReportsTheBoundPort() async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = MockUpstream.makeApplication(options: .init(), host: "127.0.0.1", port: 0) { port in
            continuation.yield(port)
        }
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        #expect(port > 0)
        let capture = try await RawHTTP.exchange(
            host: "127.0.0.1", port: port,
            request: "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(try RawResponse(capture.bytes).statusCode == 200)
    }
}
