import Foundation
import SluiceCore
import Testing

@Suite("Proxy end to end: real server, mock provider, real sockets")
struct ProxyEndToEndTests {
    @Test("a plain chat completion is relayed untouched and its usage and cost recorded")
    func plainChat() async throws {
        try await withGateway { gateway in
            let (key, record) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "hello there"))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-served-model") == "gpt-4o-mini")
            #expect(response.headers.first(name: "sluice-attempts") == "1")
            #expect(response.requestID?.hasPrefix("req_") == true)
            let usage = response.json["usage"] as? [String: Any]
            #expect(usage?["prompt_tokens"] as? Int == 5)
            #expect(usage?["completion_tokens"] as? Int == 12)

            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.keyID == record.id)
            #expect(row.account == "acme")
            #expect(row.status == 200)
            #expect(row.inputTokens == 5 && row.outputTokens == 12)
            // gpt-4o-mini: $0.15 and $0.60 per million tokens = 150 and 600 nano-dollars per token.
            #expect(row.cost == NanoDollars(5 * 150 + 12 * 600))
            #expect(row.servedModel == "gpt-4o-mini" && row.requestedModel == "gpt-4o-mini")
            #expect(!row.streamed && !row.estimated)
            #expect(row.attempts == 1)
            #expect(row.endpoint == "/v1/chat/completions")
        }
    }

    @Test("the body's user field is recorded on the usage row")
    func userRecorded() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: ",\"user\":\"alice\""))
            #expect(response.status == 200)
            #expect(try await gateway.usageRow(response.requestID!)?.userID == "alice")
        }
    }

    @Test("completions and embeddings are proxied with their usage recorded")
    func completionsAndEmbeddings() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let completion = try await gateway.send("/v1/completions", key: key, body: #"{"model":"gpt-4o","prompt":"one two three","max_tokens":4}"#)
            #expect(completion.status == 200)
            #expect(((completion.json["choices"] as? [[String: Any]])?.first?["text"] as? String) == "lorem ipsum dolor sit")
            let completionRow = try #require(try await gateway.usageRow(completion.requestID!))
            #expect(completionRow.inputTokens == 3 && completionRow.outputTokens == 4)
            #expect(completionRow.cost == NanoDollars(3 * 2500 + 4 * 10000))

            let embedding = try await gateway.send("/v1/embeddings", key: key, body: #"{"model":"text-embedding-3-small","input":["a b","c"]}"#)
            #expect(embedding.status == 200)
            #expect((embedding.json["data"] as? [Any])?.count == 2)
            let embeddingRow = try #require(try await gateway.usageRow(embedding.requestID!))
            #expect(embeddingRow.inputTokens == 3 && embeddingRow.outputTokens == 0)
            #expect(embeddingRow.cost == NanoDollars(3 * 20))
        }
    }

    @Test("GET /v1/models lists only the models the key's preset allows, and writes no usage row")
    func modelsFiltered() async throws {
        try await withGateway { gateway in
            let (demoKey, _) = try await gateway.makeKey(preset: "demo")
            let (devKey, _) = try await gateway.makeKey(preset: "dev")
            let all = try await gateway.send("/v1/models", method: .GET, key: demoKey)
            let ids = (all.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"])
            let dev = try await gateway.send("/v1/models", method: .GET, key: devKey)
            let devIDs = (dev.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(devIDs == ["gpt-4o-mini", "text-embedding-3-small"])
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await gateway.ledger.recentUsage(limit: 10).isEmpty)
        }
    }

    @Test("a deployment's provider model name replaces the Sluice model name upstream")
    func deploymentModelName() async throws {
        try await withGateway(configure: { config in
            config.models["house-model"] = ModelConfig(deployments: [Deployment(provider: "mock", model: "gpt-4o-mini")],
                                                       price: Price(inputPerToken: 1, outputPerToken: 1))
            config.modelNames.append("house-model")
        }) { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "house-model"))
            #expect(response.status == 200)
            // The body is the provider's: its model says what really served.
            #expect(response.json["model"] as? String == "gpt-4o-mini")
            #expect(response.headers.first(name: "sluice-served-model") == "house-model")
        }
    }

    @Test("health and readiness answer without a key")
    func health() async throws {
        try await withGateway { gateway in
            #expect(try await gateway.send("/healthz", method: .GET, key: nil).status == 200)
            let ready = try await gateway.send("/readyz", method: .GET, key: nil)
            #expect(ready.status == 200)
            #expect(ready.json["ledger"] as? Bool == true)
        }
    }
}
