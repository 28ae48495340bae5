/// Sluice's IETF answer headers (SPEC §4; draft-ietf-httpapi-ratelimit-headers-11), read for
/// what the client paces by: `RateLimit-Policy: "rpm";q=60;w=60, "tpm";q=1000;qu="token";w=60`
/// and `RateLimit: "rpm";r=59;t=1`.
///
/// Parsing never fails: unreadable items are skipped (see `StructuredFieldList`), so a garbled
/// header only means nothing is learned from it.
public struct RateLimitPolicyHeader: Sendable, Equatable {
    /// One item of `RateLimit-Policy`.
    public struct Policy: Sendable, Equatable {
        /// The policy's name (`rpm`, `header-1`, …).
        public var name: String
        /// `q`: the quota, in `unit`s per window.
        public var quota: Int64
        /// `w`: the window in seconds; nil when absent (e.g. `concurrent`).
        public var windowSeconds: Int64?
        /// `qu`: nil for requests (the default), else `token`, `cents`, `concurrent-requests`….
        public var unit: String?

        /// Creates a policy item.
        public init(name: String, quota: Int64, windowSeconds: Int64?, unit: String? = nil) {
            self.name = name
            self.quota = quota
            self.windowSeconds = windowSeconds
            self.unit = unit
        }

        /// Whether the quota counts requests: no `qu`, or `qu="request"` / `"requests"`.
        public var countsRequests: Bool { unit == nil || unit == "request" || unit == "requests" }

        /// The quota as requests per 60 s, for a request policy with a positive window.
        public var requestsPerMinute: Double? {
            guard countsRequests, let windowSeconds, windowSeconds > 0, quota >= 0 else { return nil }
            return Double(quota) * 60 / Double(windowSeconds)
        }
    }

    /// One item of `RateLimit`.
    public struct State: Sendable, Equatable {
        /// The name of the policy this is the state of.
        public var name: String
        /// `r`: what remains of the quota.
        public var remaining: Int64?
        /// `t`: seconds until more quota frees up.
        public var resetSeconds: Int64?

        /// Creates a state item.
        public init(name: String, remaining: Int64?, resetSeconds: Int64?) {
            self.name = name
            self.remaining = remaining
            self.resetSeconds = resetSeconds
        }
    }

    /// The readable items of `RateLimit-Policy`, in order; items without an integer `q` skipped.
    public var policies: [Policy]
    /// The readable items of `RateLimit`, in order.
    public var states: [State]

    /// Reads the two header values; either may be absent.
    public init(policy: String?, rateLimit: String?) {
        policies = StructuredFieldList(policy ?? "").items.compactMap { item in
            guard let quota = item["q"]?.integer else { return nil }
            return Policy(name: item.name, quota: quota, windowSeconds: item["w"]?.integer, unit: item["qu"]?.text)
        }
        states = StructuredFieldList(rateLimit ?? "").items.map { item in
            State(name: item.name, remaining: item["r"]?.integer, resetSeconds: item["t"]?.integer)
        }
    }

    /// The request policy to pace at: the one allowing the fewest requests per 60 s (the first on
    /// ties), since every limit that applied must hold. Nil when no request policy was sent.
    public var pacingPolicy: Policy? {
        var best: (policy: Policy, rpm: Double)?
        for policy in policies {
            guard let rpm = policy.requestsPerMinute else { continue }
            if best == nil || rpm < best!.rpm { best = (policy, rpm) }
        }
        return best?.policy
    }

    /// The requests-per-minute quota to pace at (``pacingPolicy`` normalised to 60 s).
    public var requestsPerMinute: Double? { pacingPolicy?.requestsPerMinute }

    /// The `RateLimit` state of ``pacingPolicy``: its remaining requests and reset.
    public var pacingState: State? {
        guard let name = pacingPolicy?.name else { return nil }
        return states.first { $0.name == name }
    }
}
