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
        let slowStream = chatBody(content: "x mock.chunk_ms=80 mock.completion_tokens=12", stream: true)
        let finishedBeforeStop = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), client: client)

        let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<8 {
                group.addTask { try await gateway.send("/v1/chat/completions", key: key, body: slowStream, client: client) }
            }
            // The streams take about a second each; stop while they are in flight.
            try await Task.sleep(for: .milliseconds(400))
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
