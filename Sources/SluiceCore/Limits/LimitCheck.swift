/// One limit that applies to one request, as data: what the counter store needs to decide it
/// (in memory here, or in one Lua script in Redis) and what the headers need to describe it.
public struct LimitCheck: Sendable, Hashable {
    /// How the counter counts.
    public enum Kind: Sendable, Hashable {
        /// A rolling window of `windowSeconds`, kept as 60 slots of `windowSeconds / 60`.
        case rolling(windowSeconds: Int)
        /// The UTC calendar day.
        case utcDay
        /// Requests in flight; each admission holds one until it is settled.
        case concurrency
    }

    /// How an amount is admitted.
    public enum Mode: Sendable, Hashable {
        /// The whole amount must fit (requests, concurrency).
        case whole
        /// Admitted while used is below quota; reserves at most what is left (tokens, cents), so
        /// a large `max_tokens` alone never refuses a request.
        case upToRemaining
    }

    /// The counter's identity in the store: key id, limit and segment value.
    public var key: CounterKey
    /// The name in the `RateLimit` headers: `rpm`, `tpm`, `daily-tokens`, `concurrent`, `preset-1`, `header-1`.
    public var name: String
    public var kind: Kind
    public var mode: Mode
    /// Quota in counter units (requests, tokens, or nano-dollars for cent limits).
    public var quota: Int64
    /// What this request asks for, in counter units.
    public var amount: Int64
    /// What the headers count in.
    public var unit: LimitUnit
    /// What the limit is, to be put in words only when someone reads them (a 429, `/admin/limits`):
    /// most requests are admitted, and building the sentence for every check of every request
    /// cost more than deciding it.
    public var wording: Wording

    /// How a limit is put in words.
    public enum Wording: Sendable, Hashable {
        /// Exactly this text.
        case text(String)
        /// A preset field: `60 requests per 60 s (preset rpm)`.
        case preset(PresetLimit)
        /// A policy: `10 requests per 60 s for user alice (Helicone-RateLimit-Policy 1: 10;w=60;s=user)`.
        case policy(RateLimitPolicy, origin: PolicyOrigin, index: Int, segment: String?)
    }

    /// The preset fields that are limits of their own.
    public enum PresetLimit: Sendable, Hashable {
        case rpm, tpm, dailyTokenCap, maxConcurrent
    }

    /// Where a policy came from.
    public enum PolicyOrigin: Sendable, Hashable {
        case preset, header
    }

    public init(key: CounterKey, name: String, kind: Kind, mode: Mode, quota: Int64, amount: Int64, unit: LimitUnit, wording: Wording) {
        self.key = key
        self.name = name
        self.kind = kind
        self.mode = mode
        self.quota = quota
        self.amount = amount
        self.unit = unit
        self.wording = wording
    }

    public init(counterKey: String, name: String, kind: Kind, mode: Mode, quota: Int64, amount: Int64, unit: LimitUnit, summary: String) {
        self.init(key: CounterKey(counterKey), name: name, kind: kind, mode: mode, quota: quota, amount: amount, unit: unit, wording: .text(summary))
    }

    /// The counter key's text.
    public var counterKey: String { key.text }

    /// The limit in words, for the 429 message: `60 requests per 60 s (preset rpm)`.
    public var summary: String {
        switch wording {
        case .text(let text):
            return text
        case .preset(.rpm):
            return "\(quota) requests per 60 s (preset rpm)"
        case .preset(.tpm):
            return "\(quota) tokens per 60 s (preset tpm)"
        case .preset(.dailyTokenCap):
            return LimitPlanner.dailyCapMessage
        case .preset(.maxConcurrent):
            return "\(quota) requests in flight (preset max_concurrent)"
        case .policy(let policy, let origin, let index, let segment):
            let unitWords = switch policy.unit {
            case .request: policy.quota == 1 ? "request" : "requests"
            case .token: policy.quota == 1 ? "token" : "tokens"
            case .cents: policy.quota == 1 ? "cent" : "cents"
            }
            let scope = segment.map { " for " + $0.replacingFirst(":", with: " ") } ?? ""
            let from = origin == .preset ? "preset policy \(index)" : "Helicone-RateLimit-Policy \(index)"
            return "\(policy.quota) \(unitWords) per \(policy.windowSeconds) s\(scope) (\(from): \(policy.source))"
        }
    }

    /// Window in seconds for the headers' `w`; nil for concurrency.
    public var windowSeconds: Int? {
        switch kind {
        case .rolling(let seconds): seconds
        case .utcDay: 86_400
        case .concurrency: nil
        }
    }
}

/// The unit a limit counts, as the `RateLimit-Policy` `qu` parameter names it.
public enum LimitUnit: Sendable, Hashable {
    case requests, tokens, cents, concurrentRequests

    /// Counter units per header unit: cent limits count nano-dollars so reservations are exact.
    public var counterUnitsPerUnit: Int64 { self == .cents ? NanoDollars.perCent : 1 }

    /// The `qu` parameter; nil for requests (the default).
    public var quotaUnitParameter: String? {
        switch self {
        case .requests: nil
        case .tokens: "token"
        case .cents: "cents"
        case .concurrentRequests: "concurrent-requests"
        }
    }
}
