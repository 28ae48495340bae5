import NIOConcurrencyHelpers
import SluiceClient
import Testing

/// Simulated time for the client: `now` reads it, `sleep` moves it forward instead of waiting.
/// Each call runs with its own ``Starts`` (a task local), so the instant every attempt was paced
/// to start at — the `now` it read plus the wait it was given — is recorded exactly, however
/// the calls interleave.
final class SimulatedClock: Sendable {
    /// The attempt starts of one call.
    final class Starts: Sendable {
        let box = NIOLockedValueBox<[ContinuousClock.Instant]>([])
    }

    @TaskLocal static var starts: Starts?

    let origin = ContinuousClock.now
    private let elapsed = NIOLockedValueBox<Duration>(.zero)

    var now: @Sendable () -> ContinuousClock.Instant {
        { [origin, elapsed] in
            let now = origin + elapsed.withLockedValue { $0 }
            // The pacer reads `now` once per attempt, right before reserving its start.
            SimulatedClock.starts?.box.withLockedValue { $0.append(now) }
            return now
        }
    }

    var sleep: @Sendable (Duration) async throws -> Void {
        { [elapsed] wait in
            guard let starts = SimulatedClock.starts else { return }
            let target = starts.box.withLockedValue { starts in
                starts[starts.count - 1] += wait
                return starts[starts.count - 1]
            }
            elapsed.withLockedValue { $0 = max($0, self.origin.duration(to: target)) }
        }
    }
}

@Suite("SluiceClient pacing a burst against a scripted server")
struct ScriptedServerPacingTests {
    @Test("200 concurrent calls, pace learned from RateLimit-Policy rpm 60: all succeed, at most 48 start in any minute")
    func burstOf200StaysUnder80PercentOfRPM() async throws {
        let clock = SimulatedClock()
        let configuration = SluiceClientConfiguration(pacing: .learned, maxConcurrent: 8, queueCapacity: 500,
                                                      sleep: clock.sleep, now: clock.now)
        let answer = ScriptedServer.Answer.json(200, scriptedChatBody, headers: ["RateLimit-Policy": #""rpm";q=60;w=60"#])
        try await withScriptedServer([answer], configuration: configuration) { client, server in
            let outcomes = await withTaskGroup(of: (SluiceClientError?, [ContinuousClock.Instant]).self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let starts = SimulatedClock.Starts()
                        return await SimulatedClock.$starts.withValue(starts) {
                            do {
                                _ = try await client.chat(chatRequest())
                                return (nil, starts.box.withLockedValue { $0 })
                            } catch {
                                return ((error as? SluiceClientError) ?? .transport("\(error)"), starts.box.withLockedValue { $0 })
                            }
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let errors = outcomes.compactMap(\.0)
            #expect(errors.isEmpty, "\(errors.prefix(3))")
            #expect(errors.filter { $0.status == 429 }.isEmpty)
            let starts = outcomes.flatMap(\.1)
            #expect(starts.count == 200)
            #expect(server.requests == 200)
            #expect(client.pacedRequestsPerMinute == 60)
            #expect(mostStartsInAnyMinute(starts) <= 48)
            // 200 starts at 1.25 s apart take about 4 simulated minutes, and no real time to speak of.
            #expect(clock.origin.duration(to: starts.max()!) >= .seconds(200))
        }
    }
}
