import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import Testing

/// Retries, fallbacks, cooldowns, weighted deployments and stream timeouts (SPEC §6), against the
/// mock provider's scripted failures over real sockets.
@Suite("Resilience end to end")
struct ResilienceEndToEndTests {
    /// A `mock.id` no other request shares.
    static func scriptID() -> String { "s" + UUID().uuidString.prefix(8) }

    static func modelOfBody(_ response: TestResponse) -> String? { response.json["model"] as? String }

    @Test("503, 503 on gpt-4o with max_attempts 2: served by its fallback gpt-4o-mini, and the headers, body and usage row say so")
    func fallbackAfterRetries() async throws {
        try await withGateway(configure: { $0.retry.maxAttempts = 2 }) { gateway in
            let (key, _) = try await gateway.makeKey()
            let content = "x mock.status=503,503 mock.id=\(Self.scriptID()) mock.fail_model=gpt-4o"
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o", content: content))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-served-model") == "gpt-4o-mini")
            #expect(response.headers.first(name: "sluice-attempts") == "3")
            #expect(response.headers.first(name: "sluice-fallback-from") == "gpt-4o")
            #expect(Self.modelOfBody(response) == "gpt-4o-mini")
            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.servedModel == "gpt-4o-mini" && row.requestedModel == "gpt-4o" && row.attempts == 3)
            // Charged once, at the served model's price.
            #expect(row.cost == NanoDollars(Int64(row.inputTokens) * 150 + Int64(row.outputTokens) * 600))
        }
    }

    @Test("a provider's 400 is one attempt, no retry and no fallback, returned with its status and message")
    func clientErrorIsNotRetried() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            // Were it tried again, the second attempt would succeed.
            let content = "x mock.status=400 mock.times=1 mock.id=\(Self.scriptID()) mock.message=bad_field"
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o", content: content))
            #expect(response.status == 400 && response.errorMessage == "bad field")
            #expect(response.headers.first(name: "sluice-attempts") == "1")
        }
    }

    @Test("a provider 429 with Retry-After: 1 is retried on the same model no sooner than a second later")
    func retryAfterHonoured() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let content = "x mock.status=429 mock.times=1 mock.retry_after=1 mock.id=\(Self.scriptID())"
            let started = ContinuousClock.now
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o", content: content))
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-attempts") == "2")
            #expect(response.headers.first(name: "sluice-served-model") == "gpt-4o")
            #expect(elapsed >= .seconds(1))
        }
    }

    @Test("a Retry-After beyond max_retry_after_s moves to the fallback at once")
    func longRetryAfterFallsBack() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let content = "x mock.status=429 mock.retry_after=120 mock.fail_model=gpt-4o"
            let started = ContinuousClock.now
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o", content: content))
            // Far short of the 120 s asked, with room for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-served-model") == "gpt-4o-mini")
            #expect(response.headers.first(name: "sluice-attempts") == "2")
        }
    }

    @Test("exhausted retries are 502 upstream_error with the last provider status and message, and the attempts made")
    func exhaustion() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "x mock.status=503 mock.message=overloaded_now"))
            #expect(response.status == 502 && response.errorCode == "upstream_error")
            #expect(response.errorMessage?.contains("503") == true && response.errorMessage?.contains("overloaded now") == true)
            #expect(response.headers.first(name: "sluice-attempts") == "3")
            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.attempts == 3 && row.status == 502)
        }
    }

    @Test("a body models list is the whole chain: it falls back in its own order, and configured fallbacks are not added")
    func bodyChain() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let failMini = "x mock.status=503 mock.fail_model=gpt-4o-mini"
            let body = #"{"models":["gpt-4o-mini","gpt-4o"],"messages":[{"role":"user","content":"\#(failMini)"}]}"#
            let response = try await gateway.send("/v1/chat/completions", key: key, body: body)
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-served-model") == "gpt-4o")
            #expect(response.headers.first(name: "sluice-fallback-from") == "gpt-4o-mini")
            #expect(response.headers.first(name: "sluice-attempts") == "4")

            let failFour = "x mock.status=503 mock.fail_model=gpt-4o"
            let alone = #"{"model":"gpt-4o","models":["gpt-4o"],"messages":[{"role":"user","content":"\#(failFour)"}]}"#
            let refused = try await gateway.send("/v1/chat/completions", key: key, body: alone)
            #expect(refused.status == 502)
            #expect(refused.headers.first(name: "sluice-attempts") == "3")
        }
    }

    @Test("after after_failures failures in a row a deployment cools down: 503 upstream_unavailable with Retry-After, no provider call, then a probe")
    func cooldown() async throws {
        try await withGateway(configure: { config in
            config.retry.maxAttempts = 1
            config.retry.cooldownAfterFailures = 2
            // Long enough that the third request surely comes within it on a loaded machine.
            config.retry.cooldownSeconds = 5
        }) { gateway in
            let (key, _) = try await gateway.makeKey()
            // Two failures, then the provider would answer: only a request that reaches it succeeds.
            let content = "x mock.status=503 mock.times=2 mock.id=\(Self.scriptID())"
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content)).status == 502)
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content)).status == 502)
            let cooling = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content))
            #expect(cooling.status == 503 && cooling.errorCode == "upstream_unavailable")
            let retryAfter = try #require(cooling.headers.first(name: "retry-after").flatMap(Int.init))
            #expect((1...5).contains(retryAfter))
            #expect(cooling.headers.first(name: "sluice-attempts") == nil)
            // Only that deployment cools down: another model still answers.
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o")).status == 200)

            try await Task.sleep(for: .seconds(retryAfter))
            let probe = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content))
            #expect(probe.status == 200)
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
        }
    }

    @Test("a model with deployments of weight 3 and 1 spreads requests about 3 to 1")
    func weightedSpread() async throws {
        try await withGateway(configure: { config in
            config.models["spread"] = ModelConfig(deployments: [Deployment(provider: "mock", model: "spread-a", weight: 3),
                                                                Deployment(provider: "mock", model: "spread-b", weight: 1)],
                                                  price: Price(inputPerToken: 1, outputPerToken: 1))
            config.modelNames.append("spread")
        }) { gateway in
            let (key, _) = try await gateway.makeKey(preset: "open")
            let requests = 600
            var served: [String?] = []
            // 20 at a time: the spread is about the draw, not about load.
            for _ in 0..<(requests / 20) {
                served += try await withThrowingTaskGroup(of: String?.self) { group in
                    for _ in 0..<20 {
                        group.addTask { Self.modelOfBody(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "spread"))) }
                    }
                    var names: [String?] = []
                    for try await name in group { names.append(name) }
                    return names
                }
            }
            let a = served.filter { $0 == "spread-a" }.count
            let b = served.filter { $0 == "spread-b" }.count
            #expect(a + b == requests)
            // 3/4 expected; ±0.09 is 5 standard deviations for 600 draws (a false alarm in some
            // 3 million runs), and far from the 1/2 of weights ignored.
            let share = Double(a) / Double(requests)
            #expect(abs(share - 0.75) < 0.09, "share of the weight-3 deployment: \(share)")
        }
    }

    @Test("a stream that goes silent is ended after idle_timeout_s with an error event; usage so far is recorded")
    func stalledStream() async throws {
        try await withGateway(configure: { $0.retry.idleTimeoutSeconds = 1 }) { gateway in
            let (key, _) = try await gateway.makeKey()
            let started = ContinuousClock.now
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "x mock.stall_after=2", stream: true))
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 200)
            #expect(elapsed >= .seconds(1) && elapsed < .seconds(10))
            let events = response.events
            #expect(!events.contains("[DONE]"))
            let last = try #require(events.last)
            #expect(last.contains("upstream_error") && last.contains("idle_timeout_s"))
            let row = try #require(try await gateway.usageRow(response.requestID!))
            #expect(row.errorCode == "upstream_error" && row.outputTokens > 0 && row.attempts == 1)
        }
    }

    @Test("a stream that breaks after its first chunks is not retried, even with a fallback configured")
    func brokenStreamNotRetried() async throws {
        try await withGateway { gateway in
            let (key, _) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o", content: "x mock.break_after=2", stream: true))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-attempts") == "1")
            #expect(response.events.last?.contains("upstream_error") == true)
        }
    }
}
