import HTTPTypes
import NIOHTTP1
import SluiceCore

/// The request headers the limit decisions read — `Helicone-User-Id`, `Helicone-RateLimit-Policy`
/// and `Helicone-Property-*` — taken once from whichever head the request came in: Hummingbird's
/// `HTTPFields` on the general path, NIO's `HTTPHeaders` on the fast lane. Both give the same
/// value, so both paths decide the same request the same way.
struct HeliconeHeaders: Equatable {
    /// Every `Helicone-User-Id` value, joined with ", " as `HTTPFields`' subscript joins them.
    var userID: String?
    /// Each `Helicone-RateLimit-Policy` field's value, in order.
    var policies: [String] = []
    /// Each `Helicone-Property-*` field, in order: the name as sent (for messages), the
    /// property's name (lowercased, without the prefix) and the value.
    var properties: [Property] = []

    struct Property: Equatable {
        let rawName: String
        let name: String
        let value: String
    }

    init(_ fields: HTTPFields) {
        for field in fields {
            add(name: field.name.rawName, value: field.value)
        }
    }

    /// From NIO's head. Most requests carry a few `Helicone-*` fields among a dozen others, so
    /// names are compared as bytes, without lowercasing or allocating anything.
    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            add(name: name, value: value)
        }
    }

    /// None yet: `add(name:value:)` them.
    init() {}

    /// Takes in one field, if it is one of these.
    mutating func add(name: String, value: String) {
        var name = name
        let kind = name.withUTF8 { Self.kind(of: UnsafeRawBufferPointer($0)) }
        add(kind, rawName: { name }, value: value)
    }

    /// Takes in one field named by `name`'s bytes (the fast lane's heads): the name becomes a
    /// string only for a property, which keeps it.
    mutating func add(name: UnsafeRawBufferPointer, value: String) {
        add(Self.kind(of: name), rawName: { String(decoding: name, as: UTF8.self) }, value: value)
    }

    private mutating func add(_ kind: Kind, rawName: () -> String, value: String) {
        switch kind {
        case .userID: userID = userID.map { $0 + ", " + value } ?? value
        case .policy: policies.append(value)
        case .property(let property): properties.append(Property(rawName: rawName(), name: property, value: value))
        case .other: break
        }
    }

    private enum Kind {
        case userID, policy, other
        case property(String)
    }

    private static func kind(of bytes: UnsafeRawBufferPointer) -> Kind {
        guard bytes.count > 9, matches(bytes, at: 0, "helicone-"),
              // NIO's parser takes any byte sequence as a name; HTTPFields (the general path) takes tokens only.
              bytes.allSatisfy(HTTPFieldBytes.isTokenByte)
        else { return .other }
        if bytes.count == 16, matches(bytes, at: 9, "user-id") { return .userID }
        if bytes.count == 25, matches(bytes, at: 9, "ratelimit-policy") { return .policy }
        if bytes.count > 18, matches(bytes, at: 9, "property-") {
            return .property(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[18...]), as: UTF8.self).lowercased())
        }
        return .other
    }

    /// Whether `bytes` holds `lowercase` at `offset`, ignoring ASCII case (`| 0x20` lowercases
    /// letters and leaves the other token characters of these literals alone).
    private static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count - offset >= count else { return false }
        let literal = lowercase.utf8Start
        for index in 0..<count where bytes[offset + index] | 0x20 != literal[index] { return false }
        return true
    }
}
