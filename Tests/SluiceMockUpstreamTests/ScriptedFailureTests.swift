import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

@Suite struct ScriptedFailureTests {
    @Test func statusListFailsTheNthRequestWithTheNthStatusThenSucceeds() async throws {
        let body = try chatBody(["hello mock.status=503,503 mock.id=\(uniqueID())"])
        try await mockApp().test(.router) { client in
            var statuses: [Int] = []
            for _ in 0..<3 {
                let response = try await client.post("/v1/chat/completions", body)
                statuses.append(response.status.code)
                if response.status.code == 503 {
                    let json = try jsonObject(response.body)
                    #expect(value(json, "error", "type") as? String == "server_error")
                    #expect(value(json, "error", "message") as? String == "mock failure 503")
                    #expect(value(json, "error", "code") is NSNull)
                    #expect(response.headers[.retryAfter] == nil)
                }
            }
            #expect(statuses == [503, 503, 200])
        }
    }

    @Test func retryAfterCodeAndMessageShapeTheError() async throws {
        let body = try chatBody(["mock.status=429 mock.retry_after=7 mock.code=rate_limit_exceeded mock.message=slow_down_please"])
        try await mockApp().test(.router) { client in
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "7")
            let json = try jsonObject(response.body)
            #expect(value(json, "error", "type") as? String == "invalid_request_error")
            #expect(value(json, "error", "code") as? String == "rate_limit_exceeded")
            #expect(value(json, "error", "message") as? String == "slow down please")
        }
    }

    @Test func timesLimitsASingleStatusToTheFirstRequestsOfAnID() async throws {
        let id = uniqueID()
        let scripted = try chatBody(["mock.status=500 mock.times=2 mock.id=\(id)"])
        let otherID = try chatBody(["mock.status=500 mock.times=2 mock.id=\(id)-other"])
        try await mockApp().test(.router) { client in
            var statuses: [Int] = []
            for _ in 0..<2 { statuses.append(try await client.post("/v1/chat/completions", scripted).status.code) }
            // Counters are per id: another id starts from its own first request.
            statuses.append(try await client.post("/v1/chat/completions", otherID).status.code)
            statuses.append(try await client.post("/v1/chat/completions", scripted).status.code)
            #expect(statuses == [500, 500, 500, 200])
        }
    }

    @Test func statusWithoutIDAppliesToEveryRequest() async throws {
        let body = try jsonBody(["model": "text-embedding-3-small", "input": "mock.status=502"])
        try await mockApp().test(.router) { client in
            for _ in 0..<3 {
                let response = try await client.post("/v1/embeddings", body)
                #expect(response.status == .badGateway)
            }
        }
    }

    @Test func firstByteDelayAndLatencyHoldTheResponseHead() async throws {
        let body = try chatBody(["mock.first_byte_ms=60"])
        try await mockApp(.init(latencyMs: 40)).test(.router) { client in
            let start = ContinuousClock.now
            let response = try await client.post("/v1/chat/completions", body)
            #expect(response.status == .ok)
            #expect(ContinuousClock.now - start >= .milliseconds(100))
        }
    }

    @Test func failRateOneFailsEveryRequestWithAServerError() async throws {
        let body = try chatBody(["hi"])
        try await mockApp(.init(failRate: 1)).test(.router) { client in
            for _ in 0..<3 {
                let response = try await client.post("/v1/chat/completions", body)
                #expect(response.status == .internalServerError)
                #expect(value(try jsonObject(response.body), "error", "type") as? String == "server_error")
            }
        }
    }
}
