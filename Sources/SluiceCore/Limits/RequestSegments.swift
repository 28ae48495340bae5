/// The values a request can be segmented by: its user id and its `Helicone-Property-*` headers.
public struct RequestSegments: Sendable, Equatable {
    /// `Helicone-User-Id`, else the body's `user`.
    public var userID: String?
    /// Property values by lower-cased name.
    public var properties: [String: String]

    public init(userID: String?, properties: [String: String]) {
        self.userID = userID
        self.properties = properties
    }

    /// Longest user id or property value accepted, in UTF-8 bytes.
    public static let maxValueBytes = 256

    /// Checks a user id or property value, which is recorded in usage rows and logs: no control
    /// characters, at most 256 bytes. `source` names where it came from, for the message.
    public static func validate(_ value: String, source: String) throws(GatewayError) {
        if value.utf8.count > maxValueBytes {
            throw GatewayError(status: 400, code: .invalidHeader, message: "\(source) is \(value.utf8.count) bytes long; at most \(maxValueBytes) are allowed")
        }
        if containsControlCharacter(value) {
            throw GatewayError(status: 400, code: .invalidHeader, message: "\(source) contains a control character")
        }
    }

    /// Whether `value` holds a character of Unicode's control category (Cc: U+0000–U+001F and
    /// U+007F–U+009F), read from its UTF-8 bytes: checked on every request, and a Unicode
    /// property lookup per character cost more than the rest of reading the segments.
    static func containsControlCharacter(_ value: String) -> Bool {
        var afterC2 = false
        for byte in value.utf8 {
            if byte < 0x20 || byte == 0x7F || (afterC2 && (0x80...0x9F).contains(byte)) { return true }
            afterC2 = byte == 0xC2
        }
        return false
    }

    /// The counter segment for `segment`, e.g. `user:alice`; nil for the global segment.
    /// A missing value is the caller's 400.
    public func value(for segment: PolicySegment, policy: RateLimitPolicy) throws(GatewayError) -> String? {
        switch segment {
        case .global:
            return nil
        case .user:
            guard let userID else {
                throw GatewayError(status: 400, code: .missingUserID,
                                   message: "The policy \"\(policy.source)\" counts per user, but the request has no user id: send a Helicone-User-Id header or a \"user\" field")
            }
            return "user:" + userID
        case .property(let name):
            guard let value = properties[name] else {
                throw GatewayError(status: 400, code: .missingProperty,
                                   message: "The policy \"\(policy.source)\" counts per \(name), but the request has no Helicone-Property-\(name) header")
            }
            return "property:\(name)=\(value)"
        }
    }
}
