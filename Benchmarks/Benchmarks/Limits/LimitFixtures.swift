import SluiceCore

/// One request as the gateway hands it to the counter store: its key id (the shard) and the
/// checks `LimitPlanner` built for it.
struct LimitRequest {
    let keyID: String
    let checks: [LimitCheck]
}

/// The keys, limits and requests the benchmarks decide. Every quota is out of reach, so every
/// decision admits and counts, and the cost measured is that of the common case.
enum LimitFixtures {
    /// Keys the requests are spread over.
    static let keyCount = 1_000
    /// Distinct users per key for the per-user policy of the 8-limit requests.
    static let usersPerKey = 10
    /// A quota no benchmark reaches (for cent policies, in cents: counters hold nano-dollars).
    static let unreachable = 1_000_000_000_000
    static let unreachableCents = 1_000_000_000
    /// 2026-11-23T12:00:00Z: the injected clock starts here, far from a UTC-day boundary.
    static let startMs: Int64 = 1_795_435_200_000
    /// What each request reserves: 44 prompt tokens plus the default 256 output tokens.
    static let estimate = UsageEstimate(tokens: 300, cost: NanoDollars(900))

    /// A key id shaped like the real ones (`key_` and 16 characters).
    static func keyID(_ index: Int) -> String {
        let digits = String(index)
        return "key_bench" + String(repeating: "0", count: max(0, 11 - digits.count)) + digits
    }

    /// The preset and header policies of a request with `limitCount` limits:
    /// 1 = rpm; 3 = rpm, tpm, daily tokens; 8 = those, max_concurrent, two preset policies and
    /// two header policies, one of them per user.
    static func limits(count limitCount: Int) -> (preset: KeyLimits, header: [RateLimitPolicy]) {
        switch limitCount {
        case 1:
            return (KeyLimits(rpm: unreachable), [])
        case 3:
            return (KeyLimits(rpm: unreachable, tpm: unreachable, dailyTokenCap: unreachable), [])
        case 8:
            let preset = try! PolicyParser.parseList("\(unreachable);w=3600, \(unreachable);w=86400;u=token")
            let header = try! PolicyParser.parseList("\(unreachable);w=60;s=user, \(unreachableCents);w=3600;u=cents")
            return (KeyLimits(rpm: unreachable, tpm: unreachable, dailyTokenCap: unreachable, maxConcurrent: unreachable, policies: preset), header)
        default:
            preconditionFailure("no fixture for \(limitCount) limits")
        }
    }

    /// `keyCount × usersPerKey` requests, key-major in round-robin order: request `i` is of key
    /// `i % keyCount` and user `i / keyCount`, so consecutive requests hit different keys.
    static func requests(limitCount: Int) -> [LimitRequest] {
        let (preset, header) = limits(count: limitCount)
        var requests: [LimitRequest] = []
        requests.reserveCapacity(keyCount * usersPerKey)
        for index in 0..<(keyCount * usersPerKey) {
            let keyID = keyID(index % keyCount)
            let segments = RequestSegments(userID: "user-\(index / keyCount)", properties: [:])
            let checks = try! LimitPlanner.checks(keyID: keyID, limits: preset, headerPolicies: header, segments: segments, estimate: estimate)
            precondition(checks.count == limitCount, "expected \(limitCount) checks, planned \(checks.count)")
            requests.append(LimitRequest(keyID: keyID, checks: checks))
        }
        return requests
    }

    /// What the gateway settles when the answer ends: tokens and cents come in a little under
    /// the reservation, concurrency leases are released, requests stay counted.
    static func settlement(_ decision: LimitDecision) -> [SettlementEntry] {
        guard case .admitted(let reservations, _) = decision else {
            preconditionFailure("a benchmark request was refused: \(decision)")
        }
        return reservations.map { reservation in
            let actual = reservation.unit == .tokens || reservation.unit == .cents ? reservation.amount * 9 / 10 : reservation.amount
            return SettlementEntry(reservation: reservation, actual: actual)
        }
    }
}
