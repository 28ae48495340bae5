import SluiceClient
import Testing

/// The client with no server at all: what `.transport` does.
@Suite("SluiceClient transport errors")
struct SluiceClientTransportTests {
    @Test("a refused connection is .transport, retried with backoff up to maxAttempts")
    func refusedIsRetried() async throws {
        let sleeper = RecordingSleeper()
        let configuration = SluiceClientConfiguration(retryPolicy: ClientRetryPolicy(maxAttempts: 3), pacing: .off,
                                                      connectTimeout: .milliseconds(300), sleep: sleeper.sleep)
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let client = SluiceClient(baseURL: "http://127.0.0.1:1/v1", apiKey: "sk-test", configuration: configuration)
        await #expect {
            _ = try await client.models()
        } throws: { error in
            if case .transport = error as? SluiceClientError { return true }
            return false
        }
        try await client.shutdown()
        #expect(sleeper.waits.count == 2)
        #expect(sleeper.waits.count == 2 && sleeper.waits[0] <= .milliseconds(500) && sleeper.waits[1] <= .seconds(1))
    }
}
