import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

@Suite struct CompletionsEmbeddingsModelsTests {
    @Test func completionsCountPromptWordsWithoutMessageOverhead() async throws {
        let single = try jsonBody(["model": "gpt-4o", "prompt": "Once upon a time", "max_tokens": 3])
        let several = try jsonBody(["model": "gpt-4o", "prompt": ["a b", "c"]])
        try await mockApp().test(.router) { client in
            let json = try jsonObject(try await client.post("/v1/completions", single).body)
            #expect((json["id"] as? String)?.hasPrefix("cmpl-mock-") == true)
            #expect(json["object"] as? String == "text_completion")
            #expect(value(json, "choices", 0, "text") as? String == "lorem ipsum dolor")
            #expect(value(json, "choices", 0, "finish_reason") as? String == "length")
            #expect(value(json, "usage", "prompt_tokens") as? Int == 4)
            #expect(value(json, "usage", "completion_tokens") as? Int == 3)
            #expect(value(json, "usage", "total_tokens") as? Int == 7)

            let many = try jsonObject(try await client.post("/v1/completions", several).body)
            #expect(value(many, "usage", "prompt_tokens") as? Int == 3)
        }
    }

    @Test func embeddingsGiveOneDeterministicVectorPerInput() async throws {
        let body = try jsonBody(["model": "text-embedding-3-small", "input": ["hello world", "hi"]])
        let again = try jsonBody(["model": "text-embedding-3-small", "input": "hello world"])
        try await mockApp().test(.router) { client in
            let json = try jsonObject(try await client.post("/v1/embeddings", body).body)
            #expect(json["object"] as? String == "list")
            #expect(json["model"] as? String == "text-embedding-3-small")
            #expect(value(json, "usage", "prompt_tokens") as? Int == 3)
            #expect(value(json, "usage", "total_tokens") as? Int == 3)
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect(data.map { $0["index"] as? Int } == [0, 1])
            #expect(data.allSatisfy { $0["object"] as? String == "embedding" })
            let first = try #require(data[0]["embedding"] as? [Double])
            let second = try #require(data[1]["embedding"] as? [Double])
            #expect(first.count == 8 && second.count == 8)
            #expect(first != second)
            #expect(first.allSatisfy { (-1...1).contains($0) })

            let repeated = try jsonObject(try await client.post("/v1/embeddings", again).body)
            #expect(value(repeated, "data", 0, "embedding") as? [Double] == first)
        }
    }

    @Test func embeddingTokenArraysCountOneTokenPerInteger() async throws {
        let nested = try jsonBody(["model": "text-embedding-3-small", "input": [[1, 2, 3], [4]]])
        let flat = try jsonBody(["model": "text-embedding-3-small", "input": [1, 2, 3]])
        try await mockApp().test(.router) { client in
            let many = try jsonObject(try await client.post("/v1/embeddings", nested).body)
            #expect(value(many, "usage", "prompt_tokens") as? Int == 4)
            #expect((many["data"] as? [Any])?.count == 2)

            let one = try jsonObject(try await client.post("/v1/embeddings", flat).body)
            #expect(value(one, "usage", "prompt_tokens") as? Int == 3)
            #expect((one["data"] as? [Any])?.count == 1)
        }
    }

    @Test func modelsListsTheThreeDemoModels() async throws {
        try await mockApp().test(.router) { client in
            let response = try await client.execute(uri: "/v1/models", method: .get)
            #expect(response.status == .ok)
            let json = try jsonObject(response.body)
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"])
            #expect(data.allSatisfy { $0["object"] as? String == "model" && $0["owned_by"] as? String == "sluice-mock" })
        }
    }
}
