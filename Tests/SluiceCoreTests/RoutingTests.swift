import SluiceCore
import Testing

// Tests of the pure routing state machines (SPEC §6): backoff, failure handling, the retry loop,
// cooldowns, weighted deployments and Retry-After parsing. Time is plain milliseconds passed in;
// randomness comes from the seeded SplitMix64 `SeededGenerator` of this test target.

/// Namespace so that `swift test --filter RoutingTests` selects every suite below.
@Suite("Routing") enum RoutingTests {}

// MARK: - Helpers

/// A provider's non-2xx answer.
private func http(_ status: Int, retryAfterMs: Int64? = nil) -> AttemptFailure {
    AttemptFailure(kind: .status(status), retryAfterMs: retryAfterMs, detail: "HTTP \(status)")
}

private let timedOut = AttemptFailure(kind: .timeout, detail: "no response head in time")
private let connectionLost = AttemptFailure(kind: .connection, detail: "connection refused")

private func ref(_ model: String, _ index: Int = 0) -> DeploymentRef {
    DeploymentRef(model: model, index: index)
}

private func chainModel(_ name: String, _ weights: [Int] = [1]) -> RetryLoop.Model {
    RetryLoop.Model(name: name, weights: weights)
}

private func retryPolicy(maxAttempts: Int = 3, baseDelayMs: Int64 = 100, maxDelayMs: Int64 = 1_000,
                    maxRetryAfterMs: Int64 = 30_000) -> RetryPolicy {
    RetryPolicy(maxAttempts: maxAttempts, baseDelayMs: baseDelayMs, maxDelayMs: maxDelayMs, maxRetryAfterMs: maxRetryAfterMs)
}

/// A book that never trips within a test, for tests about the loop alone.
private let calmBook = CooldownBook(afterFailures: 1_000, cooldownMs: 60_000)

/// Drives a loop the way the proxy does: ask `next`; a wait advances the fake clock; an attempt
/// takes the next scripted result (nil: success); a failure that counts toward cooldowns goes into
/// the book before the loop hears of it.
private struct Harness {
    var loop: RetryLoop
    var book: CooldownBook
    var random: SeededGenerator
    var nowMs: Int64
    var steps: [RetryLoop.Step] = []

    init(chain: [RetryLoop.Model], policy: RetryPolicy, book: CooldownBook = calmBook, seed: UInt64 = 1, nowMs: Int64 = 1_000_000) {
        loop = RetryLoop(chain: chain, policy: policy)
        self.book = book
        random = SeededGenerator(seed: seed)
        self.nowMs = nowMs
    }

    @discardableResult
    mutating func next() -> RetryLoop.Step {
        let step = loop.next(nowMs: nowMs, cooldowns: book, random: &random)
        steps.append(step)
        if case .wait(let ms) = step { nowMs += ms }
        return step
    }

    mutating func fail(_ failure: AttemptFailure) {
        if failure.countsTowardCooldown, let current = loop.current {
            book.recordFailure(current, nowMs: nowMs)
        }
        loop.failed(failure, random: &random)
    }

    /// Runs the script to a success or a finished step; returns every step taken.
    @discardableResult
    mutating func run(_ script: [AttemptFailure?], limit: Int = 200) -> [RetryLoop.Step] {
        var results = script[...]
        for _ in 0..<limit {
            switch next() {
            case .wait:
                continue
            case .finished:
                return steps
            case .attempt(let deployment):
                guard let result = results.popFirst() else {
                    Issue.record("attempt on \(deployment) beyond the script; steps: \(steps)")
                    return steps
                }
                guard let failure = result else {
                    book.recordSuccess(deployment)
                    return steps
                }
                fail(failure)
            }
        }
        Issue.record("the loop did not end within \(limit) steps")
        return steps
    }
}

/// The waits among `steps`.
private func waits(_ steps: [RetryLoop.Step]) -> [Int64] {
    steps.compactMap { if case .wait(let ms) = $0 { ms } else { nil } }
}

// MARK: - RetryPolicy.backoffMs

extension RoutingTests {
    @Suite("backoff")
    struct Backoff {
        @Test("full jitter stays within 0...min(max, base×2^retry), grows, caps at max_delay and averages half the ceiling")
        func boundsGrowthCapAndMean() {
            let policy = retryPolicy(baseDelayMs: 100, maxDelayMs: 5_000)
            var random = SeededGenerator(seed: 11)
            let draws = 4_000
            var maxima: [Int64] = []
            for retry in 0...12 {
                let ceiling = min(5_000, 100 * (Int64(1) << retry))
                let values = (0..<draws).map { _ in policy.backoffMs(retry: retry, using: &random) }
                let outside = values.filter { !(0...ceiling).contains($0) }
                #expect(outside.isEmpty, "retry \(retry): \(outside.count) draws outside 0...\(ceiling), e.g. \(outside.prefix(3))")
                let highest = values.max()!, lowest = values.min()!
                // Full jitter: the draws span the whole range up to the ceiling.
                #expect(highest >= ceiling * 95 / 100, "retry \(retry): highest \(highest) of ceiling \(ceiling)")
                #expect(lowest <= ceiling * 5 / 100, "retry \(retry): lowest \(lowest) of ceiling \(ceiling)")
                let mean = Double(values.reduce(0, +)) / Double(draws)
                #expect(abs(mean - Double(ceiling) / 2) <= Double(ceiling) * 0.03,
                        "retry \(retry): mean \(mean), expected about \(Double(ceiling) / 2)")
                maxima.append(highest)
            }
            // 100, 200, …, 3200 double; from retry 6 on (6400) the ceiling is max_delay.
            for retry in 1...5 { #expect(maxima[retry] > maxima[retry - 1] * 3 / 2, "retry \(retry): \(maxima)") }
            #expect(maxima[6...].allSatisfy { $0 <= 5_000 && $0 >= 4_750 }, "\(maxima)")
        }

        @Test("both ends of the range can be drawn (random(0…1) is inclusive)")
        func inclusiveRange() {
            let policy = retryPolicy(baseDelayMs: 3, maxDelayMs: 1_000)
            var random = SeededGenerator(seed: 5)
            let values = Set((0..<2_000).map { _ in policy.backoffMs(retry: 0, using: &random) })
            #expect(values == [0, 1, 2, 3])
        }

        @Test("huge retry numbers saturate at max_delay without overflow", arguments: [62, 63, 64, 100, 1_000, Int.max])
        func noOverflow(retry: Int) {
            let policy = retryPolicy(baseDelayMs: 250, maxDelayMs: 8_000)
            var random = SeededGenerator(seed: UInt64(truncatingIfNeeded: retry))
            let values = (0..<2_000).map { _ in policy.backoffMs(retry: retry, using: &random) }
            #expect(values.allSatisfy { (0...8_000).contains($0) })
            #expect(values.max()! >= 7_600)

            // An unbounded max_delay: the ceiling saturates at Int64.max instead of trapping.
            let unbounded = RetryPolicy(maxAttempts: 3, baseDelayMs: Int64.max / 2, maxDelayMs: .max, maxRetryAfterMs: 0)
            let huge = unbounded.backoffMs(retry: retry, using: &random)
            #expect(huge >= 0)
        }

        @Test("a zero base or zero max_delay means no delay")
        func zeroDelays() {
            var random = SeededGenerator(seed: 9)
            for retry in [0, 1, 5, 100] {
                #expect(retryPolicy(baseDelayMs: 0, maxDelayMs: 1_000).backoffMs(retry: retry, using: &random) == 0)
                #expect(retryPolicy(baseDelayMs: 100, maxDelayMs: 0).backoffMs(retry: retry, using: &random) == 0)
            }
        }

        @Test("the init clamps nonsense to sane values")
        func clamping() {
            let clamped = RetryPolicy(maxAttempts: 0, baseDelayMs: -5, maxDelayMs: -1, maxRetryAfterMs: -1)
            #expect(clamped == RetryPolicy(maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0))
            let fromConfig = RetryPolicy(RetryConfig())
            #expect(fromConfig == RetryPolicy(maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 30_000))
        }
    }
}

// MARK: - AttemptFailure.handling

extension RoutingTests {
    @Suite("failure handling")
    struct FailureHandling {
        @Test("connection errors, timeouts and 429/500/502/503/504/529 are retried")
        func retried() {
            #expect(connectionLost.handling == .retry)
            #expect(timedOut.handling == .retry)
            for status in [429, 500, 502, 503, 504, 529] {
                #expect(http(status).handling == .retry, "status \(status)")
                #expect(http(status).countsTowardCooldown, "status \(status)")
            }
            #expect(connectionLost.countsTowardCooldown && timedOut.countsTowardCooldown)
        }

        @Test("401 and 403 skip the deployment", arguments: [401, 403])
        func credentialsRefused(status: Int) {
            #expect(http(status).handling == .skipDeployment)
            #expect(http(status).countsTowardCooldown)
        }

        @Test("other 5xx skip the deployment without a retry", arguments: [501, 505, 507, 511, 599])
        func otherServerErrors(status: Int) {
            #expect(http(status).handling == .skipDeployment)
            #expect(http(status).countsTowardCooldown)
        }

        @Test("other 4xx go back to the caller and say nothing about the deployment's health",
              arguments: [400, 402, 404, 405, 409, 413, 415, 422, 451])
        func callerErrors(status: Int) {
            #expect(http(status).handling == .returnToCaller)
            #expect(!http(status).countsTowardCooldown)
        }
    }
}

// MARK: - RetryLoop

extension RoutingTests {
    @Suite("retry loop")
    struct Loop {
        @Test("503, 503 on A (max 2 attempts) then B answers: attempt A, wait, attempt A, attempt B")
        func retriesThenFallback() throws {
            let policy = retryPolicy(maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 1_000)
            let seed: UInt64 = 3
            // Only the backoff draws from the generator here (single-deployment models pick without it).
            var replay = SeededGenerator(seed: seed)
            let expectedWait = policy.backoffMs(retry: 0, using: &replay)
            try #require(expectedWait > 0, "pick a seed whose first backoff is not zero")

            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: policy, seed: seed)
            let steps = harness.run([http(503), http(503), nil])
            #expect(steps == [.attempt(ref("a")), .wait(ms: expectedWait), .attempt(ref("a")), .attempt(ref("b"))])
            #expect((0...100).contains(expectedWait))
            #expect(harness.loop.attempts == 3)
            #expect(harness.loop.current == ref("b"))
        }

        @Test("the waits on one model follow retry 0, 1, 2 … and start again at 0 on the next model")
        func backoffIndexPerModel() {
            let policy = retryPolicy(maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250)
            let seed: UInt64 = 17
            var replay = SeededGenerator(seed: seed)
            // The failure of a model's last attempt draws no backoff: the loop moves on at once.
            let expected = [0, 1, 0, 1].map { policy.backoffMs(retry: $0, using: &replay) }

            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: policy, seed: seed)
            let steps = harness.run([http(503), http(500), connectionLost, http(502), timedOut, nil])
            #expect(waits(steps) == expected.filter { $0 > 0 })
            #expect(steps.filter { if case .attempt = $0 { true } else { false } }
                == [ref("a"), ref("a"), ref("a"), ref("b"), ref("b"), ref("b")].map { .attempt($0) })
            #expect(waits(steps).count == 4, "expected four non-zero waits, got \(steps)")
            let ceilings: [Int64] = [100, 200, 100, 200]
            for (wait, ceiling) in zip(waits(steps), ceilings) { #expect((0...ceiling).contains(wait)) }
            #expect(harness.loop.attempts == 6)
        }

        @Test("a zero backoff draw is no wait step at all")
        func zeroBackoff() {
            var harness = Harness(chain: [chainModel("a")], policy: retryPolicy(maxAttempts: 3, baseDelayMs: 0))
            let steps = harness.run([http(503), http(503), nil])
            #expect(steps == [.attempt(ref("a")), .attempt(ref("a")), .attempt(ref("a"))])
        }

        @Test("a caller's error ends the loop after exactly one attempt", arguments: [400, 404, 409, 413, 422])
        func callerErrorReturnsAtOnce(status: Int) {
            var harness = Harness(chain: [chainModel("a", [1, 1]), chainModel("b")], policy: retryPolicy(maxAttempts: 3))
            let steps = harness.run([http(status)])
            #expect(steps.count == 2)
            #expect(steps.last == .finished(.returnToCaller(http(status))))
            #expect(harness.loop.attempts == 1)
            // Asking again does not start anything new, and the deployment's health is untouched.
            #expect(harness.next() == .finished(.returnToCaller(http(status))))
            #expect(harness.loop.attempts == 1)
            if let current = harness.loop.current { #expect(harness.book.consecutiveFailures(current) == 0) }
        }

        @Test("a caller's error after retries still ends the loop at once")
        func callerErrorAfterRetry() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 3))
            let steps = harness.run([http(503), http(422)])
            #expect(steps.last == .finished(.returnToCaller(http(422))))
            #expect(harness.loop.attempts == 2)
            #expect(!steps.contains(.attempt(ref("b"))))
        }

        @Test("a 429 with Retry-After within the maximum waits exactly that long, then the same model")
        func shortRetryAfter() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 2, maxRetryAfterMs: 30_000))
            let start = harness.nowMs
            let steps = harness.run([http(429, retryAfterMs: 1_000), nil])
            #expect(steps == [.attempt(ref("a")), .wait(ms: 1_000), .attempt(ref("a"))])
            #expect(harness.nowMs == start + 1_000)
            #expect(harness.loop.attempts == 2)
        }

        @Test("a Retry-After equal to the maximum is still waited for")
        func retryAfterAtTheMaximum() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 2, maxRetryAfterMs: 30_000))
            let steps = harness.run([http(503, retryAfterMs: 30_000), nil])
            #expect(steps == [.attempt(ref("a")), .wait(ms: 30_000), .attempt(ref("a"))])
        }

        @Test("a Retry-After above the maximum moves to the next model at once, with attempts left")
        func longRetryAfter() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 3, maxRetryAfterMs: 30_000))
            let steps = harness.run([http(429, retryAfterMs: 120_000), nil])
            #expect(steps == [.attempt(ref("a")), .attempt(ref("b"))])
            #expect(harness.loop.attempts == 2)
        }

        @Test("401/403 on one of two deployments: the next attempt goes to the other, with no wait", arguments: [401, 403])
        func credentialsRefusedTwoDeployments(status: Int) {
            for seed: UInt64 in 1...20 {
                var harness = Harness(chain: [chainModel("a", [1, 1]), chainModel("b")], policy: retryPolicy(maxAttempts: 3), seed: seed)
                guard case .attempt(let first) = harness.next() else { Issue.record("no first attempt"); return }
                harness.fail(http(status))
                #expect(harness.next() == .attempt(ref("a", 1 - first.index)), "seed \(seed)")
                // Both refused: the fallback next, although model a has an attempt left.
                harness.fail(http(status))
                #expect(harness.next() == .attempt(ref("b")), "seed \(seed)")
                #expect(harness.loop.attempts == 3)
            }
        }

        @Test("401 on a model's only deployment moves to the fallback model", arguments: [401, 403, 501])
        func credentialsRefusedOneDeployment(status: Int) {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 3))
            let steps = harness.run([http(status), nil])
            #expect(steps == [.attempt(ref("a")), .attempt(ref("b"))])
        }

        @Test("a refused deployment stays skipped for the rest of the request, retries included")
        func skipLastsForTheRequest() {
            for seed: UInt64 in 1...20 {
                var harness = Harness(chain: [chainModel("a", [1, 1])], policy: retryPolicy(maxAttempts: 4, baseDelayMs: 1), seed: seed)
                guard case .attempt(let first) = harness.next() else { Issue.record("no first attempt"); return }
                harness.fail(http(401))
                harness.run([http(503), http(503), nil])
                let attempted = harness.steps.compactMap { if case .attempt(let d) = $0 { d } else { nil } }
                #expect(attempted.count == 4)
                #expect(attempted.dropFirst().allSatisfy { $0 == ref("a", 1 - first.index) }, "seed \(seed): \(attempted)")
            }
        }

        @Test("every attempt failing ends in exhausted with the last failure and the attempt count")
        func exhaustedWithTimeoutLast() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 2, baseDelayMs: 10))
            let steps = harness.run([connectionLost, http(503), http(503), timedOut])
            guard case .finished(.exhausted(let last, let attempts, let retryAfterMs)) = steps.last else {
                Issue.record("expected exhausted, got \(String(describing: steps.last))")
                return
            }
            #expect(last.kind == .timeout)
            #expect(last == timedOut)
            #expect(attempts == 4)
            #expect(harness.loop.attempts == 4)
            #expect(retryAfterMs == nil)
            #expect(steps.filter { if case .attempt = $0 { true } else { false } }.count == 4)
        }

        @Test("exhausted carries the last failure's Retry-After when it gave one")
        func exhaustedRetryAfter() {
            var harness = Harness(chain: [chainModel("a")], policy: retryPolicy(maxAttempts: 2, baseDelayMs: 10))
            let last = AttemptFailure(kind: .timeout, retryAfterMs: 2_500, detail: "timeout")
            let steps = harness.run([http(503), last])
            #expect(steps.last == .finished(.exhausted(last: last, attempts: 2, retryAfterMs: 2_500)))

            // A Retry-After waited for on the last attempt of the last model: exhausted, no wait.
            var short = Harness(chain: [chainModel("a")], policy: retryPolicy(maxAttempts: 1))
            #expect(short.run([http(503, retryAfterMs: 2_000)]) == [
                .attempt(ref("a")), .finished(.exhausted(last: http(503, retryAfterMs: 2_000), attempts: 1, retryAfterMs: 2_000)),
            ])

            // One above the maximum on the last model.
            var long = Harness(chain: [chainModel("a")], policy: retryPolicy(maxAttempts: 3, maxRetryAfterMs: 30_000))
            #expect(long.run([http(429, retryAfterMs: 120_000)]) == [
                .attempt(ref("a")), .finished(.exhausted(last: http(429, retryAfterMs: 120_000), attempts: 1, retryAfterMs: 120_000)),
            ])
        }

        @Test("without a Retry-After, exhausted reports the earliest cooldown met on the way")
        func exhaustedCooldownHint() {
            var book = CooldownBook(afterFailures: 1, cooldownMs: 10_000)
            let now: Int64 = 50_000
            book.recordFailure(ref("a"), nowMs: now - 3_000)  // cooling until now + 7000
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 1), book: book, nowMs: now)
            let steps = harness.run([timedOut])
            #expect(steps == [.attempt(ref("b")), .finished(.exhausted(last: timedOut, attempts: 1, retryAfterMs: 7_000))])
        }
    }
}

extension RoutingTests {
    @Suite("refused credentials")
    struct RefusedCredentials {
        @Test("a 401 does not use up the model's attempts: with max_attempts 1 the model's other deployment is still tried", arguments: [401, 403])
        func otherDeploymentStillTried(status: Int) {
            for seed in UInt64(1)...20 {
                var harness = Harness(chain: [chainModel("a", [1, 1]), chainModel("b")], policy: retryPolicy(maxAttempts: 1), seed: seed)
                let steps = harness.run([http(status), nil])
                guard case .attempt(let first) = steps.first, steps.count == 2, case .attempt(let second) = steps[1] else {
                    Issue.record("seed \(seed): \(steps)")
                    continue
                }
                #expect(first.model == "a" && second.model == "a" && first.index != second.index, "seed \(seed): \(steps)")
            }
        }
    }
}

// MARK: - CooldownBook

extension RoutingTests {
    @Suite("cooldown book")
    struct Cooldowns {
        @Test("trips exactly at after_failures consecutive failures, not before")
        func tripsAtThreshold() {
            var book = CooldownBook(afterFailures: 3, cooldownMs: 30_000)
            let deployment = ref("a")
            #expect(book.recordFailure(deployment, nowMs: 100) == false)
            #expect(book.coolingUntil(deployment, nowMs: 100) == nil)
            #expect(book.recordFailure(deployment, nowMs: 200) == false)
            #expect(book.coolingUntil(deployment, nowMs: 200) == nil)
            #expect(book.consecutiveFailures(deployment) == 2)
            #expect(book.recordFailure(deployment, nowMs: 300) == true)
            #expect(book.consecutiveFailures(deployment) == 3)
            #expect(book.coolingUntil(deployment, nowMs: 300) == 30_300)
            #expect(book.coolingUntil(deployment, nowMs: 30_299) == 30_300)
            // Other deployments, of the same model or not, are untouched.
            #expect(book.coolingUntil(ref("a", 1), nowMs: 300) == nil)
            #expect(book.coolingUntil(ref("b"), nowMs: 300) == nil)
            #expect(book.consecutiveFailures(ref("a", 1)) == 0)
        }

        @Test("a success resets the count")
        func successResets() {
            var book = CooldownBook(afterFailures: 3, cooldownMs: 30_000)
            let deployment = ref("a")
            book.recordFailure(deployment, nowMs: 0)
            book.recordFailure(deployment, nowMs: 1)
            book.recordSuccess(deployment)
            #expect(book.consecutiveFailures(deployment) == 0)
            #expect(book.recordFailure(deployment, nowMs: 2) == false)
            #expect(book.recordFailure(deployment, nowMs: 3) == false)
            #expect(book.coolingUntil(deployment, nowMs: 3) == nil)
            #expect(book.recordFailure(deployment, nowMs: 4) == true)
            #expect(book.coolingUntil(deployment, nowMs: 4) == 30_004)
            // A success also ends a cooldown in progress.
            book.recordSuccess(deployment)
            #expect(book.coolingUntil(deployment, nowMs: 5) == nil)
            #expect(book == CooldownBook(afterFailures: 3, cooldownMs: 30_000))
        }

        @Test("the cooldown ends at its end; then one more failure trips it again at once")
        func endAndTripAgain() {
            var book = CooldownBook(afterFailures: 3, cooldownMs: 1_000)
            let deployment = ref("a", 2)
            for t: Int64 in [0, 10, 20] { book.recordFailure(deployment, nowMs: t) }
            #expect(book.coolingUntil(deployment, nowMs: 1_019) == 1_020)
            #expect(book.coolingUntil(deployment, nowMs: 1_020) == nil)
            #expect(book.coolingUntil(deployment, nowMs: 5_000) == nil)
            #expect(book.recordFailure(deployment, nowMs: 5_000) == true)
            #expect(book.coolingUntil(deployment, nowMs: 5_000) == 6_000)
        }

        @Test("a zero cooldown never trips; after_failures below 1 counts as 1")
        func clamping() {
            var never = CooldownBook(afterFailures: 1, cooldownMs: 0)
            for t: Int64 in 0..<10 { #expect(never.recordFailure(ref("a"), nowMs: t) == false) }
            #expect(never.coolingUntil(ref("a"), nowMs: 9) == nil)

            let eager = CooldownBook(afterFailures: 0, cooldownMs: -5)
            #expect(eager.afterFailures == 1 && eager.cooldownMs == 0)
            var first = CooldownBook(afterFailures: -3, cooldownMs: 500)
            #expect(first.recordFailure(ref("a"), nowMs: 0) == true)
            #expect(first.coolingUntil(ref("a"), nowMs: 0) == 500)
        }
    }
}

// MARK: - RetryLoop with cooldowns

extension RoutingTests {
    @Suite("retry loop and cooldowns")
    struct LoopWithCooldowns {
        @Test("every deployment of the chain cooling: allCoolingDown with the earliest end minus now")
        func allCooling() {
            var book = CooldownBook(afterFailures: 1, cooldownMs: 10_000)
            book.recordFailure(ref("a", 0), nowMs: 0)      // until 10_000
            book.recordFailure(ref("a", 1), nowMs: 2_000)  // until 12_000
            book.recordFailure(ref("b", 0), nowMs: 1_000)  // until 11_000
            let chain = [chainModel("a", [1, 1]), chainModel("b")]
            var harness = Harness(chain: chain, policy: retryPolicy(), book: book, nowMs: 5_000)
            #expect(harness.next() == .finished(.allCoolingDown(retryAfterMs: 5_000)))
            #expect(harness.loop.attempts == 0)

            // The earliest end may be on a later model of the chain.
            var later = CooldownBook(afterFailures: 1, cooldownMs: 10_000)
            later.recordFailure(ref("a", 0), nowMs: 3_000)  // until 13_000
            later.recordFailure(ref("a", 1), nowMs: 4_000)  // until 14_000
            later.recordFailure(ref("b", 0), nowMs: 500)    // until 10_500
            var second = Harness(chain: chain, policy: retryPolicy(), book: later, nowMs: 6_000)
            #expect(second.next() == .finished(.allCoolingDown(retryAfterMs: 4_500)))

            // Once the earliest cooldown has ended, that deployment is tried.
            var afterEnd = Harness(chain: chain, policy: retryPolicy(), book: book, nowMs: 10_000)
            #expect(afterEnd.next() == .attempt(ref("a", 0)))
        }

        @Test("the first model cooling and the second not: the second model is attempted directly")
        func firstModelCooling() {
            var book = CooldownBook(afterFailures: 2, cooldownMs: 10_000)
            book.recordFailure(ref("a"), nowMs: 0)
            book.recordFailure(ref("a"), nowMs: 0)
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(), book: book, nowMs: 1_000)
            let steps = harness.run([nil])
            #expect(steps == [.attempt(ref("b"))])
            #expect(harness.loop.attempts == 1)
        }

        @Test("a pending retry wait is dropped when the model's only deployment starts cooling")
        func pendingWaitDroppedOnCooldown() {
            let book = CooldownBook(afterFailures: 2, cooldownMs: 60_000)
            var harness = Harness(chain: [chainModel("a"), chainModel("b")], policy: retryPolicy(maxAttempts: 3, baseDelayMs: 100), book: book, seed: 4)
            #expect(harness.next() == .attempt(ref("a")))
            harness.fail(http(503))  // 1 failure: no cooldown yet, a retry is due
            let wait = harness.next()
            guard case .wait(let ms) = wait else { Issue.record("expected a wait, got \(wait)"); return }
            #expect((0...100).contains(ms))
            #expect(harness.next() == .attempt(ref("a")))
            harness.fail(http(503))  // 2nd failure: a#0 cools down; the retry's wait must not happen
            #expect(harness.book.coolingUntil(ref("a"), nowMs: harness.nowMs) != nil)
            #expect(harness.next() == .attempt(ref("b")))
            #expect(harness.loop.attempts == 3)
        }

        @Test("a deployment that starts cooling during the wait (another request) is not attempted after it")
        func cooldownDuringWait() {
            var harness = Harness(chain: [chainModel("a"), chainModel("b")],
                                  policy: retryPolicy(maxAttempts: 3), book: CooldownBook(afterFailures: 3, cooldownMs: 60_000))
            #expect(harness.next() == .attempt(ref("a")))
            harness.fail(http(429, retryAfterMs: 2_000))
            #expect(harness.next() == .wait(ms: 2_000))
            // Meanwhile other requests fail on a#0 and trip its cooldown.
            harness.book.recordFailure(ref("a"), nowMs: harness.nowMs - 1)
            harness.book.recordFailure(ref("a"), nowMs: harness.nowMs - 1)
            #expect(harness.next() == .attempt(ref("b")))
        }

        @Test("a wait already returned does not repeat, and cooling deployments of a multi-deployment model are avoided")
        func retryMovesOffCoolingDeployment() {
            for seed: UInt64 in 1...20 {
                var harness = Harness(chain: [chainModel("a", [1, 1]), chainModel("b")],
                                      policy: retryPolicy(maxAttempts: 3, baseDelayMs: 50), book: CooldownBook(afterFailures: 1, cooldownMs: 60_000), seed: seed)
                guard case .attempt(let first) = harness.next() else { Issue.record("no first attempt"); return }
                harness.fail(http(500))  // that deployment now cools down
                var step = harness.next()
                if case .wait = step { step = harness.next() }
                #expect(step == .attempt(ref("a", 1 - first.index)), "seed \(seed)")
            }
        }
    }
}

// MARK: - Weighted pick

extension RoutingTests {
    @Suite("weighted deployments")
    struct WeightedPick {
        private static func firstPick(_ weights: [Int], book: CooldownBook, random: inout SeededGenerator) -> Int? {
            var loop = RetryLoop(chain: [chainModel("m", weights)], policy: retryPolicy())
            guard case .attempt(let deployment) = loop.next(nowMs: 0, cooldowns: book, random: &random) else { return nil }
            #expect(deployment.model == "m")
            return deployment.index
        }

        @Test("weights 3:1 give index 0 three quarters of the picks")
        func threeToOne() {
            var random = SeededGenerator(seed: 2_024)
            var counts = [0, 0]
            for _ in 0..<10_000 {
                guard let index = Self.firstPick([3, 1], book: calmBook, random: &random) else { Issue.record("no attempt"); return }
                counts[index] += 1
            }
            let share = Double(counts[0]) / 10_000
            #expect(abs(share - 0.75) <= 0.02, "share of index 0: \(share), counts \(counts)")
        }

        @Test("weights 1:2:7 are honoured too")
        func threeDeployments() {
            var random = SeededGenerator(seed: 77)
            var counts = [0, 0, 0]
            for _ in 0..<10_000 {
                guard let index = Self.firstPick([1, 2, 7], book: calmBook, random: &random) else { Issue.record("no attempt"); return }
                counts[index] += 1
            }
            let shares = counts.map { Double($0) / 10_000 }
            #expect(abs(shares[0] - 0.1) <= 0.02 && abs(shares[1] - 0.2) <= 0.02 && abs(shares[2] - 0.7) <= 0.02, "\(shares)")
        }

        @Test("a cooling deployment is never picked")
        func coolingNeverPicked() {
            var book = CooldownBook(afterFailures: 1, cooldownMs: 1_000_000)
            book.recordFailure(DeploymentRef(model: "m", index: 0), nowMs: 0)
            var random = SeededGenerator(seed: 8)
            for _ in 0..<2_000 {
                #expect(Self.firstPick([3, 1], book: book, random: &random) == 1)
            }

            var middle = CooldownBook(afterFailures: 1, cooldownMs: 1_000_000)
            middle.recordFailure(DeploymentRef(model: "m", index: 1), nowMs: 0)
            var counts = [0, 0, 0]
            for _ in 0..<4_000 {
                guard let index = Self.firstPick([1, 1, 1], book: middle, random: &random) else { Issue.record("no attempt"); return }
                counts[index] += 1
            }
            #expect(counts[1] == 0)
            #expect(abs(Double(counts[0]) / 4_000 - 0.5) <= 0.04, "\(counts)")
        }
    }
}

// MARK: - RetryAfterValue

extension RoutingTests {
    @Suite("Retry-After values")
    struct RetryAfter {
        /// Sun, 06 Nov 1994 08:49:37 GMT in milliseconds since 1970.
        static let rfcExampleMs: Int64 = 784_111_777_000

        @Test("delay-seconds, trimmed of spaces and tabs", arguments: [
            ("5", Int64(5_000)), (" 7 ", 7_000), ("\t3\t", 3_000), ("0", 0), ("120", 120_000),
        ])
        func delaySeconds(value: String, expected: Int64) {
            #expect(RetryAfterValue.milliseconds(value, nowMs: 123_456) == expected)
        }

        @Test("a delay too large for milliseconds saturates")
        func saturates() {
            #expect(RetryAfterValue.milliseconds("9223372036854775807", nowMs: 0) == .max)
        }

        @Test("an HTTP-date is relative to now")
        func httpDate() {
            let date = "Sun, 06 Nov 1994 08:49:37 GMT"
            #expect(RetryAfterValue.milliseconds(date, nowMs: Self.rfcExampleMs - 5_000) == 5_000)
            #expect(RetryAfterValue.milliseconds(date, nowMs: Self.rfcExampleMs) == 0)
            #expect(RetryAfterValue.milliseconds(date, nowMs: 0) == Self.rfcExampleMs)
            #expect(RetryAfterValue.milliseconds("  " + date + " ", nowMs: Self.rfcExampleMs - 1_500) == 1_500)
            // Other dates, a leap day included.
            #expect(RetryAfterValue.milliseconds("Thu, 01 Jan 1970 00:00:00 GMT", nowMs: 0) == 0)
            #expect(RetryAfterValue.milliseconds("Sat, 01 Jan 2000 00:00:00 GMT", nowMs: 0) == 946_684_800_000)
            #expect(RetryAfterValue.milliseconds("Thu, 29 Feb 2024 12:00:00 GMT", nowMs: 0) == 1_709_208_000_000)
        }

        @Test("a date in the past is 0")
        func pastDate() {
            #expect(RetryAfterValue.milliseconds("Sun, 06 Nov 1994 08:49:37 GMT", nowMs: Self.rfcExampleMs + 1) == 0)
            #expect(RetryAfterValue.milliseconds("Sun, 06 Nov 1994 08:49:37 GMT", nowMs: 1_700_000_000_000) == 0)
        }

        @Test("garbage, negatives and other date forms are nil", arguments: [
            "", " ", "soon", "-5", "-1", "+5", "1.5", "5s", "5 5", "0x10",
            "Sunday, 06-Nov-94 08:49:37 GMT",            // RFC 850 form
            "Sun Nov  6 08:49:37 1994",                   // asctime form
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
        ])
        func invalid(value: String) {
            #expect(RetryAfterValue.milliseconds(value, nowMs: Self.rfcExampleMs) == nil)
        }
    }
}
