import Foundation
import SluiceClient
import Testing

/// A chat answer the client can decode.
let scriptedChatBody = #"{"id":"chatcmpl-1","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#

/// The client against a server that answers exactly what the test scripts: each status goes down
/// the right path (thrown at once, backed off, waited out) with the right number of attempts.
@Suite("SluiceClient against a scripted server")
struct ScriptedServerTests {
    /// Pacing off and a sleeper that records instead of waiting.
    static func configuration(_ sleeper: RecordingSleeper, maxAttempts: Int = 4) -> SluiceClientConfiguration {
        SluiceClientConfiguration(retryPolicy: ClientRetryPolicy(maxAttempts: maxAttempts), pacing: .off, sleep: sleeper.sleep)
    }

    /// The case name of an error, to compare without its details.
    static func kind(_ error: (any Error)?) -> String {
        guard let error = error as? SluiceClientError else { return "not a SluiceClientError: \(String(describing: error))" }
        switch error {
        case .rateLimited: return "rateLimited"
        case .dailyTokenCapReached: return "dailyTokenCapReached"
        case .insufficientCredits: return "insufficientCredits"
        case .invalidRequest: return "invalidRequest"
        case .authentication: return "authentication"
        case .permissionDenied: return "permissionDenied"
        case .notFound: return "notFound"
        case .upstream: return "upstream"
        case .transport: return "transport"
        case .queueFull: return "queueFull"
        case .cancelled: return "cancelled"
        }
    }

    @Test("a client error is thrown at once, typed, after one attempt", arguments: [
        (400, "invalidRequest"), (401, "authentication"), (403, "permissionDenied"), (404, "notFound"),
        (422, "invalidRequest"), (402, "insufficientCredits"),
    ])
    func clientErrorThrownAtOnce(status: Int, kind: String) async throws {
        let sleeper = RecordingSleeper()
        try await withScriptedServer([.error(status, code: "code_\(status)", headers: ["X-Request-Id": "req-\(status)"]),
                                      .json(200, scriptedChatBody)],
                                     configuration: Self.configuration(sleeper)) { client, server in
            let error = await #expect(throws: SluiceClientError.self) { _ = try await client.chat(chatRequest()) }
            #expect(Self.kind(error) == kind)
            #expect(error?.status == status)
            #expect(error?.info?.code == "code_\(status)")
            #expect(error?.info?.requestID == "req-\(status)")
            #expect(server.requests == 1)
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("502, 503 and 504 are retried with full-jitter backoff up to maxAttempts, then thrown", arguments: [502, 503, 504])
    func gatewayErrorsBackOff(status: Int) async throws {
        let sleeper = RecordingSleeper()
        try await withScriptedServer([.error(status)], configuration: Self.configuration(sleeper, maxAttempts: 4)) { client, server in
            let error = await #expect(throws: SluiceClientError.self) { _ = try await client.chat(chatRequest()) }
            #expect(Self.kind(error) == "upstream")
            #expect(error?.status == status)
            #expect(server.requests == 4)
            // Full jitter under caps that double from 500 ms: each wait in 0...cap, the caps non-decreasing.
            let caps: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2)]
            #expect(sleeper.waits.count == 3)
            for (wait, cap) in zip(sleeper.waits, caps) { #expect(wait >= .zero && wait <= cap) }
        }
    }

    @Test("a 502 then a 200 succeeds on the second attempt")
    func gatewayErrorThenSuccess() async throws {
        let sleeper = RecordingSleeper()
        try await withScriptedServer([.error(502), .json(200, scriptedChatBody)], configuration: Self.configuration(sleeper)) { client, server in
            let answer = try await client.chat(chatRequest())
            #expect(answer.choices.first?.message.content == "ok")
            #expect(server.requests == 2)
            #expect(sleeper.waits.count == 1)
        }
    }

    @Test("a 429 with Retry-After: 2 is waited out (≥ 2 s asked of the sleeper) and the retry succeeds")
    func retryAfterHonoured() async throws {
        let sleeper = RecordingSleeper()
        try await withScriptedServer([.error(429, message: "Rate limit exceeded: rpm", code: "rate_limit_exceeded", headers: ["Retry-After": "2"]),
                                      .json(200, scriptedChatBody)],
                                     configuration: Self.configuration(sleeper)) { client, server in
            let answer = try await client.chat(chatRequest())
            #expect(answer.id == "chatcmpl-1")
            #expect(server.requests == 2)
            #expect(sleeper.waits.count == 1)
            // Retry-After plus at most 250 ms of jitter.
            #expect(sleeper.waits.allSatisfy { $0 >= .seconds(2) && $0 <= .milliseconds(2_250) })
        }
    }

    @Test("a 429 whose Retry-After is an HTTP-date is waited out until that date")
    func retryAfterHTTPDate() async throws {
        let sleeper = RecordingSleeper()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let started = Date()
        let date = formatter.string(from: started.addingTimeInterval(5))
        try await withScriptedServer([.error(429, headers: ["Retry-After": date]), .json(200, scriptedChatBody)],
                                     configuration: Self.configuration(sleeper)) { client, server in
            _ = try await client.chat(chatRequest())
            let elapsed = Date().timeIntervalSince(started)
            #expect(server.requests == 2)
            // The date is whole seconds, 4 to 5 s after `started`; the wait runs from when the 429
            // was read, at most `elapsed` after it (a loaded machine makes that long), plus jitter.
            #expect(sleeper.waits.count == 1)
            let shortest = Duration.milliseconds(Int64((4 - elapsed) * 1000) - 50)
            #expect(sleeper.waits.allSatisfy { $0 >= shortest && $0 <= .milliseconds(5_300) }, "\(sleeper.waits), elapsed \(elapsed) s")
        }
    }

    @Test("a 429 whose Retry-After is beyond maxRetryWait is thrown at once")
    func retryAfterTooLong() async throws {
        let sleeper = RecordingSleeper()
        try await withScriptedServer([.error(429, message: "Rate limit exceeded: rpm", headers: ["Retry-After": "120"]),
                                      .json(200, scriptedChatBody)],
                                     configuration: Self.configuration(sleeper)) { client, server in
            let error = await #expect(throws: SluiceClientError.self) { _ = try await client.chat(chatRequest()) }
            guard case .rateLimited(let retryAfter, let limit, _) = error else {
                Issue.record("expected .rateLimited, got \(String(describing: error))")
                return
            }
            #expect(retryAfter == .seconds(120))
            #expect(limit == "rpm")
            #expect(server.requests == 1)
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("the daily-cap 429 is thrown at once as .dailyTokenCapReached, resetting at now + Retry-After")
    func dailyCapThrownAtOnce() async throws {
        let sleeper = RecordingSleeper()
        let body = #"{"error":{"message":"Daily token cap reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#
        try await withScriptedServer([.json(429, body, headers: ["Retry-After": "3600"]), .json(200, scriptedChatBody)],
                                     configuration: Self.configuration(sleeper)) { client, server in
            let before = Date()
            let error = await #expect(throws: SluiceClientError.self) { _ = try await client.chat(chatRequest()) }
            let after = Date()
            guard case .dailyTokenCapReached(let resetsAt, let info) = error else {
                Issue.record("expected .dailyTokenCapReached, got \(String(describing: error))")
                return
            }
            #expect(resetsAt >= before.addingTimeInterval(3_599) && resetsAt <= after.addingTimeInterval(3_601))
            #expect(info.status == 429)
            #expect(server.requests == 1)
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("a stream that fails after its first chunk is not retried", arguments: ["error event", "closed early"])
    func streamNotRetriedAfterFirstChunk(ending: String) async throws {
        let sleeper = RecordingSleeper()
        let chunk = #"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hel"}}]}"#
        var payloads = [chunk]
        if ending == "error event" { payloads.append(#"{"error":{"message":"provider failed","type":"server_error","code":"upstream_error"}}"#) }
        try await withScriptedServer([ScriptedServer.Answer(status: 200, body: .events(payloads))],
                                     configuration: Self.configuration(sleeper)) { client, server in
            var received: [String] = []
            let error = await #expect(throws: SluiceClientError.self) {
                for try await chunk in client.chatStream(chatRequest()) { received.append(chunk.choices.first?.delta.content ?? "") }
            }
            #expect(received == ["hel"])
            #expect(Self.kind(error) == (ending == "error event" ? "upstream" : "transport"))
            #expect(server.requests == 1)
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("a stream refused before its first chunk is retried")
    func streamRetriedBeforeFirstChunk() async throws {
        let sleeper = RecordingSleeper()
        let chunk = #"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}"#
        try await withScriptedServer([.error(503), ScriptedServer.Answer(status: 200, body: .events([chunk, "[DONE]"]))],
                                     configuration: Self.configuration(sleeper)) { client, server in
            var received: [String] = []
            for try await chunk in client.chatStream(chatRequest()) { received.append(chunk.choices.first?.delta.content ?? "") }
            #expect(received == ["hi"])
            #expect(server.requests == 2)
            #expect(sleeper.waits.count == 1)
        }
    }
}
