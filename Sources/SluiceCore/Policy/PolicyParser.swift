/// Parses rate-limit policies written in the Helicone-compatible syntax of SPEC §4:
///
///     quota;w=SECONDS[;u=request|token|cents][;s=user|PROPERTY]
///
/// * The quota comes first: ASCII digits only, 1 … 1_000_000_000_000.
/// * `w` (required): whole seconds, 60 … 31_536_000 (365 days).
/// * `u` (optional): `request` (the default), `token` or `cents`, any case.
/// * `s` (optional): absent or empty = global; `user` (any case) = per user id; any other name =
///   per value of the `Helicone-Property-<name>` header. A name is 1–64 letters, digits, `-` or
///   `_` and is compared case-insensitively (stored lower-cased).
/// * Parameter names are case-insensitive and may come in any order after the quota; unknown,
///   repeated or empty parameters are errors.
/// * A list holds 1 … 8 policies separated by commas, at most 1024 bytes of UTF-8 in all; an
///   empty item (`10;w=60,,5;w=60`, a leading or trailing comma) is an error.
/// * Spaces and tabs are allowed around the whole text, around each policy, around `;` and
///   around `=`.
///
/// Errors quote the offending part as written (trimmed): a policy item for problems with the
/// quota, a missing `w`, an empty parameter or a parameter without `=`; the `name=value`
/// parameter itself for problems with its name or value.
public enum PolicyParser {
    /// Most policies in one header value or preset list.
    public static let maxPolicies = 8
    /// Longest header value or list, in UTF-8 bytes.
    public static let maxHeaderBytes = 1024
    /// Largest quota.
    public static let maxQuota = 1_000_000_000_000
    /// Shortest window, in seconds.
    public static let minWindowSeconds = 60
    /// Longest window, in seconds (365 days).
    public static let maxWindowSeconds = 31_536_000
    /// Longest segment (property) name, in characters.
    public static let maxSegmentNameLength = 64

    /// A whole header value or preset list entry: one or more comma-separated policies, in order.
    public static func parseList(_ text: String) throws(PolicyParseError) -> [RateLimitPolicy] {
        let items = try splitItems(text)
        guard items.count <= maxPolicies else {
            throw PolicyParseError("too many policies: \(items.count) given, at most \(maxPolicies)")
        }
        var policies: [RateLimitPolicy] = []
        policies.reserveCapacity(items.count)
        for item in items {
            policies.append(try parseItem(item))
        }
        return policies
    }

    /// Exactly one policy.
    public static func parse(_ text: String) throws(PolicyParseError) -> RateLimitPolicy {
        let items = try splitItems(text)
        guard items.count == 1 else {
            throw PolicyParseError("\"\(trimmed(text[...]))\": expected exactly one policy, found \(items.count)")
        }
        return try parseItem(items[0])
    }

    // MARK: - Items

    /// The trimmed, non-empty comma-separated items of `text`.
    private static func splitItems(_ text: String) throws(PolicyParseError) -> [Substring] {
        let bytes = text.utf8.count
        guard bytes <= maxHeaderBytes else {
            throw PolicyParseError("the policy header is \(bytes) bytes long, at most \(maxHeaderBytes)")
        }
        let whole = trimmed(text[...])
        guard !whole.isEmpty else {
            throw PolicyParseError("no policy given: write at least one, e.g. 10;w=60")
        }
        let pieces = whole.split(separator: ",", omittingEmptySubsequences: false)
        var items: [Substring] = []
        items.reserveCapacity(pieces.count)
        for (index, piece) in pieces.enumerated() {
            let item = trimmed(piece)
            guard !item.isEmpty else {
                throw PolicyParseError("policy \(index + 1) of \(pieces.count) is empty: remove the extra comma")
            }
            items.append(item)
        }
        return items
    }

    /// One policy item, already trimmed and free of commas.
    private static func parseItem(_ item: Substring) throws(PolicyParseError) -> RateLimitPolicy {
        let parts = item.split(separator: ";", omittingEmptySubsequences: false)
        let quota = try parseQuota(trimmed(parts[0]), item: item)

        var window: Int?
        var unit: RateLimitUnit?
        var segment: PolicySegment?
        for rawPart in parts.dropFirst() {
            let part = trimmed(rawPart)
            guard !part.isEmpty else {
                throw PolicyParseError("\"\(item)\": a parameter is empty; remove the extra ';'")
            }
            guard let equals = part.firstIndex(of: "=") else {
                throw bareParameterError(part, item: item)
            }
            let name = trimmed(part[..<equals])
            let value = trimmed(part[part.index(after: equals)...])
            switch name.lowercased() {
            case "w":
                guard window == nil else { throw repeated("w", part) }
                window = try parseWindow(value, part: part)
            case "u":
                guard unit == nil else { throw repeated("u", part) }
                unit = try parseUnit(value, part: part)
            case "s":
                guard segment == nil else { throw repeated("s", part) }
                segment = try parseSegment(value, part: part)
            case "":
                throw PolicyParseError("\"\(part)\": the parameter name is missing (expected w, u or s)")
            default:
                throw PolicyParseError("\"\(part)\": unknown parameter \(name) (expected w, u or s)")
            }
        }
        guard let window else {
            throw PolicyParseError("\"\(item)\": the window w is required, e.g. \(item);w=60")
        }
        return RateLimitPolicy(quota: quota, windowSeconds: window, unit: unit ?? .request, segment: segment ?? .global, source: String(item))
    }

    // MARK: - Parts

    private static func parseQuota(_ text: Substring, item: Substring) throws(PolicyParseError) -> Int {
        if text.isEmpty {
            throw PolicyParseError("\"\(item)\": the policy must start with the quota, e.g. 10\(item)")
        }
        if let equals = text.firstIndex(of: "="), isParameterName(trimmed(text[..<equals])) {
            throw PolicyParseError("\"\(item)\": the policy must start with the quota, e.g. 10;\(item)")
        }
        guard let quota = wholeNumber(text) else {
            throw PolicyParseError("\"\(item)\": the quota must be a whole number of at least 1")
        }
        guard quota >= 1 else {
            throw PolicyParseError("\"\(item)\": the quota must be at least 1")
        }
        guard quota <= maxQuota else {
            throw PolicyParseError("\"\(item)\": the quota must be at most \(maxQuota)")
        }
        return quota
    }

    private static func parseWindow(_ value: Substring, part: Substring) throws(PolicyParseError) -> Int {
        guard !value.isEmpty else { throw needsValue("w", part) }
        guard let seconds = wholeNumber(value) else {
            throw PolicyParseError("\"\(part)\": the window must be a whole number of seconds, e.g. w=60")
        }
        guard seconds >= minWindowSeconds else {
            throw PolicyParseError("\"\(part)\": the window must be at least \(minWindowSeconds) seconds")
        }
        guard seconds <= maxWindowSeconds else {
            throw PolicyParseError("\"\(part)\": the window must be at most \(maxWindowSeconds) seconds (365 days)")
        }
        return seconds
    }

    private static func parseUnit(_ value: Substring, part: Substring) throws(PolicyParseError) -> RateLimitUnit {
        guard !value.isEmpty else { throw needsValue("u", part) }
        guard let unit = RateLimitUnit(rawValue: value.lowercased()) else {
            throw PolicyParseError("\"\(part)\": the unit must be request, token or cents")
        }
        return unit
    }

    private static func parseSegment(_ value: Substring, part: Substring) throws(PolicyParseError) -> PolicySegment {
        if value.isEmpty { return .global }
        guard value.utf8.allSatisfy(isTokenByte) else {
            throw PolicyParseError("\"\(part)\": the segment must be user or a property name of letters, digits, '-' or '_'")
        }
        guard value.utf8.count <= maxSegmentNameLength else {
            throw PolicyParseError("\"\(part)\": the segment name must be at most \(maxSegmentNameLength) characters")
        }
        let name = value.lowercased()
        return name == "user" ? .user : .property(name)
    }

    /// A parameter written without `=`.
    private static func bareParameterError(_ part: Substring, item: Substring) -> PolicyParseError {
        if isParameterName(part) {
            return needsValue(part.lowercased(), item)
        }
        if wholeNumber(part) != nil {
            return PolicyParseError("\"\(item)\": write the window as w=\(part)")
        }
        return PolicyParseError("\"\(item)\": unknown parameter \(part) (expected w, u or s)")
    }

    private static func needsValue(_ name: String, _ quoted: Substring) -> PolicyParseError {
        PolicyParseError("\"\(quoted)\": \(name) needs a value")
    }

    private static func repeated(_ name: String, _ part: Substring) -> PolicyParseError {
        PolicyParseError("\"\(part)\": \(name) is given more than once")
    }

    // MARK: - Lexical helpers

    private static func isParameterName(_ text: Substring) -> Bool {
        text.count == 1 && "wusWUS".contains(text.first!)
    }

    /// The value of a string of ASCII digits (saturating at `Int.max`), or nil when `text` is empty
    /// or holds anything else.
    private static func wholeNumber(_ text: Substring) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            value = overflow1 || overflow2 ? Int.max : sum
        }
        return value
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
