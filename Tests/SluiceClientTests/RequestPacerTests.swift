import SluiceClient
import Testing

/// A pinned start for the simulated clock; only differences from it matter.
private let start = ContinuousClock.now

@Suite("Request pacer")
struct RequestPacerTests {
    @Test("a burst of 200 at RPM 60 never starts more than 48 in any 60 s")
    func burstAtSixtyRPM() {
        var pacer = RequestPacer<ContinuousClock.Instant>(requestsPerMinute: 60)
        let starts = (0..<200).map { _ in start + pacer.reserve(now: start) }
        #expect(mostStartsInAnyMinute(starts) == 48)
        #expect(starts.first == start)
        // Paced, not stalled: the 200th starts 199 intervals of 1.25 s later.
        #expect(starts.last == start + .milliseconds(199 * 1_250))
    }

    @Test("callers arriving over time are spaced the same; an idle caller sends at once")
    func arrivalsOverTime() {
        var pacer = RequestPacer<ContinuousClock.Instant>(requestsPerMinute: 60)
        var starts: [ContinuousClock.Instant] = []
        for second in stride(from: 0, to: 300, by: 1) {
            let now = start + .seconds(second)
            starts.append(now + pacer.reserve(now: now))
        }
        #expect(mostStartsInAnyMinute(starts) <= 48)
        // After an idle minute there is no debt to wait for.
        let later = start + .seconds(3_600)
        #expect(pacer.reserve(now: later) == .zero)
        #expect(pacer.reserve(now: later) == .milliseconds(1_250))
    }

    @Test("a learned lower RPM slows the next starts; the bound holds for the new rate")
    func updateLowersRate() {
        var pacer = RequestPacer<ContinuousClock.Instant>(requestsPerMinute: 600)
        var starts = (0..<100).map { _ in start + pacer.reserve(now: start) }
        let switchover = starts.last!
        pacer.update(requestsPerMinute: 60)
        starts = (0..<100).map { _ in start + pacer.reserve(now: start) }
        #expect(starts.first == switchover + .milliseconds(1_250))
        #expect(mostStartsInAnyMinute(starts) == 48)
    }

    @Test("without an RPM nothing is paced, and stopping pacing sends at once")
    func unpaced() {
        var pacer = RequestPacer<ContinuousClock.Instant>()
        #expect(pacer.interval == nil)
        #expect((0..<10).allSatisfy { _ in pacer.reserve(now: start + .seconds(61)) == .zero })
        // An hour later the unpaced starts are long out of every window: nothing is owed.
        let later = start + .seconds(3_600)
        pacer.update(requestsPerMinute: 60)
        _ = pacer.reserve(now: later)
        #expect(pacer.reserve(now: later) == .milliseconds(1_250))
        pacer.update(requestsPerMinute: nil)
        #expect(pacer.reserve(now: later) == .zero)
    }

    @Test("starts made before the RPM was learned are booked, so the bound holds across the switch")
    func unpacedBurstIsBooked() {
        var pacer = RequestPacer<ContinuousClock.Instant>()
        var starts = (0..<8).map { _ in start + pacer.reserve(now: start) }
        pacer.update(requestsPerMinute: 60)
        starts += (0..<100).map { _ in start + pacer.reserve(now: start) }
        #expect(starts[8] == start + .seconds(10))
        #expect(mostStartsInAnyMinute(starts) == 48)
    }

    @Test("the interval is 60 s / (fraction · rpm), rounded up so no extra start fits", arguments: [
        (60.0, 0.8, Duration.milliseconds(1_250)), (60, 1, .seconds(1)), (7, 0.8, .nanoseconds(10_714_285_715)), (0, 0.8, .seconds(3_600)),
    ])
    func interval(rpm: Double, fraction: Double, expected: Duration) {
        #expect(RequestPacer<ContinuousClock.Instant>(requestsPerMinute: rpm, targetFraction: fraction).interval == expected)
    }

    @Test("an odd rate still holds its bound", arguments: [7.0, 13, 99, 1_000])
    func oddRates(rpm: Double) {
        var pacer = RequestPacer<ContinuousClock.Instant>(requestsPerMinute: rpm)
        let starts = (0..<Int(rpm) * 3).map { _ in start + pacer.reserve(now: start) }
        #expect(mostStartsInAnyMinute(starts) <= Int((rpm * 0.8).rounded(.up)))
    }
}
