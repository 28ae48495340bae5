/// One rate-limit policy: at most `quota` units per rolling window of `windowSeconds`, counted per
/// `segment` (SPEC §4). Built by `PolicyParser` from a `Helicone-RateLimit-Policy` header or a
/// preset; the parser guarantees `1 ≤ quota ≤ 10^12` and `60 ≤ windowSeconds ≤ 31_536_000`.
///
/// Equality compares every field, `source` included. Two policies share a counter exactly when
/// their `normalized` texts are equal: `10;w=60;u=request;s=User` and `10 ; s=user ; w=60` differ
/// as values but are the same counter.
public struct RateLimitPolicy: Sendable, Hashable {
    /// Units allowed per window, at least 1.
    public let quota: Int
    /// Length of the rolling window in seconds, at least 60.
    public let windowSeconds: Int
    /// What is counted.
    public let unit: RateLimitUnit
    /// Whose requests share a counter.
    public let segment: PolicySegment
    /// The policy as the caller wrote it, trimmed of surrounding spaces (echoed in
    /// `Helicone-RateLimit-Policy`).
    public let source: String

    /// Creates a policy; `source` defaults to the normalized text. A property segment's name is
    /// lower-cased.
    public init(quota: Int, windowSeconds: Int, unit: RateLimitUnit = .request, segment: PolicySegment = .global, source: String? = nil) {
        self.quota = quota
        self.windowSeconds = windowSeconds
        self.unit = unit
        if case .property(let name) = segment {
            self.segment = .property(name.lowercased())
        } else {
            self.segment = segment
        }
        normalized = Self.normalize(quota: quota, windowSeconds: windowSeconds, unit: unit, segment: self.segment)
        self.source = source ?? normalized
    }

    /// Canonical text: `quota;w=W;u=UNIT` plus `;s=user` or `;s=<property name lower-cased>` when
    /// segmented, e.g. `3;w=60;u=request;s=user`, `100;w=3600;u=token`. Two policies are the same
    /// counter if and only if their normalized texts are equal. Built once: every request that
    /// carries the policy names its counter with it.
    public let normalized: String

    static func normalize(quota: Int, windowSeconds: Int, unit: RateLimitUnit, segment: PolicySegment) -> String {
        let base = "\(quota);w=\(windowSeconds);u=\(unit.rawValue)"
        switch segment {
        case .global: return base
        case .user: return base + ";s=user"
        case .property(let name): return base + ";s=" + name
        }
    }
}
