import HTTPTypes
import RawStructuredFieldValues
import SluiceCore

/// The answer headers of SPEC §4: IETF `RateLimit-Policy` and `RateLimit`
/// (draft-ietf-httpapi-ratelimit-headers-11, RFC 9651 lists), and Helicone's trio for the most
/// constrained policy the caller sent.
enum RateLimitHeaders {
    /// Adds the headers for `states` (in the order of the checks). `headerPolicies` are the
    /// caller's policies, whose states are named `header-N`.
    static func add(_ states: [LimitState], headerPolicies: [RateLimitPolicy], to fields: inout HTTPFields) {
        guard !states.isEmpty else { return }
        var policyItems: [ItemOrInnerList] = []
        var limitItems: [ItemOrInnerList] = []
        for state in states {
            let check = state.check
            let per = check.unit.counterUnitsPerUnit
            var policyParameters = OrderedMap<String, RFC9651BareItem>()
            policyParameters["q"] = .integer(check.quota / per)
            if let unit = check.unit.quotaUnitParameter { policyParameters["qu"] = .string(unit) }
            if let window = check.windowSeconds, check.unit != .concurrentRequests { policyParameters["w"] = .integer(Int64(window)) }
            policyItems.append(.item(Item(bareItem: .string(check.name), parameters: policyParameters)))

            var limitParameters = OrderedMap<String, RFC9651BareItem>()
            limitParameters["r"] = .integer(state.remaining / per)
            if let reset = state.resetSeconds { limitParameters["t"] = .integer(Int64(reset)) }
            limitItems.append(.item(Item(bareItem: .string(check.name), parameters: limitParameters)))
        }
        var serializer = StructuredFieldValueSerializer()
        if let policy = try? serializer.writeListFieldValue(policyItems) {
            fields[.rateLimitPolicy] = String(decoding: policy, as: UTF8.self)
        }
        if let limit = try? serializer.writeListFieldValue(limitItems) {
            fields[.rateLimit] = String(decoding: limit, as: UTF8.self)
        }
        addHelicone(states, headerPolicies: headerPolicies, to: &fields)
    }

    /// `Helicone-RateLimit-Limit/Remaining/Policy` for the header policy with the smallest
    /// remaining fraction (the first on ties).
    static func addHelicone(_ states: [LimitState], headerPolicies: [RateLimitPolicy], to fields: inout HTTPFields) {
        var best: (state: LimitState, policy: RateLimitPolicy)?
        for (index, policy) in headerPolicies.enumerated() {
            guard let state = states.first(where: { $0.check.name == "header-\(index + 1)" }) else { continue }
            if let current = best {
                // remaining/quota < best.remaining/best.quota, compared without division.
                let lhs = state.remaining.multipliedFullWidth(by: current.state.check.quota)
                let rhs = current.state.remaining.multipliedFullWidth(by: state.check.quota)
                if lhs.high < rhs.high || (lhs.high == rhs.high && lhs.low < rhs.low) { best = (state, policy) }
            } else {
                best = (state, policy)
            }
        }
        guard let best else { return }
        let per = best.state.check.unit.counterUnitsPerUnit
        fields[.heliconeLimit] = String(best.policy.quota)
        fields[.heliconeRemaining] = String(best.state.remaining / per)
        fields[.heliconePolicy] = best.policy.source
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let rateLimit = Self("RateLimit")!
    static let heliconeLimit = Self("Helicone-RateLimit-Limit")!
    static let heliconeRemaining = Self("Helicone-RateLimit-Remaining")!
    static let heliconePolicy = Self("Helicone-RateLimit-Policy")!
    static let heliconeUserID = Self("Helicone-User-Id")!
}
