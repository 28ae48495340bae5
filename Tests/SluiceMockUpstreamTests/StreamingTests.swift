import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

@Suite struct StreamingTests {
    @Test func chatStreamWithoutIncludeUsageHasNoUsageAnywhere() async throws {
        let body = try chatBody(["hello there"], ["stream": true])
        try await mockApp().test(.router) { client in
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let payloads = ssePayloads(String(buffer: response.body))
            // role chunk, 12 words, finish chunk, [DONE]
            #expect(payloads.count == 15)
            #expect(payloads.last == "[DONE]")
            let chunks = try chunkObjects(payloads)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["usage"] == nil })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            #expect(value(chunks[0], "choices", 0, "delta", "role") as? String == "assistant")
            #expect(value(chunks[0], "choices", 0, "delta", "content") as? String == "")
            let text = chunks[1...12].compactMap { value($0, "choices", 0, "delta", "content") as? String }.joined()
            #expect(text == expectedReply(12))
            #expect(value(chunks[1], "choices", 0, "delta", "content") as? String == "lorem ")
            #expect(value(chunks[12], "choices", 0, "delta", "content") as? String == "tempor")
            #expect((value(chunks[13], "choices", 0, "delta") as? [String: Any])?.isEmpty == true)
            #expect(value(chunks[13], "choices", 0, "finish_reason") as? String == "stop")
            #expect(chunks[0...12].allSatisfy { value($0, "choices", 0, "finish_reason") is NSNull })
        }
    }

    @Test func chatStreamWithIncludeUsageEndsWithUsageChunkThenDone() async throws {
        let body = try chatBody(["hello there"], ["stream": true, "max_tokens": 4, "stream_options": ["include_usage": true]])
        try await mockApp().test(.router) { client in
            let payloads = ssePayloads(String(buffer: try await client.post("/v1/chat/completions", body).body))
            // role chunk, 4 words, finish chunk, usage chunk, [DONE]
            #expect(payloads.count == 8)
            #expect(payloads.last == "[DONE]")
            let chunks = try chunkObjects(payloads)
            #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
            #expect(value(chunks[5], "choices", 0, "finish_reason") as? String == "length")
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect(value(usageChunk, "usage", "prompt_tokens") as? Int == 5)
            #expect(value(usageChunk, "usage", "completion_tokens") as? Int == 4)
            #expect(value(usageChunk, "usage", "total_tokens") as? Int == 9)
        }
    }

    @Test func noUsageDirectiveLeavesOutTheUsageChunkEvenWhenAsked() async throws {
        let body = try chatBody(["mock.no_usage=1"], ["stream": true, "stream_options": ["include_usage": true]])
        try await mockApp().test(.router) { client in
            let payloads = ssePayloads(String(buffer: try await client.post("/v1/chat/completions", body).body))
            #expect(payloads.count == 15)
            #expect(payloads.last == "[DONE]")
            #expect(try chunkObjects(payloads).allSatisfy { $0["usage"] is NSNull })
        }
    }

    @Test func completionStreamUsesTextCompletionChunks() async throws {
        let body = try jsonBody([
            "model": "gpt-4o", "prompt": "one two", "max_tokens": 2, "stream": true,
            "stream_options": ["include_usage": true],
        ])
        try await mockApp().test(.router) { client in
            let payloads = ssePayloads(String(buffer: try await client.post("/v1/completions", body).body))
            // 2 words, finish chunk, usage chunk, [DONE]: no role chunk for completions.
            #expect(payloads.count == 5)
            let chunks = try chunkObjects(payloads)
            #expect(chunks.allSatisfy { $0["object"] as? String == "text_completion" })
            #expect(chunks[0...1].compactMap { value($0, "choices", 0, "text") as? String } == ["lorem ", "ipsum"])
            #expect(value(chunks[2], "choices", 0, "text") as? String == "")
            #expect(value(chunks[2], "choices", 0, "finish_reason") as? String == "length")
            #expect(value(chunks[3], "usage", "prompt_tokens") as? Int == 2)
            #expect(value(chunks[3], "usage", "total_tokens") as? Int == 4)
        }
    }

    @Test func liveStreamArrivesWholeOverARealServer() async throws {
        let body = try chatBody(["hi"], ["stream": true, "stream_options": ["include_usage": true]])
        try await mockApp(.init(streamChunkMs: 5)).test(.live) { client in
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .ok)
            #expect(response.headers[.transferEncoding] == "chunked")
            let payloads = ssePayloads(String(buffer: response.body))
            #expect(payloads.count == 16)
            #expect(payloads.last == "[DONE]")
            #expect(value(try chunkObjects(payloads).last, "usage", "total_tokens") as? Int == 16)
        }
    }
}
