import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

@Suite struct ChatCompletionTests {
    @Test func plainChatCountsWordsPlusThreePerMessageAndRepliesTwelveWords() async throws {
        let body = try jsonBody([
            "model": "gpt-4o-mini",
            "messages": [
                ["role": "system", "content": "You are terse."],
                ["role": "user", "content": "Say  hello\nto the world"],
            ],
        ])
        try await mockApp().test(.router) { client in
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let json = try jsonObject(response.body)
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-mock-") == true)
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["model"] as? String == "gpt-4o-mini")
            #expect(json["created"] as? Int ?? 0 > 1_700_000_000)
            #expect(value(json, "choices", 0, "message", "role") as? String == "assistant")
            #expect(value(json, "choices", 0, "message", "content") as? String == expectedReply(12))
            #expect(value(json, "choices", 0, "finish_reason") as? String == "stop")
            // 3 + 5 words, plus 3 per message.
            #expect(value(json, "usage", "prompt_tokens") as? Int == 14)
            #expect(value(json, "usage", "completion_tokens") as? Int == 12)
            #expect(value(json, "usage", "total_tokens") as? Int == 26)
        }
    }

    @Test func maxTokensBelowTheDefaultCutsTheReplyWithLength() async throws {
        let short = try chatBody(["hi"], ["max_tokens": 5])
        let roomy = try chatBody(["hi"], ["max_completion_tokens": 20])
        try await mockApp().test(.router) { client in
            let cut = try jsonObject(try await client.post("/v1/chat/completions", short).body)
            #expect(value(cut, "choices", 0, "message", "content") as? String == "lorem ipsum dolor sit amet")
            #expect(value(cut, "choices", 0, "finish_reason") as? String == "length")
            #expect(value(cut, "usage", "completion_tokens") as? Int == 5)

            let full = try jsonObject(try await client.post("/v1/chat/completions", roomy).body)
            #expect(value(full, "choices", 0, "finish_reason") as? String == "stop")
            #expect(value(full, "usage", "completion_tokens") as? Int == 12)
        }
    }

    @Test func contentPartsCountOnlyTheirTextWords() async throws {
        let body = try jsonBody([
            "model": "gpt-4o",
            "messages": [
                ["role": "user", "content": [
                    ["type": "text", "text": "describe this"],
                    ["type": "image_url", "image_url": ["url": "https://example.com/a.png"]],
                    ["type": "text", "text": "please"],
                ]],
                ["role": "assistant", "content": NSNull()],
            ],
        ])
        try await mockApp().test(.router) { client in
            let json = try jsonObject(try await client.post("/v1/chat/completions", body).body)
            #expect(value(json, "usage", "prompt_tokens") as? Int == 3 + 3 + 3)
        }
    }

    @Test func completionTokensDirectiveSetsReplyLengthAndStillCountsAsAWord() async throws {
        let body = try chatBody(["mock.completion_tokens=14"])
        let capped = try chatBody(["mock.completion_tokens=14"], ["max_tokens": 13])
        try await mockApp().test(.router) { client in
            let json = try jsonObject(try await client.post("/v1/chat/completions", body).body)
            #expect(value(json, "choices", 0, "message", "content") as? String == expectedReply(14))
            #expect(value(json, "usage", "prompt_tokens") as? Int == 4)
            #expect(value(json, "usage", "completion_tokens") as? Int == 14)

            let cut = try jsonObject(try await client.post("/v1/chat/completions", capped).body)
            #expect(value(cut, "usage", "completion_tokens") as? Int == 13)
            #expect(value(cut, "choices", 0, "finish_reason") as? String == "length")
        }
    }

    @Test func invalidJSONIsA400InvalidRequestError() async throws {
        try await mockApp().test(.router) { client in
            for body in ["{not json", "[1, 2]", ""] {
                let response = try await client.post("/v1/chat/completions", ByteBuffer(string: body))
                #expect(response.status == .badRequest)
                let json = try jsonObject(response.body)
                #expect(value(json, "error", "type") as? String == "invalid_request_error")
                #expect(value(json, "error", "code") as? String == "invalid_json")
                #expect(value(json, "error", "param") is NSNull)
                #expect(value(json, "error", "message") is String)
            }
        }
    }

    @Test func missingMessagesIsA400NamingTheParam() async throws {
        let body = try jsonBody(["model": "gpt-4o"])
        try await mockApp().test(.router) { client in
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .badRequest)
            #expect(value(try jsonObject(response.body), "error", "param") as? String == "messages")
        }
    }
}
