import AsyncHTTPClient
import Foundation
import NIOCore
import RawStructuredFieldValues
import SluiceCore
import SluiceStore
import Testing

@Suite("Rate limits end to end")
struct RateLimitEndToEndTests {
    static func withLimits(_ preset: PresetConfig, _ body: (TestGateway, String) async throws -> Void) async throws {
        try await withGateway(configure: { $0.presets["limited"] = preset }) { gateway in
            let (key, _) = try await gateway.makeKey(preset: "limited")
            try await body(gateway, key)
        }
    }

    @Test("2,000 concurrent requests against a quota of 100: exactly 100 admitted, the rest 429 with Retry-After, no 5xx")
    func exactUnderConcurrency() async throws {
        try await Self.withLimits(PresetConfig(rpm: 100)) { gateway, key in
            let statuses = try await withClient { client in
                try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for _ in 0..<2_000 {
                        group.addTask {
                            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), client: client)
                            return (response.status, response.headers.first(name: "retry-after"))
                        }
                    }
                    var all: [(Int, String?)] = []
                    for try await result in group { all.append(result) }
                    return all
                }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 100)
            #expect(statuses.filter { $0.0 == 429 }.count == 1_900)
            #expect(statuses.filter { $0.0 == 429 }.allSatisfy { ($0.1.flatMap(Int.init) ?? 0) >= 1 })
            #expect(!statuses.contains { $0.0 >= 500 })
        }
    }

    @Test("a request refused by one limit consumes nothing from the others")
    func refusedConsumesNothing() async throws {
        try await Self.withLimits(PresetConfig(rpm: 50, tpm: 100_000)) { gateway, key in
            let perUser = [("Helicone-RateLimit-Policy", "1;w=60;s=user"), ("Helicone-User-Id", "alice")]
            let first = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: perUser)
            #expect(first.status == 200)
            for _ in 0..<3 {
                let refused = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: perUser)
                #expect(refused.status == 429)
                #expect(refused.errorMessage?.contains("1 request per 60 s for user alice") == true)
            }
            let bob = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(),
                                             headers: [("Helicone-RateLimit-Policy", "1;w=60;s=user"), ("Helicone-User-Id", "bob")])
            #expect(bob.status == 200)
            // Two requests admitted in all, whatever was refused: rpm has 48 left; tpm holds alice's
            // real usage (17) and bob's reservation (3 prompt tokens + 256 default output).
            let limits = try Self.limits(bob)
            #expect(limits["rpm"]?.remaining == 48)
            #expect(limits["tpm"]?.remaining == 100_000 - 17 - (3 + 256))
        }
    }

    @Test("segments count users and properties separately")
    func segments() async throws {
        try await Self.withLimits(PresetConfig(policies: ["1;w=60;s=team"])) { gateway, key in
            func send(team: String) async throws -> Int {
                try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: [("Helicone-Property-Team", team)]).status
            }
            #expect(try await send(team: "red") == 200)
            #expect(try await send(team: "blue") == 200)
            #expect(try await send(team: "red") == 429)
            #expect(try await send(team: "Red") == 200)  // values are exact
            let missing = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            #expect(missing.status == 400 && missing.errorCode == "missing_property")
        }
    }

    @Test("the user segment comes from Helicone-User-Id, else the body's user; a missing one is 400")
    func userSegment() async throws {
        try await Self.withLimits(PresetConfig()) { gateway, key in
            let policy = ("Helicone-RateLimit-Policy", "1;w=60;s=user")
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: #","user":"carol""#), headers: [policy]).status == 200)
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: #","user":"carol""#), headers: [policy]).status == 429)
            // The header wins over the body.
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: #","user":"carol""#),
                                           headers: [policy, ("Helicone-User-Id", "dave")]).status == 200)
            let missing = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: [policy])
            #expect(missing.status == 400 && missing.errorCode == "missing_user_id")
        }
    }

    @Test("malformed policies and bad user ids or property values are 400s that say what is wrong")
    func badHeaders() async throws {
        try await Self.withLimits(PresetConfig()) { gateway, key in
            let badPolicy = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: [("Helicone-RateLimit-Policy", "10;w=30")])
            #expect(badPolicy.status == 400 && badPolicy.errorCode == "invalid_rate_limit_policy")
            #expect(badPolicy.errorMessage?.contains("\"w=30\": the window must be at least 60 seconds") == true)
            let long = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(), headers: [("Helicone-User-Id", String(repeating: "u", count: 257))])
            #expect(long.status == 400 && long.errorCode == "invalid_header")
            let control = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(extra: #","user":"a\u0007b""#))
            #expect(control.status == 400 && control.errorCode == "invalid_header")
            // 400s come before 404s.
            let both = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-9"), headers: [("Helicone-RateLimit-Policy", "x")])
            #expect(both.status == 400)
        }
    }

    @Test("the answer headers are RFC 9651 lists with the IETF parameters, plus Helicone's trio")
    func headersParse() async throws {
        try await Self.withLimits(PresetConfig(rpm: 60, dailyTokenCap: 200_000, maxConcurrent: 4, policies: ["1000;w=3600;u=cents"])) { gateway, key in
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(),
                                                  headers: [("Helicone-RateLimit-Policy", "5;w=60, 100;w=120;u=token")])
            #expect(response.status == 200)
            let policies = try Self.parseList(response.headers.first(name: "ratelimit-policy") ?? "")
            #expect(policies.map(\.name) == ["rpm", "daily-tokens", "concurrent", "preset-1", "header-1", "header-2"])
            #expect(policies[0].parameters == ["q": 60, "w": 60])
            #expect(policies[1].parameters == ["q": 200_000, "w": 86_400] && policies[1].unit == "token")
            #expect(policies[2].parameters == ["q": 4] && policies[2].unit == "concurrent-requests")
            #expect(policies[3].unit == "cents" && policies[3].parameters["q"] == 1000)
            let limits = try Self.limits(response)
            #expect(limits["rpm"]?.remaining == 59 && limits["rpm"]?.reset == 60)
            #expect(limits["concurrent"]?.remaining == 3 && limits["concurrent"]?.reset == nil)
            #expect(limits["header-1"]?.remaining == 4)
            // The most constrained header policy: 4/5 left of the first, (100-257 reserved → 0)/100 of the second.
            #expect(response.headers.first(name: "helicone-ratelimit-policy") == "100;w=120;u=token")
            #expect(response.headers.first(name: "helicone-ratelimit-limit") == "100")
            #expect(response.headers.first(name: "helicone-ratelimit-remaining") == "0")
        }
    }

    @Test("the daily token cap answers exactly 'Daily token cap reached' with Retry-After to 00:00 UTC")
    func dailyCap() async throws {
        try await Self.withLimits(PresetConfig(dailyTokenCap: 30)) { gateway, key in
            // Each call reserves min(estimate, what is left) and settles to 17 real tokens.
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            #expect(try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status == 200)
            // Seconds to the next midnight, before and after the call: Retry-After lies between
            // (a second either side for rounding), and this holds across midnight too.
            func secondsToMidnight() -> Int {
                let now = Int64(Date().timeIntervalSince1970)
                return Int((now / 86_400 + 1) * 86_400 - now)
            }
            let before = secondsToMidnight()
            let refused = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            let after = secondsToMidnight()
            #expect(refused.status == 429)
            #expect(refused.errorMessage == "Daily token cap reached")
            let retryAfter = try #require(refused.headers.first(name: "retry-after").flatMap(Int.init))
            let window = after <= before ? (after - 1)...(before + 1) : (1...86_400)  // midnight passed: a new day's wait
            #expect(window.contains(retryAfter), "Retry-After \(retryAfter), midnight \(before)…\(after) s away")
            let row = try #require(try await gateway.usageRow(refused.requestID!))
            #expect(row.status == 429 && row.errorCode == "rate_limit_exceeded")
        }
    }

    @Test("a concurrency lease is held while a stream runs and released when the caller disconnects")
    func concurrencyLease() async throws {
        try await Self.withLimits(PresetConfig(maxConcurrent: 1)) { gateway, key in
            let response = try await gateway.openStream(key: key, content: "x mock.chunk_ms=100 mock.completion_tokens=100")
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            let blocked = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            #expect(blocked.status == 429 && blocked.headers.first(name: "retry-after") == "1")
            _ = consume iterator
            // Disconnecting releases the lease as soon as the gateway notices (its next write).
            var status = 429
            let deadline = ContinuousClock.now + .seconds(20)
            while status == 429, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                status = try await gateway.send("/v1/chat/completions", key: key, body: chatBody()).status
            }
            #expect(status == 200)
            let live = try await gateway.gateway.counters.liveCounters(shard: nil, nowMs: Ledger.nowMs())
            // None in use; an idle counter may already be swept away (every 10 s).
            #expect((live.first { $0.limit == "concurrent" }?.used ?? 0) == 0)
        }
    }

    @Test("429s are counted as rate limited in usage reports")
    func rateLimitedInUsage() async throws {
        try await Self.withLimits(PresetConfig(rpm: 1)) { gateway, key in
            _ = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            let refused = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            _ = try await gateway.usageRow(refused.requestID!)
            let report = try await gateway.ledger.usageReport(by: .account, sinceMs: 0)
            #expect(report.first?.requests == 2 && report.first?.rateLimited == 1 && report.first?.errors == 0)
        }
    }

    // MARK: - Header parsing helpers

    struct ListItem {
        var name: String
        var parameters: [String: Int]
        var unit: String?
    }

    static func parseList(_ text: String) throws -> [ListItem] {
        var parser = StructuredFieldValueParser(Array(text.utf8))
        return try parser.parseListFieldValue().map { member in
            guard case .item(let item) = member, case .string(let name) = item.rfc9651BareItem else { throw ParseFailure() }
            var parameters: [String: Int] = [:]
            var unit: String?
            for (key, value) in item.rfc9651Parameters {
                switch value {
                case .integer(let number): parameters[key] = Int(number)
                case .string(let text) where key == "qu": unit = text
                default: throw ParseFailure()
                }
            }
            return ListItem(name: name, parameters: parameters, unit: unit)
        }
    }

    static func limits(_ response: TestResponse) throws -> [String: (remaining: Int, reset: Int?)] {
        var result: [String: (remaining: Int, reset: Int?)] = [:]
        for item in try parseList(response.headers.first(name: "ratelimit") ?? "") {
            result[item.name] = (item.parameters["r"] ?? -1, item.parameters["t"])
        }
        return result
    }

    struct ParseFailure: Error {}
}
