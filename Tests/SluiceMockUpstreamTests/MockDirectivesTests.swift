@testable import SluiceMockUpstream
import Testing

@Suite struct MockDirectivesTests {
    private func directives(_ text: String) -> MockDirectives {
        var directives = MockDirectives()
        for word in text.split(separator: " ") { directives.apply(word: word) }
        return directives
    }

    @Test func parsesEveryDirectiveAndIgnoresOtherWords() {
        let parsed = directives(
            "please mock.status=503,429 mock.code=overloaded mock.message=try_again_later mock.retry_after=3 "
                + "mock.times=2 mock.id=abc mock.first_byte_ms=10 mock.completion_tokens=4 mock.break_after=1 "
                + "mock.stall_after=2 mock.no_usage=1 mock.chunk_ms=5 mock.unknown=1 mock.status=oops"
        )
        #expect(parsed.statuses == [503, 429])
        #expect(parsed.code == "overloaded")
        #expect(parsed.message == "try again later")
        #expect(parsed.retryAfter == 3)
        #expect(parsed.times == 2)
        #expect(parsed.id == "abc")
        #expect(parsed.firstByteMs == 10)
        #expect(parsed.completionTokens == 4)
        #expect(parsed.breakAfter == 1)
        #expect(parsed.stallAfter == 2)
        #expect(parsed.noUsage)
        #expect(parsed.chunkMs == 5)
        #expect(directives("hello world") == MockDirectives())
    }

    @Test func withoutAnIDTheFirstStatusAlwaysApplies() {
        let counters = MockCounters()
        let parsed = directives("mock.status=502,503 mock.times=1")
        #expect((0..<3).map { _ in parsed.scriptedStatus(model: "m", counters: counters) } == [502, 502, 502])
    }

    @Test func aTwoHundredInAListIsARequestAnsweredNormally() {
        let counters = MockCounters()
        let parsed = directives("mock.status=429,200,503 mock.id=l")
        #expect((0..<4).map { _ in parsed.scriptedStatus(model: "m", counters: counters) } == [429, nil, 503, nil])
        #expect(directives("mock.status=200").statuses.isEmpty)
        #expect(directives("mock.status=200,429").scriptedStatus(model: "m", counters: counters) == nil)
    }

    @Test func countersAreKeptPerID() {
        let counters = MockCounters()
        let first = directives("mock.status=500 mock.times=1 mock.id=a")
        let second = directives("mock.status=500 mock.times=1 mock.id=b")
        #expect(first.scriptedStatus(model: "m", counters: counters) == 500)
        #expect(second.scriptedStatus(model: "m", counters: counters) == 500)
        #expect(first.scriptedStatus(model: "m", counters: counters) == nil)
        #expect(second.scriptedStatus(model: "m", counters: counters) == nil)
    }

    @Test func aFailModelScriptsOnlyThatModelAndCountsOnlyItsRequests() {
        let counters = MockCounters()
        let parsed = directives("mock.status=503,503 mock.id=f mock.fail_model=gpt-4o")
        #expect(parsed.failModel == "gpt-4o")
        #expect(parsed.scriptedStatus(model: "gpt-4o-mini", counters: counters) == nil)
        #expect(parsed.scriptedStatus(model: "gpt-4o", counters: counters) == 503)
        #expect(parsed.scriptedStatus(model: "gpt-4o-mini", counters: counters) == nil)
        #expect(parsed.scriptedStatus(model: "gpt-4o", counters: counters) == 503)
        #expect(parsed.scriptedStatus(model: "gpt-4o", counters: counters) == nil)
    }

    @Test func embeddingsAreStableAcrossRuns() {
        // Pinned so a change to the derivation is a deliberate one: other targets may store them.
        #expect(MockUsage.embedding(for: "hello") == [0.905546, 0.237689, -0.657663, -0.402944, -0.279095, -0.933244, 0.64301, 0.74646])
        #expect(MockUsage.embedding(for: "") != MockUsage.embedding(for: " "))
    }
}
