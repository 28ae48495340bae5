import HTTPTypes
import NIOCore
import NIOHTTP1
import RawStructuredFieldValues
import SluiceCore
import SluiceProviders
import Synchronization

/// The answer headers of SPEC §4: IETF `RateLimit-Policy` and `RateLimit`
/// (draft-ietf-httpapi-ratelimit-headers-11, RFC 9651 lists), and Helicone's trio for the most
/// constrained policy the caller sent.
///
/// Every piece that does not change from request to request (a policy item, the name of a limit
/// item) is serialized by swift-http-structured-headers once and kept; per request only the
/// integers `r` and `t` are appended (serializing the whole lists each time was 3% of a
/// proxied request's CPU time).
enum RateLimitHeaders {
    /// Adds the headers for `states` (in the order of the checks). `headerPolicies` are the
    /// caller's policies, whose states are named `header-N`.
    static func add(_ states: [LimitState], headerPolicies: [RateLimitPolicy], to fields: inout HTTPFields) {
        withPieces(of: states) { pieces in
            fields[.rateLimitPolicy] = String(buffer: value { writePolicy(pieces, into: &$0) })
            fields[.rateLimit] = String(buffer: value { writeLimit(states, pieces, into: &$0) })
        }
        if let helicone = helicone(states, headerPolicies: headerPolicies) {
            fields[.heliconeLimit] = helicone.limit
            fields[.heliconeRemaining] = helicone.remaining
            fields[.heliconePolicy] = helicone.policy
        }
    }

    /// The same headers into a fast-lane answer's head, their values written in place (building
    /// them as strings first was a third of this).
    static func add(_ states: [LimitState], headerPolicies: [RateLimitPolicy], to headers: inout some AnswerFields) {
        withPieces(of: states) { pieces in
            headers.add(name: HTTPField.Name.rateLimitPolicy.rawName) { writePolicy(pieces, into: &$0) }
            headers.add(name: HTTPField.Name.rateLimit.rawName) { writeLimit(states, pieces, into: &$0) }
        }
        if let helicone = helicone(states, headerPolicies: headerPolicies) {
            headers.add(name: HTTPField.Name.heliconeLimit.rawName, value: helicone.limit)
            headers.add(name: HTTPField.Name.heliconeRemaining.rawName, value: helicone.remaining)
            headers.add(name: HTTPField.Name.heliconePolicy.rawName, value: helicone.policy)
        }
    }

    /// Runs `body` with each state's pieces, looked up once and held on the stack; nothing for no states.
    private static func withPieces(of states: [LimitState], _ body: (UnsafeMutableBufferPointer<Pieces>) -> Void) {
        guard !states.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: Pieces.self, capacity: states.count) { pieces in
            // By index: a copy of each state retained and released its check's strings.
            for index in states.indices { (pieces.baseAddress! + index).initialize(to: Self.pieces(for: states[index].check)) }
            defer { _ = pieces.baseAddress!.deinitialize(count: states.count) }
            body(pieces)
        }
    }

    private static func value(_ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(&buffer)
        return buffer
    }

    /// `RateLimit-Policy`: each limit's item, as kept.
    private static func writePolicy(_ pieces: UnsafeMutableBufferPointer<Pieces>, into buffer: inout ByteBuffer) {
        for index in pieces.indices {
            if index > 0 { buffer.writeStaticString(", ") }
            buffer.writeString(pieces[index].policyItem)
        }
    }

    /// `RateLimit`: each limit's name, then what is left of it and when it resets.
    private static func writeLimit(_ states: [LimitState], _ pieces: UnsafeMutableBufferPointer<Pieces>, into buffer: inout ByteBuffer) {
        for index in states.indices {
            if index > 0 { buffer.writeStaticString(", ") }
            buffer.writeString(pieces[index].limitItemName)
            buffer.writeStaticString(";r=")
            buffer.writeDecimal(clamped(states[index].remaining / states[index].check.unit.counterUnitsPerUnit))
            if let reset = states[index].resetSeconds {
                buffer.writeStaticString(";t=")
                buffer.writeDecimal(clamped(Int64(reset)))
            }
        }
    }

    /// The serialized pieces of one limit: its whole `RateLimit-Policy` item, and the name its
    /// `RateLimit` item starts with.
    struct Pieces {
        let policyItem: String
        let limitItemName: String
    }

    private struct PiecesKey: Hashable {
        let name: String
        let quota: Int64
        let unit: LimitUnit
        let windowSeconds: Int?
    }

    private static let cache = Mutex<[PiecesKey: Pieces]>([:])
    /// Distinct limits remembered before the cache starts over (header policies are the caller's
    /// to vary).
    static let cacheLimit = 4096

    static func pieces(for check: LimitCheck) -> Pieces {
        let window = check.unit == .concurrentRequests ? nil : check.windowSeconds
        let key = PiecesKey(name: check.name, quota: check.quota, unit: check.unit, windowSeconds: window)
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let per = check.unit.counterUnitsPerUnit
        var parameters = OrderedMap<String, RFC9651BareItem>()
        parameters["q"] = .integer(clamped(check.quota / per))
        if let unit = check.unit.quotaUnitParameter { parameters["qu"] = .string(unit) }
        if let window { parameters["w"] = .integer(clamped(Int64(window))) }
        let pieces = Pieces(policyItem: serialized(Item(bareItem: .string(check.name), parameters: parameters)),
                            limitItemName: serialized(Item(bareItem: .string(check.name), parameters: OrderedMap<String, RFC9651BareItem>())))
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll() }
            cache[key] = pieces
        }
        return pieces
    }

    private static func serialized(_ item: Item) -> String {
        var serializer = StructuredFieldValueSerializer()
        // Names are checked when policies are parsed, so they always serialize.
        let bytes = (try? serializer.writeListFieldValue([.item(item)])) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 9651 integers have at most 15 digits.
    static func clamped(_ value: Int64) -> Int64 {
        min(max(value, -999_999_999_999_999), 999_999_999_999_999)
    }

    /// `Helicone-RateLimit-Limit/Remaining/Policy` for the header policy with the smallest
    /// remaining fraction (the first on ties); nil without header policies.
    static func helicone(_ states: [LimitState], headerPolicies: [RateLimitPolicy]) -> (limit: String, remaining: String, policy: String)? {
        // Indices, not copies: a state holds its check's strings, and copying them showed.
        var best: (state: Int, policy: Int)?
        for policyIndex in headerPolicies.indices {
            let name = LimitPlanner.headerCheckName(policyIndex)  // the name LimitPlanner gave its check
            guard let stateIndex = states.firstIndex(where: { $0.check.name == name }) else { continue }
            if let current = best {
                // remaining/quota < best.remaining/best.quota, compared without division.
                let lhs = states[stateIndex].remaining.multipliedFullWidth(by: states[current.state].check.quota)
                let rhs = states[current.state].remaining.multipliedFullWidth(by: states[stateIndex].check.quota)
                if lhs.high < rhs.high || (lhs.high == rhs.high && lhs.low < rhs.low) { best = (stateIndex, policyIndex) }
            } else {
                best = (stateIndex, policyIndex)
            }
        }
        guard let best else { return nil }
        let state = states[best.state]
        let policy = headerPolicies[best.policy]
        return (String(policy.quota), String(state.remaining / state.check.unit.counterUnitsPerUnit), policy.source)
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let rateLimit = Self("RateLimit")!
    static let heliconeLimit = Self("Helicone-RateLimit-Limit")!
    static let heliconeRemaining = Self("Helicone-RateLimit-Remaining")!
    static let heliconePolicy = Self("Helicone-RateLimit-Policy")!
}
