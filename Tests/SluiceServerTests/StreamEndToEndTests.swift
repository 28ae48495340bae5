import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import Testing

@Suite("Streaming end to end")
struct StreamEndToEndTests {
    @Test("a stream is relayed event by event, the usage chunk Sluice asked for is removed, and usage is recorded")
    func streamWithoutUsageChunk() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "a b c", stream: true, extra: ",\"max_tokens\":4"))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            let events = response.events
            #expect(events.last == "[DONE]")
            #expect(!events.contains { $0.contains("\"choices\":[]") })
            let text = events.dropLast().compactMap(Self.deltaContent).joined()
            #expect(text == "lorem ipsum dolor sit")
            let row = try #require(try await gateway.usageRow(response.requestID!))
            // Usage comes from the chunk Sluice asked for, not from an estimate.
            #expect(row.inputTokens == 6 && row.outputTokens == 4 && !row.estimated && row.streamed)
            #expect(row.cost == NanoDollars(6 * 150 + 4 * 600))
            #expect(row.timeToFirstByteMs != nil)
        }
    }

    @Test("a caller that asks for the usage chunk gets it")
    func streamWithUsageChunk() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let body = chatBody(content: "a b c", stream: true, extra: #","max_tokens":4,"stream_options":{"include_usage":true}"#)
            let response = try await gateway.send("/v1/chat/completions", key: key, body: body)
            let events = response.events
            #expect(events.last == "[DONE]")
            let usageChunk = try #require(events.dropLast().last)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(usageChunk.utf8)) as? [String: Any])
            #expect((json["choices"] as? [Any])?.isEmpty == true)
            #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 4)
        }
    }

    @Test("a stream the provider breaks off ends with one error event and no [DONE]; the usage so far is recorded")
    func brokenStream() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "x mock.break_after=2", stream: true))
            #expect(response.status == 200)
            let events = response.events
            #expect(!events.contains("[DONE]"))
            let last = try #require(events.last)
            let error = try #require((try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])?["error"] as? [String: Any])
            #expect(error["code"] as? String == "upstream_error")
            #expect(events.dropLast().compactMap(Self.deltaContent).joined() == "lorem ipsum ")
            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.errorCode == "upstream_error" && row.estimated)
            #expect(row.outputTokens == estimatedTokens(forTextBytes: "lorem ipsum ".utf8.count))
            #expect(row.attempts == 1)
        }
    }

    @Test("a caller that disconnects mid-stream cancels the upstream call and its usage is still recorded, marked estimated")
    func clientDisconnect() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.openStream(key: key, content: "x mock.chunk_ms=100 mock.completion_tokens=200")
            let requestID = try #require(response.headers.first(name: "x-request-id"))
            var received = ""
            for try await chunk in response.body {
                received += String(buffer: chunk)
                if received.components(separatedBy: "\n\n").count > 3 { break }
            }
            // Leaving the loop drops the body, which closes the connection mid-stream.
            let row = try #require(try await gateway.usageRow(requestID, timeout: .seconds(10)))
            #expect(row.estimated && row.streamed)
            #expect(row.outputTokens > 0 && row.outputTokens < 200)
            #expect(row.inputTokens > 0)
            #expect(row.latencyMs < 10_000)
        }
    }

    static func deltaContent(_ event: String) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any],
              let choice = (json["choices"] as? [[String: Any]])?.first,
              let delta = choice["delta"] as? [String: Any] else { return nil }
        return delta["content"] as? String
    }
}
