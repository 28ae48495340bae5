import Foundation
import SluiceCore
import SluiceStore
import Testing

@Suite("Errors end to end: every status of SPEC §3 that exists, in the OpenAI shape")
struct ErrorEndToEndTests {
    @Test("missing, malformed and unknown keys are 401 invalid_api_key and write no usage row")
    func unauthorized() async throws {
        try await withGateway { gateway in
            let missing = try await gateway.send("/v1/chat/completions", key: nil, body: chatBody())
            let malformed = try await gateway.send("/v1/chat/completions", key: "not-a-key", body: chatBody())
            let unknown = try await gateway.send("/v1/chat/completions", key: "sk-sluice-dev-" + String(repeating: "a", count: 32), body: chatBody())
            for response in [missing, malformed, unknown] {
                #expect(response.status == 401)
                #expect(response.errorCode == "invalid_api_key")
                #expect((response.json["error"] as? [String: Any])?["type"] as? String == "authentication_error")
                #expect(response.requestID?.hasPrefix("req_") == true)
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await gateway.ledger.recentUsage(limit: 10).isEmpty)
        }
    }

    @Test("an expired key is refused; one that expires later works")
    func expiredKey() async throws {
        try await withGateway { gateway in
            _ = try await gateway.makeKey()
            let now = Ledger.nowMs()
            func insert(_ key: String, expiresAtMs: Int64) async throws {
                try await gateway.ledger.insertKey(KeyRecord(
                    id: "key_" + String(key.suffix(8)), digest: KeyDigest(of: key), displayPrefix: APIKeyFormat.displayPrefix(of: key),
                    account: "acme", environment: .dev, preset: "demo", name: nil, createdAtMs: now - 10_000,
                    expiresAtMs: expiresAtMs, revokedAtMs: nil, updatedAtMs: now))
            }
            let expired = "sk-sluice-dev-" + String(repeating: "E", count: 24) + "expired1"
            let valid = "sk-sluice-dev-" + String(repeating: "V", count: 24) + "validkey"
            try await insert(expired, expiresAtMs: now - 1)
            try await insert(valid, expiresAtMs: now + 3_600_000)
            #expect(try await gateway.send("/v1/chat/completions", key: valid, body: chatBody()).status == 200)
            let refused = try await gateway.send("/v1/chat/completions", key: expired, body: chatBody())
            #expect(refused.status == 401 && refused.errorCode == "invalid_api_key")
        }
    }

    @Test("a body over max_body_bytes is 413, but a bad key is 401 first")
    func tooLarge() async throws {
        try await withGateway(configure: { $0.server.maxBodyBytes = 1024 }) { gateway in
            let (key, _) = try await gateway.makeKey()
            let big = chatBody(content: String(repeating: "x", count: 2000))
            let response = try await gateway.send("/v1/chat/completions", key: key, body: big)
            #expect(response.status == 413)
            #expect(response.errorCode == "request_too_large")
            #expect(try await gateway.send("/v1/chat/completions", key: "nope", body: big).status == 401)
        }
    }

    @Test("broken JSON is 400 invalid_json naming the byte; no model is 400 missing_model; wrong types are 422")
    func badBodies() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let broken = try await gateway.send("/v1/chat/completions", key: key, body: #"{"model": "gpt-4o-mini", "messages": [}"#)
            #expect(broken.status == 400 && broken.errorCode == "invalid_json")
            #expect(broken.errorMessage?.contains("byte 38") == true)
            let noModel = try await gateway.send("/v1/chat/completions", key: key, body: #"{"messages": []}"#)
            #expect(noModel.status == 400 && noModel.errorCode == "missing_model")
            let wrongType = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: #","stream":"yes""#))
            #expect(wrongType.status == 422 && wrongType.errorCode == "invalid_request")
            #expect((wrongType.json["error"] as? [String: Any])?["param"] as? String == "stream")
            // Refused requests made with a valid key are counted in usage.
            let row = try #require(try await gateway.usageRow(noModel.requestID!))
            #expect(row.status == 400 && row.errorCode == "missing_model")
        }
    }

    @Test("messages, prompt or input of a shape no provider takes are 422 before the model is looked up, and consume nothing")
    func badPromptShapes() async throws {
        try await RateLimitEndToEndTests.withLimits(PresetConfig(rpm: 2)) { gateway, key in
            for (path, body) in [("/v1/chat/completions", #"{"model":"gpt-4o-mini","messages":"x"}"#),
                                 ("/v1/chat/completions", #"{"model":"gpt-4o-mini","messages":[]}"#),
                                 ("/v1/chat/completions", #"{"model":"gpt-4o-mini","messages":[1]}"#),
                                 ("/v1/chat/completions", #"{"model":"no-such-model","messages":{}}"#),
                                 ("/v1/embeddings", #"{"model":"text-embedding-3-small","input":[]}"#)] {
                let refused = try await gateway.send(path, key: key, body: body)
                #expect(refused.status == 422 && refused.errorCode == "invalid_request", "\(body): \(refused.status) \(refused.body)")
                #expect((refused.json["error"] as? [String: Any])?["param"] as? String == (path.hasSuffix("embeddings") ? "input" : "messages"))
            }
            // rpm 2: both still there.
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
        }
    }

    @Test("an unknown model is 404 pointing at /v1/models; a model outside the preset is 403")
    func unknownAndForbiddenModels() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey(preset: "dev")
            let unknown = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-9"))
            #expect(unknown.status == 404 && unknown.errorCode == "model_not_found")
            #expect(unknown.errorMessage?.contains("GET /v1/models") == true)
            let forbidden = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o"))
            #expect(forbidden.status == 403 && forbidden.errorCode == "model_not_allowed")
            // 404 is checked before 403: an unknown model in a chain is 404 even with a forbidden one.
            let both = try await gateway.send("/v1/chat/completions", key: key, body: #"{"models":["gpt-4o","gpt-9"],"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(both.status == 404)
        }
    }

    @Test("a provider's own 400 is passed through with its status and code, in one attempt")
    func providerClientErrorPassthrough() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let content = "too long mock.status=400 mock.code=context_length_exceeded mock.message=prompt_is_too_long"
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content))
            #expect(response.status == 400)
            #expect(response.errorCode == "context_length_exceeded")
            #expect(response.errorMessage == "prompt is too long")
            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.status == 400 && row.attempts == 1)
        }
    }

    @Test("a provider's 503 with a Retry-After beyond max_retry_after_s is 502 upstream_error at once, naming the provider, with its Retry-After")
    func providerServerError() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "x mock.status=503 mock.retry_after=70"))
            #expect(response.status == 502 && response.errorCode == "upstream_error")
            #expect(response.errorMessage?.contains("mock") == true && response.errorMessage?.contains("503") == true)
            #expect(response.headers.first(name: "retry-after") == "70")
            #expect(response.headers.first(name: "sluice-attempts") == "1")
        }
    }

    @Test("an unreachable provider is 502; a provider slower than attempt_timeout_s is 504, without Retry-After")
    func unreachableAndTimeout() async throws {
        try await withGateway(configure: { config in
            config.retry.attemptTimeoutSeconds = 1
            // The last of three timeouts sets off a cooldown, whose end must not become a Retry-After.
            config.retry.maxAttempts = 3
            config.retry.cooldownAfterFailures = 3
            config.retry.cooldownSeconds = 30
            Self.addRefusingProvider(&config)
        }) { gateway in
            let (key, _) = try await gateway.makeKey()
            let dead = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "dead-model"))
            #expect(dead.status == 502 && dead.errorCode == "upstream_error")
            let slow = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "x mock.first_byte_ms=3000"))
            #expect(slow.status == 504 && slow.errorCode == "upstream_timeout")
            // SPEC §3's table: no Retry-After on a 504, even when the timeouts set off a cooldown.
            #expect(slow.headers.first(name: "retry-after") == nil)
        }
    }

    @Test("a provider that refuses connections fails each attempt at once, not at the attempt timeout", arguments: [true, false])
    func refusedFailsFast(fastLane: Bool) async throws {
        try await withGateway(fastLane: fastLane, configure: { config in
            config.retry.attemptTimeoutSeconds = 30
            config.retry.maxAttempts = 3
            Self.addRefusingProvider(&config)
        }) { gateway in
            // A cached key, so that with the fast lane on its first attempt is the fast lane's.
            let key = try await FastLaneEndToEndTests.cachedKey(gateway)
            let started = ContinuousClock.now
            let dead = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "dead-model"))
            #expect(dead.status == 502 && dead.errorCode == "upstream_error")
            // Three attempts with backoff (at most 200 ms each here), far from one 30 s timeout
            // even on a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(15))
            let requestID = try #require(dead.requestID)
            let row = try #require(try await gateway.usageRow(requestID))
            #expect(row.attempts == 3)
        }
    }

    /// `dead-model`, served only by a provider on a port nothing listens on.
    static func addRefusingProvider(_ config: inout SluiceConfig) {
        config.providers["dead"] = ProviderConfig(baseURL: "http://127.0.0.1:1/v1")
        config.models["dead-model"] = ModelConfig(deployments: [Deployment(provider: "dead", model: "x")], price: Price(inputPerToken: 1, outputPerToken: 1))
        config.modelNames.append("dead-model")
    }

    @Test("unknown paths are 404 in the OpenAI shape with a request id")
    func unknownRoute() async throws {
        try await withGateway { gateway in
            let response = try await gateway.send("/v2/whatever", method: .GET, key: nil)
            #expect(response.status == 404 && response.errorCode == "not_found")
            #expect(response.requestID != nil)
        }
    }
}
