import SluiceCore
import Testing

private let noSegments = RequestSegments(userID: nil, properties: [:])
private let estimate = UsageEstimate(tokens: 1_200, cost: NanoDollars(34_000_000))

private func policies(_ text: String) throws -> [RateLimitPolicy] {
    try PolicyParser.parseList(text)
}

private func plan(keyID: String = "key_a", limits: KeyLimits = KeyLimits(), header: String? = nil,
                  segments: RequestSegments = noSegments, estimate: UsageEstimate = estimate) throws -> [LimitCheck] {
    try LimitPlanner.checks(keyID: keyID, limits: limits, headerPolicies: header.map(policies) ?? [], segments: segments, estimate: estimate)
}

@Suite("Limit planner")
struct LimitPlannerTests {
    @Test("limits are planned in header order: rpm, tpm, daily-tokens, concurrent, preset-N, header-N")
    func order() throws {
        let limits = KeyLimits(rpm: 60, tpm: 10_000, dailyTokenCap: 200_000, maxConcurrent: 4,
                               policies: try policies("100;w=3600, 5;w=60;u=cents"))
        let checks = try plan(limits: limits, header: "10;w=60;u=token, 3;w=90")
        #expect(checks.map(\.name) == ["rpm", "tpm", "daily-tokens", "concurrent", "preset-1", "preset-2", "header-1", "header-2"])
        #expect(checks.map(\.kind) == [.rolling(windowSeconds: 60), .rolling(windowSeconds: 60), .utcDay, .concurrency,
                                       .rolling(windowSeconds: 3600), .rolling(windowSeconds: 60), .rolling(windowSeconds: 60),
                                       .rolling(windowSeconds: 90)])
        #expect(checks.map(\.mode) == [.whole, .upToRemaining, .upToRemaining, .whole, .whole, .upToRemaining, .upToRemaining, .whole])
        #expect(checks.map(\.unit) == [.requests, .tokens, .tokens, .concurrentRequests, .requests, .cents, .tokens, .requests])
        #expect(checks.map(\.quota) == [60, 10_000, 200_000, 4, 100, 50_000_000, 10, 3])
        #expect(checks.map(\.amount) == [1, 1_200, 1_200, 1, 1, 34_000_000, 1_200, 1])
        #expect(Set(checks.map(\.counterKey)).count == checks.count)
        #expect(checks.allSatisfy { $0.counterKey.hasPrefix("key_a|") })
    }

    @Test("checks made for one estimate, given another's amounts, are the checks made for the other",
          arguments: [UsageEstimate(tokens: 0, cost: .zero), UsageEstimate(tokens: 7, cost: NanoDollars(1)),
                      UsageEstimate(tokens: 250_000, cost: NanoDollars(9_000_000_000))])
    func amountsForAnotherEstimate(other: UsageEstimate) throws {
        let limits = KeyLimits(rpm: 60, tpm: 10_000, dailyTokenCap: 200_000, maxConcurrent: 4,
                               policies: try policies("100;w=3600, 5;w=60;u=cents, 9;w=60;u=token"))
        let segments = RequestSegments(userID: "alice", properties: [:])
        let header = "10;w=60;u=token;s=user, 3;w=90;u=cents, 4;w=60"
        let kept = try plan(limits: limits, header: header, segments: segments)
        #expect(LimitPlanner.withAmounts(kept, for: other) == (try plan(limits: limits, header: header, segments: segments, estimate: other)))
    }

    @Test("the largest quota the policy syntax allows, in cents, saturates the counter instead of overflowing", arguments: [
        "1000000000000;w=60;u=cents", "922337203686;w=60;u=cents",
    ])
    func hugeCentQuota(header: String) throws {
        // 10^12 cents is 10^19 nano-dollars, beyond Int64: planning must not trap on a caller's header.
        let checks = try plan(header: header)
        #expect(checks.map(\.quota) == [.max])
        var counters = CounterTable()
        let decision = LimitDecider.decide(checks, counters: &counters, nowMs: 1_767_225_600_000)
        #expect(decision.states.map(\.remaining) == [.max - 34_000_000])
        #expect(try plan(header: "922337203685;w=60;u=cents").map(\.quota) == [922_337_203_685 * 10_000_000])
        #expect(try plan(header: "1000000000000;w=60;u=token").map(\.quota) == [1_000_000_000_000])
    }

    @Test("a key without limits or policies plans no checks")
    func nothingToCheck() throws {
        #expect(try plan().isEmpty)
    }

    @Test("the daily cap's summary is the 429 message")
    func dailySummary() throws {
        let checks = try plan(limits: KeyLimits(dailyTokenCap: 10))
        #expect(checks.map(\.summary) == ["Daily token cap reached"])
        #expect(LimitPlanner.dailyCapMessage == "Daily token cap reached")
    }

    @Test("summaries name the limit and where it came from")
    func summaries() throws {
        let checks = try plan(limits: KeyLimits(rpm: 60, maxConcurrent: 2, policies: try policies("1;w=60;s=user")),
                              header: "5 ; w=3600 ; u=cents ; s=Team",
                              segments: RequestSegments(userID: "alice", properties: ["team": "red"]))
        #expect(checks.map(\.summary) == [
            "60 requests per 60 s (preset rpm)",
            "2 requests in flight (preset max_concurrent)",
            "1 request per 60 s for user alice (preset policy 1: 1;w=60;s=user)",
            "5 cents per 3600 s for property team=red (Helicone-RateLimit-Policy 1: 5 ; w=3600 ; u=cents ; s=Team)",
        ])
    }

    @Test("identical normalized policies from the preset and the header share one counter, counted once")
    func presetAndHeaderShare() throws {
        let limits = KeyLimits(policies: try policies("10;w=60;s=user"))
        let segments = RequestSegments(userID: "alice", properties: [:])
        let checks = try plan(limits: limits, header: "10 ; S=USER ; w=60 ; u=request", segments: segments)
        #expect(checks.map(\.name) == ["preset-1", "header-1"])
        #expect(checks[0].counterKey == checks[1].counterKey)
        var counters = CounterTable()
        let decision = LimitDecider.decide(checks, counters: &counters, nowMs: 1_767_225_600_000)
        #expect(counters.count == 1)
        #expect(counters.counters.values.first?.used == 1)
        #expect(decision.states.map(\.remaining) == [9, 9])
    }

    @Test("policies that differ in quota, window, unit or segment name get their own counters")
    func differentPoliciesSeparate() throws {
        let segments = RequestSegments(userID: "alice", properties: ["team": "red"])
        let checks = try plan(header: "10;w=60, 11;w=60, 10;w=61, 10;w=60;u=token, 10;w=60;s=user, 10;w=60;s=team", segments: segments)
        #expect(Set(checks.map(\.counterKey)).count == 6)
    }

    @Test("counters are separate per segment value, exactly as sent", arguments: [
        ("10;w=60;s=user", RequestSegments(userID: "alice", properties: [:]), RequestSegments(userID: "bob", properties: [:])),
        ("10;w=60;s=user", RequestSegments(userID: "alice", properties: [:]), RequestSegments(userID: "Alice", properties: [:])),
        ("10;w=60;s=team", RequestSegments(userID: nil, properties: ["team": "red"]), RequestSegments(userID: nil, properties: ["team": "blue"])),
    ])
    func perSegmentValue(policy: String, one: RequestSegments, other: RequestSegments) throws {
        #expect(try plan(header: policy, segments: one)[0].counterKey != plan(header: policy, segments: other)[0].counterKey)
    }

    @Test("a segmented counter's key names the key, the normalized policy and the segment value")
    func counterKeys() throws {
        let checks = try plan(header: "10;w=60;s=User, 5;w=120;u=cents;s=Team, 7;w=60",
                              segments: RequestSegments(userID: "alice", properties: ["team": "red"]))
        #expect(checks.map(\.counterKey) == [
            "key_a|policy|10;w=60;u=request;s=user|user:alice",
            "key_a|policy|5;w=120;u=cents;s=team|property:team=red",
            "key_a|policy|7;w=60;u=request|",
        ])
        #expect(try plan(keyID: "key_b", header: "7;w=60")[0].counterKey == "key_b|policy|7;w=60;u=request|")
    }

    @Test("a per-user policy without a user id is a 400 missing_user_id")
    func missingUser() throws {
        let error = #expect(throws: GatewayError.self) {
            try plan(header: "10;w=60;s=user", segments: RequestSegments(userID: nil, properties: ["user": "x"]))
        }
        #expect(error?.status == 400)
        #expect(error?.code == "missing_user_id")
        #expect(error?.message.contains("Helicone-User-Id") == true)
    }

    @Test("a per-property policy without that property is a 400 missing_property, from the preset too")
    func missingProperty() throws {
        let error = #expect(throws: GatewayError.self) {
            try plan(limits: KeyLimits(policies: try policies("10;w=60;s=team")),
                     segments: RequestSegments(userID: "alice", properties: ["tier": "gold"]))
        }
        #expect(error?.status == 400)
        #expect(error?.code == "missing_property")
        #expect(error?.message.contains("Helicone-Property-team") == true)
    }

    @Test("user ids and property values of up to 256 bytes without control characters are accepted", arguments: [
        "", "alice", String(repeating: "a", count: 256), String(repeating: "é", count: 128), "a b\u{00A0}c", "日本語", "👩‍💻",
    ])
    func validValues(value: String) throws {
        try RequestSegments.validate(value, source: "Helicone-User-Id")
    }

    @Test("user ids and property values with control characters or over 256 bytes are a 400 invalid_header", arguments: [
        String(repeating: "a", count: 257), String(repeating: "é", count: 128) + "a", String(repeating: "x", count: 10_000),
        "a\u{0}b", "tab\there", "line\nbreak", "cr\r", "bell\u{7}", "del\u{7F}", "nel\u{85}", "esc\u{1B}[31m",
    ])
    func invalidValues(value: String) {
        let error = #expect(throws: GatewayError.self) {
            try RequestSegments.validate(value, source: "Helicone-Property-Team")
        }
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_header")
        #expect(error?.message.hasPrefix("Helicone-Property-Team ") == true)
    }

    @Test("a value is refused for a control character exactly when Unicode calls one of its characters a control (Cc)")
    func controlCharactersAsUnicodeSaysSo() throws {
        for scalar in (0...0x2FFF).compactMap(Unicode.Scalar.init) {
            let value = "a" + String(Character(scalar)) + "b"
            let isControl = scalar.properties.generalCategory == .control
            if isControl {
                #expect(throws: GatewayError.self, "U+\(String(scalar.value, radix: 16))") { try RequestSegments.validate(value, source: "x") }
            } else {
                #expect(throws: Never.self, "U+\(String(scalar.value, radix: 16))") { try RequestSegments.validate(value, source: "x") }
            }
        }
    }

    @Test("the estimate is prompt tokens plus min(max_tokens or the default, the cap)", arguments: [
        (100, nil, 356), (100, 10, 110), (100, 0, 100), (100, 4_096, 4_196), (100, 100_000, 4_196), (0, nil, 256),
    ] as [(Int, Int?, Int64)])
    func estimateTokens(prompt: Int, maxTokens: Int?, tokens: Int64) {
        let limits = LimitsConfig()
        #expect(limits.defaultOutputTokens == 256)
        #expect(limits.maxReservedOutputTokens == 4096)
        let estimate = UsageEstimate.make(promptTokens: prompt, maxTokens: maxTokens, producesOutput: true, limits: limits, prices: [])
        #expect(estimate.tokens == tokens)
        #expect(estimate.cost == .zero)
    }

    @Test("the estimate follows a configured default and cap")
    func configuredLimits() {
        var limits = LimitsConfig()
        limits.defaultOutputTokens = 50
        limits.maxReservedOutputTokens = 80
        #expect(UsageEstimate.make(promptTokens: 7, maxTokens: nil, producesOutput: true, limits: limits, prices: []).tokens == 57)
        #expect(UsageEstimate.make(promptTokens: 7, maxTokens: 1_000, producesOutput: true, limits: limits, prices: []).tokens == 87)
    }

    @Test("embeddings reserve no output: prompt tokens only, priced as input", arguments: [nil, 500] as [Int?])
    func embeddings(maxTokens: Int?) {
        let price = Price(inputPerToken: 20, outputPerToken: 1_000)
        let estimate = UsageEstimate.make(promptTokens: 300, maxTokens: maxTokens, producesOutput: false, limits: LimitsConfig(), prices: [price])
        #expect(estimate == UsageEstimate(tokens: 300, cost: NanoDollars(6_000)))
    }

    @Test("the estimate is priced at the dearest model of the chain, whatever its position")
    func dearestPrice() {
        let cheap = Price(inputPerToken: 100, outputPerToken: 400)
        let dearOutput = Price(inputPerToken: 150, outputPerToken: 10_000)
        let dearInput = Price(inputPerToken: 2_500, outputPerToken: 500)
        // 1,000 prompt + 256 output tokens: cheap 202,400; dearOutput 2,710,000; dearInput 2,628,000.
        for chain in [[cheap, dearOutput, dearInput], [dearOutput, dearInput, cheap], [dearInput, cheap, dearOutput]] {
            let estimate = UsageEstimate.make(promptTokens: 1_000, maxTokens: nil, producesOutput: true, limits: LimitsConfig(), prices: chain)
            #expect(estimate == UsageEstimate(tokens: 1_256, cost: NanoDollars(2_710_000)))
        }
        let short = UsageEstimate.make(promptTokens: 1_000, maxTokens: 10, producesOutput: true, limits: LimitsConfig(), prices: [cheap, dearOutput, dearInput])
        #expect(short.cost == NanoDollars(2_505_000))
    }
}
