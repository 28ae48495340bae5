import Foundation
import SluiceClient
import SluiceCore
import Testing

/// The client against a real gateway and the mock provider (SPEC §9, issue 8).
@Suite("SluiceClient end to end")
struct SluiceClientEndToEndTests {
    /// No pacing and a recording sleeper: every recorded wait is a retry wait, so attempts are
    /// `waits.count + 1`.
    static func counting(_ sleeper: RecordingSleeper, retry: ClientRetryPolicy = ClientRetryPolicy()) -> SluiceClientConfiguration {
        SluiceClientConfiguration(retryPolicy: retry, pacing: .off, sleep: sleeper.sleep)
    }

    @Test("a plain chat completion decodes with its usage")
    func plainChat() async throws {
        try await withClient { client, _ in
            let completion = try await client.chat(chatRequest("one two three"))
            #expect(completion.model == "gpt-4o-mini")
            #expect(completion.choices.first?.message.role == "assistant")
            #expect(completion.choices.first?.message.content?.split(separator: " ").count == 12)
            #expect(completion.usage?.completionTokens == 12)
        }
    }

    @Test("a streamed chat yields the chunks, then ends at [DONE]")
    func streamedChat() async throws {
        try await withClient { client, _ in
            var text = ""
            var chunks = 0
            for try await chunk in client.chatStream(chatRequest("hello mock.completion_tokens=5")) {
                chunks += 1
                text += chunk.choices.first?.delta.content ?? ""
            }
            #expect(text.split(separator: " ").count == 5)
            #expect(chunks >= 5)
        }
    }

    @Test("embeddings and models decode")
    func embeddingsAndModels() async throws {
        try await withClient { client, _ in
            let embeddings = try await client.embeddings(EmbeddingRequest(model: "text-embedding-3-small", input: ["a b", "c"]))
            #expect(embeddings.data.map(\.index) == [0, 1])
            #expect(embeddings.data.allSatisfy { $0.embedding.count == 8 })
            let models = try await client.models()
            #expect(!models.data.isEmpty)
        }
    }

    @Test("a 401 is thrown at once as .authentication, one attempt")
    func unauthenticated() async throws {
        let sleeper = RecordingSleeper()
        try await withClient { _, gateway in
            let client = SluiceClient(baseURL: gateway.baseURL, apiKey: "sk-not-a-key", configuration: Self.counting(sleeper))
            defer { Task { try? await client.shutdown() } }
            await #expect {
                _ = try await client.chat(chatRequest())
            } throws: { error in
                guard case .authentication(let info) = error as? SluiceClientError else { return false }
                return info.status == 401 && info.requestID != nil
            }
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("rpm 5 without retries: the 6th quick call is .rateLimited with Retry-After and the limit named")
    func rateLimitedWithoutRetry() async throws {
        let sleeper = RecordingSleeper()
        try await withClient(preset: PresetConfig(rpm: 5), configuration: Self.counting(sleeper, retry: ClientRetryPolicy(maxAttempts: 1))) { client, _ in
            for _ in 0..<5 { _ = try await client.chat(chatRequest()) }
            await #expect {
                _ = try await client.chat(chatRequest())
            } throws: { error in
                guard case .rateLimited(let retryAfter, let limit, let info) = error as? SluiceClientError else { return false }
                return retryAfter.map { $0 >= .seconds(1) && $0 <= .seconds(60) } == true && limit?.contains("rpm") == true && info.status == 429
            }
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("a 429 is retried after its Retry-After (plus jitter), on the injected sleeper")
    func retryAfterHonoured() async throws {
        let sleeper = RecordingSleeper()
        let retry = ClientRetryPolicy(maxAttempts: 2, maxRetryWait: .seconds(120))
        try await withClient(preset: PresetConfig(rpm: 1), configuration: Self.counting(sleeper, retry: retry)) { client, _ in
            _ = try await client.chat(chatRequest())
            // The sleeper does not really wait, so the second attempt is refused too and thrown.
            await #expect(throws: SluiceClientError.self) { _ = try await client.chat(chatRequest()) }
            #expect(sleeper.waits.count == 1)
            let wait = try #require(sleeper.waits.first)
            #expect(wait >= .seconds(1) && wait <= .seconds(60) + .milliseconds(250))
        }
    }

    @Test("a Retry-After beyond maxRetryWait is thrown at once")
    func retryAfterTooLong() async throws {
        let sleeper = RecordingSleeper()
        let retry = ClientRetryPolicy(maxRetryWait: .milliseconds(500))
        try await withClient(preset: PresetConfig(rpm: 1), configuration: Self.counting(sleeper, retry: retry)) { client, _ in
            _ = try await client.chat(chatRequest())
            await #expect {
                _ = try await client.chat(chatRequest())
            } throws: { error in
                if case .rateLimited = error as? SluiceClientError { return true }
                return false
            }
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("the daily token cap is thrown without waiting, with its reset time")
    func dailyCap() async throws {
        let sleeper = RecordingSleeper()
        try await withClient(preset: PresetConfig(dailyTokenCap: 30), configuration: Self.counting(sleeper)) { client, _ in
            _ = try await client.chat(chatRequest())
            _ = try await client.chat(chatRequest())
            let before = Date()
            await #expect {
                _ = try await client.chat(chatRequest())
            } throws: { error in
                guard case .dailyTokenCapReached(let resetsAt, _) = error as? SluiceClientError else { return false }
                return resetsAt > before && resetsAt <= before.addingTimeInterval(86_400 + 2)
            }
            #expect(sleeper.waits.isEmpty)
        }
    }

    @Test("502/503 are retried with backoff until the provider answers")
    func upstreamRetried() async throws {
        let sleeper = RecordingSleeper()
        // The gateway's own retries are turned off so that the client sees each 503.
        try await withClient(configuration: Self.counting(sleeper), configure: { $0.retry.maxAttempts = 1 }) { client, _ in
            let completion = try await client.chat(chatRequest("x mock.status=503 mock.times=2 mock.id=e2e-503"))
            #expect(!completion.choices.isEmpty)
            #expect(sleeper.waits.count == 2)
            // Full jitter under 500 ms, then 1 s.
            #expect(sleeper.waits.count == 2 && sleeper.waits[0] <= .milliseconds(500) && sleeper.waits[1] <= .seconds(1))
        }
    }

    @Test("a stream is retried before its first chunk, never after")
    func streamRetry() async throws {
        let sleeper = RecordingSleeper()
        try await withClient(configuration: Self.counting(sleeper), configure: { $0.retry.maxAttempts = 1 }) { client, _ in
            var text = ""
            for try await chunk in client.chatStream(chatRequest("x mock.status=503 mock.times=1 mock.id=e2e-stream mock.completion_tokens=3")) {
                text += chunk.choices.first?.delta.content ?? ""
            }
            #expect(text.split(separator: " ").count == 3)
            #expect(sleeper.waits.count == 1)

            var received = 0
            await #expect(throws: SluiceClientError.self) {
                for try await chunk in client.chatStream(chatRequest("x mock.break_after=2 mock.completion_tokens=10")) {
                    if chunk.choices.first?.delta.content != nil { received += 1 }
                }
            }
            #expect(received >= 1)
            #expect(sleeper.waits.count == 1)
        }
    }

    @Test("leaving a stream early cancels the request: the gateway's concurrency lease is released")
    func streamCancellation() async throws {
        let configuration = SluiceClientConfiguration(retryPolicy: ClientRetryPolicy(maxAttempts: 1), pacing: .off)
        try await withClient(preset: PresetConfig(maxConcurrent: 1), configuration: configuration) { client, _ in
            for try await _ in client.chatStream(chatRequest("x mock.chunk_ms=100 mock.completion_tokens=100")) { break }
            // With the lease held (the stream still running) the gateway answers 429; once the
            // request is cancelled it notices at its next write and frees the lease.
            var admitted = false
            let deadline = ContinuousClock.now + .seconds(20)
            while !admitted, ContinuousClock.now < deadline {
                do {
                    _ = try await client.chat(chatRequest())
                    admitted = true
                } catch let error as SluiceClientError {
                    guard case .rateLimited = error else { throw error }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(admitted)
        }
    }

    @Test("pacing learned from RateLimit-Policy spaces the calls at 80% of the RPM, with no 429")
    func learnedPacing() async throws {
        let sleeper = RecordingSleeper()
        let configuration = SluiceClientConfiguration(
            retryPolicy: ClientRetryPolicy(maxAttempts: 1),
            sleep: { wait in
                try await sleeper.sleep(wait)
                try await Task.sleep(for: wait)
            })
        try await withClient(preset: PresetConfig(rpm: 120), configuration: configuration) { client, _ in
            let start = ContinuousClock.now
            var durations: [Duration] = []
            // Any 429 would be thrown, since retries are off.
            for _ in 0..<6 {
                let callStart = ContinuousClock.now
                _ = try await client.chat(chatRequest())
                durations.append(ContinuousClock.now - callStart)
            }
            let elapsed = ContinuousClock.now - start
            #expect(client.pacedRequestsPerMinute == 120)
            // Learned after the first answer: starts 2…6 are 625 ms apart, so ≥ 4 intervals.
            #expect(elapsed >= .milliseconds(4 * 625 - 50))
            // Each of calls 2…6 waited, unless the call before it took a whole interval by itself
            // (a loaded machine): then its start was already far enough from the one before.
            let slowBefore = durations.prefix(5).filter { $0 >= .milliseconds(625) }.count
            #expect(sleeper.waits.count + slowBefore >= 4, "waits \(sleeper.waits), durations \(durations)")
        }
    }

    @Test("the admission queue refuses a call beyond its bound with .queueFull")
    func queueFull() async throws {
        let configuration = SluiceClientConfiguration(pacing: .off, maxConcurrent: 1, queueCapacity: 1)
        try await withClient(configuration: configuration) { client, _ in
            let results = await withTaskGroup(of: Result<ChatCompletion, SluiceClientError>.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do throws(SluiceClientError) { return .success(try await client.chat(chatRequest("slow mock.first_byte_ms=2000"))) } catch { return .failure(error) }
                    }
                }
                var all: [Result<ChatCompletion, SluiceClientError>] = []
                for await result in group { all.append(result) }
                return all
            }
            #expect(results.filter { if case .success = $0 { true } else { false } }.count == 2)
            #expect(results.filter { if case .failure(.queueFull(capacity: 1)) = $0 { true } else { false } }.count == 1)
        }
    }
}
