import AsyncHTTPClient
import Foundation
import SluiceCore
import SluiceStore
import Testing

@Suite("Graceful stop")
struct GracefulStopTests {
    @Test("stopping while streams are in flight lets them finish and loses no usage row")
    func drainAndFlush() async throws {
        // A flush interval of a minute: every row is still in memory when the stop begins.
        let gateway = try await TestGateway.start { $0.storage.flushIntervalMs = 60_000 }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let (key, _) = try await gateway.makeKey()
        let slowStreamContent = "x mock.chunk_ms=80 mock.completion_tokens=12"
        let finishedBeforeStop = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), client: client)

        let (started, streamStarted) = AsyncStream.makeStream(of: Void.self)
        let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let response: HTTPClientResponse
                    do {
                        response = try await gateway.openStream(key: key, content: slowStreamContent, client: client)
                        streamStarted.yield()
                    } catch {
                        // Counted all the same, so the wait below ends and the failure shows.
                        streamStarted.yield()
                        throw error
                    }
                    let bytes = try await response.body.collect(upTo: 1 << 20)
                    return TestResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
                }
            }
            // The streams take about a second each once their heads are out; stop while they are
            // in flight (waiting for the heads, not a fixed time: a loaded machine starts them late).
            var heads = 0
            for await _ in started {
                heads += 1
                if heads == 8 { break }
            }
            try await gateway.stop(keepFolder: true)
            var all: [TestResponse] = []
            for try await response in group { all.append(response) }
            return all
        }
        try await client.shutdown()

        #expect(responses.count == 8)
        #expect(responses.allSatisfy { $0.status == 200 && $0.events.last == "[DONE]" })
        let reopened = try await Ledger.open(.sqlite(path: gateway.folder + "/sluice.db"), logger: .init(label: "test"))
        let rows = try await reopened.recentUsage(limit: 100)
        await reopened.close()
        try? FileManager.default.removeItem(atPath: gateway.folder)
        let expected = Set((responses + [finishedBeforeStop]).compactMap { $0.requestID })
        #expect(expected.count == 9)
        #expect(Set(rows.map(\.requestID)) == expected)
    }
}
