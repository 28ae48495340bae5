import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceStore

extension ProxyController {
    /// The user id (`Helicone-User-Id`, else the body's `user`) and `Helicone-Property-*`
    /// values, checked whether or not a policy uses them: they go into usage rows and logs.
    func readSegments(_ headers: HeliconeHeaders, body: ClientRequestBody) throws(GatewayError) -> RequestSegments {
        var userID: String?
        if let header = headers.userID {
            try RequestSegments.validate(header, source: "The Helicone-User-Id header")
            userID = header
        } else if let user = body.user {
            try RequestSegments.validate(user, source: "The body's \"user\" field")
            userID = user
        }
        var properties: [String: String] = [:]
        for property in headers.properties {
            try RequestSegments.validate(property.value, source: "The \(property.rawName) header")
            properties[property.name] = property.value
        }
        return RequestSegments(userID: userID, properties: properties)
    }

    /// The caller's `Helicone-RateLimit-Policy` (400 when malformed), after checking that every
    /// policy that applies has its segment value (400 `missing_user_id` / `missing_property`).
    func readPolicies(_ headers: HeliconeHeaders, caller: Gateway.Caller, segments: RequestSegments) throws(GatewayError) -> [RateLimitPolicy] {
        var policies: [RateLimitPolicy] = []
        let values = headers.policies
        if !values.isEmpty {
            do {
                policies = try gateway.policyHeaders.policies(for: values.count == 1 ? values[0] : values.joined(separator: ","))
            } catch {
                throw GatewayError(status: 400, code: .invalidRateLimitPolicy,
                                   message: "Invalid Helicone-RateLimit-Policy: \(error.message)", param: "Helicone-RateLimit-Policy")
            }
        }
        for policy in caller.preset.parsedPolicies {
            _ = try segments.value(for: policy.segment, policy: policy)
        }
        for policy in policies {
            _ = try segments.value(for: policy.segment, policy: policy)
        }
        return policies
    }

    /// Reserves the estimated cost against the account's balance (402 when it cannot cover it),
    /// then decides every limit of the request in one counter-store call: 429 with Retry-After
    /// and the rate-limit headers when any refuses (nothing is counted or reserved then), else a
    /// ticket that settles the reservations when the request ends.
    func admit(_ body: ClientRequestBody, plan: [String], caller: Gateway.Caller, headerPolicies: [RateLimitPolicy],
               segments: RequestSegments) async throws(GatewayError) -> (AdmissionTicket, [LimitState]) {
        let (estimate, checks) = try limitChecks(body, plan: plan, caller: caller, headerPolicies: headerPolicies, segments: segments)
        let account = caller.key.account
        var credit: CreditHold?
        switch try await gateway.credits.reserve(account: account, cost: estimate.cost) {
        case .reserved(let cost): credit = CreditHold(account: account, reserved: cost)
        case .unlimited: break
        case .insufficient(let available):
            // In lease mode what this instance holds can be below zero for a moment (a call cost
            // more than it reserved); the caller is told about money, not about leases.
            let left = NanoDollars(max(0, available.value))
            throw GatewayError(status: 402, code: .insufficientCredits,
                               message: "Insufficient credits: account \"\(account)\" has \(left) left; top up to continue")
        }
        let decision: LimitDecision
        do {
            decision = try await gateway.counters.decide(checks, shard: caller.key.id, nowMs: gateway.clock.nowMs())
        } catch {
            credit.map { gateway.credits.settle(account: $0.account, reserved: $0.reserved, actual: .zero) }
            // `closed` mode: the outage was logged once when it began, not once per request.
            let retryAfter = (error as? CounterStoreUnavailable)?.retryAfterSeconds ?? 1
            if !(error is CounterStoreUnavailable) { gateway.logger.error("counter store failed", metadata: ["sluice.error": "\(error)"]) }
            throw GatewayError(status: 503, code: .counterStoreUnavailable,
                               message: "The rate-limit counter store is unavailable; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
        }
        switch decision {
        case .admitted(let reservations, let states):
            let ticket = AdmissionTicket(reservations: reservations, credit: credit, gateway: gateway, shard: caller.key.id)
            return (ticket, states)
        case .refused(let limit, let retryAfter, let states):
            credit.map { gateway.credits.settle(account: $0.account, reserved: $0.reserved, actual: .zero) }
            var fields = HTTPFields()
            RateLimitHeaders.add(states, headerPolicies: headerPolicies, to: &fields)
            let message = limit.summary == LimitPlanner.dailyCapMessage ? limit.summary : "Rate limit exceeded: \(limit.summary)"
            var error = GatewayError(status: 429, code: .rateLimitExceeded, message: message, retryAfterSeconds: retryAfter)
            error.headers = fields.map { ($0.name.rawName, $0.value) }
            throw error
        }
    }

    /// What the request is expected to use, and the limit checks that follow from it.
    func limitChecks(_ body: ClientRequestBody, plan: [String], caller: Gateway.Caller, headerPolicies: [RateLimitPolicy],
                     segments: RequestSegments) throws(GatewayError) -> (UsageEstimate, [LimitCheck]) {
        let estimate = self.estimate(body, prices: prices(of: plan))
        let checks = try LimitPlanner.checks(keyID: caller.key.id, limits: caller.preset.keyLimits, headerPolicies: headerPolicies,
                                             segments: segments, estimate: estimate)
        return (estimate, checks)
    }

    /// The prices of a plan's models, the dearest of which an estimate is priced at.
    func prices(of plan: [String]) -> [Price] {
        plan.compactMap { gateway.config.models[$0]?.price }
    }

    /// What the request is expected to use, priced at the dearest of `prices`.
    func estimate(_ body: ClientRequestBody, prices: [Price]) -> UsageEstimate {
        UsageEstimate.make(promptTokens: body.estimatedPromptTokens, maxTokens: body.maxTokens,
                           producesOutput: body.endpoint != .embeddings, limits: gateway.config.limits, prices: prices)
    }

    /// `admit` without suspending, for the fast lane, with the request's estimate and limit checks
    /// already made (the fast lane keeps a connection's last checks): only when the counters are
    /// this process's memory and the credit book can answer without the ledger. Nil when the
    /// request is not admitted so (refused, or it needs the ledger): `admit` then decides it
    /// again and gives the answer; nothing was counted or reserved.
    func admitInMemory(estimate: UsageEstimate, checks: [LimitCheck], caller: Gateway.Caller, counters: MemoryCounterStore,
                       nowMs: Int64) -> (AdmissionTicket, [LimitState])? {
        let account = caller.key.account
        var credit: CreditHold?
        switch gateway.credits.reserveInMemory(account: account, cost: estimate.cost) {
        case .reserved(let cost): credit = CreditHold(account: account, reserved: cost)
        case .unlimited: break
        case .insufficient: return nil
        }
        switch counters.decideNow(checks, shard: caller.key.id, nowMs: nowMs) {
        case .admitted(let reservations, let states):
            return (AdmissionTicket(reservations: reservations, credit: credit, gateway: gateway, shard: caller.key.id), states)
        case .refused:
            credit.map { gateway.credits.settle(account: $0.account, reserved: $0.reserved, actual: .zero) }
            return nil
        }
    }
}
