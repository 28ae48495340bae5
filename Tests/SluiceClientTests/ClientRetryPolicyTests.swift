import Foundation
import SluiceClient
import Testing

private func info(_ status: Int) -> SluiceClientError.Info { .init(status: status, message: "m") }

private func rateLimited(_ seconds: Int64?) -> SluiceClientError {
    .rateLimited(retryAfter: seconds.map { .seconds($0) }, limit: "rpm", info: info(429))
}

@Suite("Client retry policy")
struct ClientRetryPolicyTests {
    let policy = ClientRetryPolicy(maxAttempts: 4, maxRetryWait: .seconds(60), baseBackoff: .milliseconds(500), maxBackoff: .seconds(8))

    @Test("a 429 waits Retry-After plus at most 10% and at most 250 ms of jitter")
    func rateLimitedWaitsRetryAfter() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<200 {
            guard case .retry(let wait) = policy.decide(attempt: 1, error: rateLimited(1), using: &random) else {
                Issue.record("expected a retry")
                return
            }
            #expect(wait >= .seconds(1) && wait <= .milliseconds(1_100))
            guard case .retry(let long) = policy.decide(attempt: 1, error: rateLimited(30), using: &random) else {
                Issue.record("expected a retry")
                return
            }
            #expect(long >= .seconds(30) && long <= .milliseconds(30_250))
        }
    }

    @Test("a Retry-After of zero retries at once")
    func zeroRetryAfter() {
        #expect(policy.decide(attempt: 1, error: rateLimited(0)) == .retry(after: .zero))
    }

    @Test("a Retry-After beyond maxRetryWait is thrown at once; one equal to it is waited")
    func beyondPatience() {
        #expect(policy.decide(attempt: 1, error: rateLimited(61)) == .throwNow)
        #expect(policy.decide(attempt: 1, error: rateLimited(60)) != .throwNow)
    }

    @Test("a daily-cap 429 is thrown at once, never slept through")
    func dailyCap() {
        let error = SluiceClientError.dailyTokenCapReached(resetsAt: .distantFuture, info: info(429))
        #expect(policy.decide(attempt: 1, error: error) == .throwNow)
    }

    @Test("caller errors and credits are thrown at once", arguments: [400, 401, 402, 403, 404, 409, 413, 422])
    func callerErrorsNotRetried(status: Int) {
        let error = SluiceClientError.from(status: status, headers: [:], body: [], now: Date(timeIntervalSince1970: 0))
        #expect(policy.decide(attempt: 1, error: error) == .throwNow)
    }

    @Test("a 500 is not retried; 502, 503 and 504 are")
    func upstreamStatuses() {
        #expect(policy.decide(attempt: 1, error: .upstream(info: info(500))) == .throwNow)
        for status in [502, 503, 504] {
            #expect(policy.decide(attempt: 1, error: .upstream(info: info(status))) != .throwNow)
        }
    }

    @Test("backoff is full jitter under min(maxBackoff, base·2^(attempt-1)), and spreads")
    func fullJitterBackoff() {
        let roomy = ClientRetryPolicy(maxAttempts: 100, baseBackoff: .milliseconds(500), maxBackoff: .seconds(8))
        var random = SeededRandom(seed: 7)
        for (attempt, bound) in [(1, Duration.milliseconds(500)), (2, .seconds(1)), (3, .seconds(2)), (5, .seconds(8)), (6, .seconds(8)), (90, .seconds(8))] {
            var waits: [Duration] = []
            for _ in 0..<100 {
                guard case .retry(let wait) = roomy.decide(attempt: attempt, error: .transport("reset"), using: &random) else {
                    Issue.record("expected a retry at attempt \(attempt)")
                    return
                }
                #expect(wait >= .zero && wait <= bound)
                waits.append(wait)
            }
            // Full jitter, not a fixed delay: the draws cover the low and high quarters of the range.
            #expect(waits.contains { $0 < bound / 4 })
            #expect(waits.contains { $0 > bound * 3 / 4 })
        }
    }

    @Test("a 429 without Retry-After backs off like a 503")
    func rateLimitedWithoutRetryAfter() {
        var random = SeededRandom(seed: 3)
        guard case .retry(let wait) = policy.decide(attempt: 2, error: rateLimited(nil), using: &random) else {
            Issue.record("expected a retry")
            return
        }
        #expect(wait <= .seconds(1))
    }

    @Test("after maxAttempts attempts everything is thrown")
    func attemptsExhausted() {
        #expect(policy.decide(attempt: 3, error: .transport("reset")) != .throwNow)
        #expect(policy.decide(attempt: 4, error: .transport("reset")) == .throwNow)
        #expect(policy.decide(attempt: 4, error: rateLimited(1)) == .throwNow)
        #expect(ClientRetryPolicy(maxAttempts: 1).decide(attempt: 1, error: .upstream(info: info(503))) == .throwNow)
    }

    @Test("a stream is retried only before its first chunk")
    func streams() {
        #expect(ClientRetryPolicy.isStreamRetryable(afterFirstChunk: false))
        #expect(!ClientRetryPolicy.isStreamRetryable(afterFirstChunk: true))
        #expect(policy.decide(attempt: 1, error: .upstream(info: info(502)), afterFirstChunk: true) == .throwNow)
        #expect(policy.decide(attempt: 1, error: .upstream(info: info(502)), afterFirstChunk: false) != .throwNow)
    }

    @Test("huge durations saturate instead of trapping")
    func hugeDurations() {
        let extreme = ClientRetryPolicy(maxAttempts: 1_000, maxRetryWait: .seconds(Int64.max), baseBackoff: .seconds(Int64.max),
                                        maxBackoff: .seconds(Int64.max), maxRetryAfterJitter: .seconds(Int64.max))
        #expect(extreme.decide(attempt: 999, error: .transport("x")) != .throwNow)
        #expect(extreme.decide(attempt: 1, error: rateLimited(Int64.max)) != .throwNow)
    }
}
