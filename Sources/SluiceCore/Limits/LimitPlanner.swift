/// The limits of one key's preset, with its policies parsed.
public struct KeyLimits: Sendable, Equatable {
    public var rpm: Int?
    public var tpm: Int?
    public var dailyTokenCap: Int?
    public var maxConcurrent: Int?
    public var policies: [RateLimitPolicy]

    public init(rpm: Int? = nil, tpm: Int? = nil, dailyTokenCap: Int? = nil, maxConcurrent: Int? = nil, policies: [RateLimitPolicy] = []) {
        self.rpm = rpm
        self.tpm = tpm
        self.dailyTokenCap = dailyTokenCap
        self.maxConcurrent = maxConcurrent
        self.policies = policies
    }
}

/// What admission reserves for a request before its real usage is known.
public struct UsageEstimate: Sendable, Equatable {
    /// Prompt tokens (UTF-8 bytes ÷ 4, rounded up) plus the output allowance.
    public var tokens: Int64
    /// Those tokens priced at the dearest model of the chain.
    public var cost: NanoDollars

    public init(tokens: Int64, cost: NanoDollars) {
        self.tokens = tokens
        self.cost = cost
    }

    /// The estimate of SPEC §4: prompt tokens plus `min(max_tokens or default, cap)` output
    /// tokens (none for embeddings), priced at the dearest of `prices`.
    public static func make(promptTokens: Int, maxTokens: Int?, producesOutput: Bool, limits: LimitsConfig, prices: [Price]) -> UsageEstimate {
        let output = producesOutput ? min(maxTokens ?? limits.defaultOutputTokens, limits.maxReservedOutputTokens) : 0
        let cost = prices.map { $0.cost(inputTokens: promptTokens, outputTokens: output) }.max() ?? .zero
        return UsageEstimate(tokens: Int64(promptTokens + output), cost: cost)
    }
}

/// Turns a key's preset and a request's policy header into the checks the counter store decides,
/// in the order the headers list them: rpm, tpm, daily-tokens, concurrent, preset-N, header-N.
public enum LimitPlanner {
    public static func checks(keyID: String, limits: KeyLimits, headerPolicies: [RateLimitPolicy], segments: RequestSegments,
                              estimate: UsageEstimate) throws(GatewayError) -> [LimitCheck] {
        var checks: [LimitCheck] = []
        checks.reserveCapacity(4 + limits.policies.count + headerPolicies.count)
        if let rpm = limits.rpm {
            checks.append(LimitCheck(key: CounterKey(keyID + "|rpm"), name: "rpm", kind: .rolling(windowSeconds: 60), mode: .whole,
                                     quota: Int64(rpm), amount: 1, unit: .requests, wording: .preset(.rpm)))
        }
        if let tpm = limits.tpm {
            checks.append(LimitCheck(key: CounterKey(keyID + "|tpm"), name: "tpm", kind: .rolling(windowSeconds: 60), mode: .upToRemaining,
                                     quota: Int64(tpm), amount: estimate.tokens, unit: .tokens, wording: .preset(.tpm)))
        }
        if let cap = limits.dailyTokenCap {
            checks.append(LimitCheck(key: CounterKey(keyID + "|daily"), name: "daily-tokens", kind: .utcDay, mode: .upToRemaining,
                                     quota: Int64(cap), amount: estimate.tokens, unit: .tokens, wording: .preset(.dailyTokenCap)))
        }
        if let maxConcurrent = limits.maxConcurrent {
            checks.append(LimitCheck(key: CounterKey(keyID + "|concurrent"), name: "concurrent", kind: .concurrency, mode: .whole,
                                     quota: Int64(maxConcurrent), amount: 1, unit: .concurrentRequests, wording: .preset(.maxConcurrent)))
        }
        for (index, policy) in limits.policies.enumerated() {
            checks.append(try check(keyID: keyID, policy: policy, origin: .preset, index: index + 1, segments: segments, estimate: estimate))
        }
        for (index, policy) in headerPolicies.enumerated() {
            checks.append(try check(keyID: keyID, policy: policy, origin: .header, index: index + 1, segments: segments, estimate: estimate))
        }
        return checks
    }

    /// `checks` made for one estimate, with the amounts another estimate asks for: what
    /// `checks(...)` gives for `estimate` when nothing else differs (the fast lane keeps a
    /// connection's last checks, whose counter keys and names do not change from call to call).
    public static func withAmounts(_ checks: [LimitCheck], for estimate: UsageEstimate) -> [LimitCheck] {
        var checks = checks
        for index in checks.indices {
            switch checks[index].unit {
            case .requests, .concurrentRequests: checks[index].amount = 1
            case .tokens: checks[index].amount = estimate.tokens
            case .cents: checks[index].amount = estimate.cost.value
            }
        }
        return checks
    }

    /// The exact message of a 429 from the daily token cap.
    public static let dailyCapMessage = "Daily token cap reached"

    /// `preset-N` / `header-N` for the first few N, built once rather than on every request.
    private static let presetNames = (1...16).map { "preset-\($0)" }
    private static let headerNames = (1...16).map { "header-\($0)" }

    /// The name of the check for the caller's header policy at `offset` (0-based) in its list.
    public static func headerCheckName(_ offset: Int) -> String { name(origin: .header, index: offset + 1) }

    static func name(origin: LimitCheck.PolicyOrigin, index: Int) -> String {
        let names = origin == .preset ? presetNames : headerNames
        if index <= names.count { return names[index - 1] }
        return origin == .preset ? "preset-\(index)" : "header-\(index)"
    }

    static func check(keyID: String, policy: RateLimitPolicy, origin: LimitCheck.PolicyOrigin, index: Int, segments: RequestSegments,
                      estimate: UsageEstimate) throws(GatewayError) -> LimitCheck {
        let segment = try segments.value(for: policy.segment, policy: policy)
        let unit: LimitUnit
        let amount: Int64
        switch policy.unit {
        case .request: (unit, amount) = (.requests, 1)
        case .token: (unit, amount) = (.tokens, estimate.tokens)
        case .cents: (unit, amount) = (.cents, estimate.cost.value)
        }
        // A cent quota above Int64.max nano-dollars (about 9.2 × 10^11 cents; the syntax allows 10^12)
        // saturates rather than trapping on a caller's header.
        let (quota, overflow) = Int64(policy.quota).multipliedReportingOverflow(by: unit.counterUnitsPerUnit)
        var key = keyID
        key.reserveCapacity(keyID.utf8.count + 9 + policy.normalized.utf8.count + (segment?.utf8.count ?? 0))
        key += "|policy|"
        key += policy.normalized
        key += "|"
        if let segment { key += segment }
        return LimitCheck(
            key: CounterKey(key), name: name(origin: origin, index: index),
            kind: .rolling(windowSeconds: policy.windowSeconds), mode: policy.unit == .request ? .whole : .upToRemaining,
            quota: overflow ? .max : quota, amount: amount, unit: unit,
            wording: .policy(policy, origin: origin, index: index, segment: segment))
    }
}

extension String {
    func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let position = firstIndex(of: target) else { return self }
        return String(self[..<position]) + replacement + String(self[index(after: position)...])
    }
}
