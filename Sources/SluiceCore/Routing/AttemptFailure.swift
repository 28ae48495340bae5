/// Why one upstream attempt did not produce an answer to relay.
public struct AttemptFailure: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made or broke before the response head.
        case connection
        /// No response head within `attempt_timeout_s`.
        case timeout
        /// The provider answered with this non-2xx status.
        case status(Int)
    }

    public var kind: Kind
    /// The provider's `Retry-After`, in milliseconds from when it was received.
    public var retryAfterMs: Int64?
    /// What went wrong, in words, for the final error's message.
    public var detail: String

    public init(kind: Kind, retryAfterMs: Int64? = nil, detail: String) {
        self.kind = kind
        self.retryAfterMs = retryAfterMs
        self.detail = detail
    }

    /// What the retry loop does about a failure.
    public enum Handling: Sendable, Equatable {
        /// Try the same model again after a backoff (or the provider's Retry-After).
        case retry
        /// Do not try this deployment again for this request; other deployments and fallbacks
        /// may still answer (the provider refused Sluice's own credentials, or failed in a way
        /// a retry will not mend).
        case skipDeployment
        /// The request itself is wrong: no other attempt would do better. The provider's answer
        /// goes back to the caller.
        case returnToCaller
    }

    /// SPEC §6: connection errors, timeouts before the head, and 429, 500, 502, 503, 504, 529 are
    /// retried; 401 and 403 are Sluice's provider credentials being refused; any other 4xx is
    /// the caller's error (400, 404, 409, 413, 422, context length, …) and is never retried;
    /// any other 5xx is the provider's and moves on without a retry.
    public var handling: Handling {
        switch kind {
        case .connection, .timeout:
            return .retry
        case .status(let status):
            if Self.retriedStatuses.contains(status) { return .retry }
            if status == 401 || status == 403 { return .skipDeployment }
            if (400..<500).contains(status) { return .returnToCaller }
            return .skipDeployment
        }
    }

    /// Whether the failure counts toward the deployment's cooldown: everything except the
    /// caller's own errors, which say nothing about the deployment's health.
    public var countsTowardCooldown: Bool { handling != .returnToCaller }

    public static let retriedStatuses: Set<Int> = [429, 500, 502, 503, 504, 529]
}
