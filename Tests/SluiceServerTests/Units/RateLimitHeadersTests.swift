import HTTPTypes
import NIOCore
import NIOHTTP1
import RawStructuredFieldValues
import SluiceCore
@testable import SluiceServer
import Testing

@Suite("RateLimit headers")
struct RateLimitHeadersTests {
    /// The headers as serialized whole by swift-http-structured-headers, item by item: what the
    /// cached pieces must add up to.
    static func reference(_ states: [LimitState]) -> (policy: String, limit: String) {
        var policyItems: [ItemOrInnerList] = []
        var limitItems: [ItemOrInnerList] = []
        for state in states {
            let check = state.check
            let per = check.unit.counterUnitsPerUnit
            var policy = OrderedMap<String, RFC9651BareItem>()
            policy["q"] = .integer(check.quota / per)
            if let unit = check.unit.quotaUnitParameter { policy["qu"] = .string(unit) }
            if let window = check.windowSeconds, check.unit != .concurrentRequests { policy["w"] = .integer(Int64(window)) }
            policyItems.append(.item(Item(bareItem: .string(check.name), parameters: policy)))
            var limit = OrderedMap<String, RFC9651BareItem>()
            limit["r"] = .integer(state.remaining / per)
            if let reset = state.resetSeconds { limit["t"] = .integer(Int64(reset)) }
            limitItems.append(.item(Item(bareItem: .string(check.name), parameters: limit)))
        }
        var serializer = StructuredFieldValueSerializer()
        let policy = try! serializer.writeListFieldValue(policyItems)
        let limit = try! serializer.writeListFieldValue(limitItems)
        return (String(decoding: policy, as: UTF8.self), String(decoding: limit, as: UTF8.self))
    }

    @Test("every kind of limit gives the same text as serializing the whole lists", arguments: [0, 1, 7, 59, 1_000_000])
    func sameAsWholeSerialization(remaining: Int64) throws {
        let policies = try ["1000;w=60;u=request;s=user", "50;w=3600;u=cents", "20000;w=86400;u=token"].map(PolicyParser.parse)
        let checks = try LimitPlanner.checks(keyID: "k", limits: KeyLimits(rpm: 60, tpm: 10_000, dailyTokenCap: 500_000, maxConcurrent: 8),
                                             headerPolicies: policies,
                                             segments: RequestSegments(userID: "alice", properties: [:]),
                                             estimate: UsageEstimate(tokens: 100, cost: NanoDollars(5_000)))
        #expect(checks.count == 7)
        // Twice: the second time every piece comes from the cache.
        for _ in 0..<2 {
            let states = checks.enumerated().map { index, check in
                LimitState(check: check, remaining: remaining * check.unit.counterUnitsPerUnit, resetSeconds: index == 3 ? nil : index * 7)
            }
            var fields = HTTPFields()
            RateLimitHeaders.add(states, headerPolicies: policies, to: &fields)
            let expected = Self.reference(states)
            #expect(fields[.rateLimitPolicy] == expected.policy)
            #expect(fields[.rateLimit] == expected.limit)
            // The fast lane's heads get the same fields, written in place.
            var headers = HTTPHeaders()
            RateLimitHeaders.add(states, headerPolicies: policies, to: &headers)
            #expect(headers["RateLimit-Policy"] == [expected.policy])
            #expect(headers["RateLimit"] == [expected.limit])
            #expect(headers["Helicone-RateLimit-Policy"] == fields[.heliconePolicy].map { [$0] })
            #expect(headers["Helicone-RateLimit-Remaining"] == fields[.heliconeRemaining].map { [$0] })
            #expect(headers["Helicone-RateLimit-Limit"] == fields[.heliconeLimit].map { [$0] })
            // And the byte head the fast lane writes is what NIO's encoder writes for those fields.
            var head = AnswerHeadBytes(.ok, allocator: ByteBufferAllocator())
            RateLimitHeaders.add(states, headerPolicies: policies, to: &head)
            head.add(name: "Content-Length", value: "0")
            var expectedHead = HTTPHeaders()
            for field in fields { expectedHead.add(name: field.name.rawName, value: field.value) }
            expectedHead.add(name: "Content-Length", value: "0")
            #expect(String(buffer: head.finished()) == (try AnswerHeadBytesTests.encoded(.ok, expectedHead)))
        }
    }

    @Test("no limits, no limit headers, on either kind of head")
    func noStates() {
        var fields = HTTPFields()
        RateLimitHeaders.add([], headerPolicies: [], to: &fields)
        #expect(fields.isEmpty)
        var head = AnswerHeadBytes(.ok, allocator: ByteBufferAllocator())
        RateLimitHeaders.add([], headerPolicies: [], to: &head)
        #expect(String(buffer: head.finished()) == "HTTP/1.1 200 OK\r\n\r\n")
    }
}
