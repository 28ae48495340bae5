#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The members of one JSON object, as byte ranges into the document, with typed accessors.
///
/// `parse` validates the whole object; reading a member decodes only that member.
public struct JSONObjectView: Sendable {
    /// One `"key": value` pair of the object.
    public struct Member: Sendable {
        /// Range of the key as written, quotes excluded (`JSONObjectView.key(of:)` decodes it).
        /// Keys are compared as bytes, not decoded into strings: decoding every key of every
        /// object was a tenth of a proxied call's allocations.
        public let keyRange: Range<Int>
        /// Whether the key holds an escape, so that its bytes are not its characters.
        let keyHasEscapes: Bool
        /// Range of the value's bytes.
        public let valueRange: Range<Int>
        /// Range from the key's opening quote to the end of the value.
        public let range: Range<Int>
        /// The value's kind.
        public let kind: JSONValueKind
    }

    /// The whole document the ranges point into.
    public let bytes: [UInt8]
    /// The members in document order.
    public let members: [Member]
    /// Range of the object itself, braces included.
    public let range: Range<Int>

    /// Parses the JSON document `bytes`, which must be one object (with optional whitespace).
    public init(parsing bytes: [UInt8]) throws(JSONSyntaxError) {
        try self.init(bytes: bytes, objectAt: try Self.documentObjectStart(bytes))
        try Self.expectDocumentEnd(bytes, objectEnd: range.upperBound)
    }

    /// Reads the object that starts at `start` in a document (e.g. an element of an array member).
    public init(bytes: [UInt8], objectAt start: Int) throws(JSONSyntaxError) {
        var members: [Member] = []
        // Room for a typical request or answer object at once: growing from empty took four
        // allocations per object, and a chat request reads one object per message.
        members.reserveCapacity(8)
        let end = try Self.forEachMember(bytes, objectAt: start) { members.append($0) }
        self.bytes = bytes
        self.members = members
        self.range = start..<end
    }

    /// Reads the object that starts at `start`, validating it, and calls `body` with each member
    /// in document order, keeping none; returns where the object ends. For readers that want a
    /// member or two of an object without a view of all of them. `body` sees members before the
    /// rest of the object is validated: what it learned counts only if this does not throw.
    @discardableResult
    public static func forEachMember(_ bytes: [UInt8], objectAt start: Int, _ body: (Member) -> Void) throws(JSONSyntaxError) -> Int {
        // The scanner reads through a pointer: a start outside the document is a caller's bug, stopped here.
        precondition(start >= 0 && start <= bytes.count, "an object start outside the document")
        return try bytes.withUnsafeBufferPointer { (bytes) throws(JSONSyntaxError) -> Int in
            var scanner = JSONScanner(bytes: bytes, position: start)
            try scanner.expect(UInt8(ascii: "{"))
            scanner.skipWhitespace()
            if scanner.position < bytes.count, bytes[scanner.position] == UInt8(ascii: "}") { return scanner.position + 1 }
            while true {
                scanner.skipWhitespace()
                let keyRange = try scanner.skipString()
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"))
                let valueRange = try scanner.skipValue(depth: 1)
                let inner = (keyRange.lowerBound + 1)..<(keyRange.upperBound - 1)
                body(Member(keyRange: inner, keyHasEscapes: bytes[inner].contains(UInt8(ascii: "\\")), valueRange: valueRange,
                            range: keyRange.lowerBound..<valueRange.upperBound, kind: JSONValueKind(firstByte: bytes[valueRange.lowerBound])!))
                scanner.skipWhitespace()
                guard scanner.position < bytes.count else { throw scanner.unexpected() }
                if bytes[scanner.position] == UInt8(ascii: ",") { scanner.position += 1; continue }
                try scanner.expect(UInt8(ascii: "}"))
                return scanner.position
            }
        }
    }

    /// Where the single JSON object that `bytes` must be (with optional whitespace) starts.
    public static func documentObjectStart(_ bytes: [UInt8]) throws(JSONSyntaxError) -> Int {
        let start = bytes.withUnsafeBufferPointer { bytes in
            var scanner = JSONScanner(bytes: bytes)
            scanner.skipWhitespace()
            return scanner.position
        }
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") else {
            if start >= bytes.count { throw JSONSyntaxError("the body is empty; expected a JSON object", at: 0) }
            throw JSONSyntaxError("expected a JSON object", at: start)
        }
        return start
    }

    /// Checks that nothing but whitespace follows the document's object, which ends at `end`.
    public static func expectDocumentEnd(_ bytes: [UInt8], objectEnd end: Int) throws(JSONSyntaxError) {
        precondition(end >= 0 && end <= bytes.count, "an object end outside the document")
        let after = bytes.withUnsafeBufferPointer { bytes in
            var scanner = JSONScanner(bytes: bytes, position: end)
            scanner.skipWhitespace()
            return scanner.position
        }
        guard after == bytes.count else { throw JSONSyntaxError("unexpected data after the JSON object", at: after) }
    }

    /// The member named `key`; the last one when a key repeats, as most JSON parsers do.
    public func member(_ key: String) -> Member? {
        members.last { hasKey($0, key) }
    }

    /// The decoded key of `member`.
    public func key(of member: Member) -> String {
        JSONStringDecoder.decode(bytes, range: (member.keyRange.lowerBound - 1)..<(member.keyRange.upperBound + 1))
    }

    /// Whether `member`'s key is `key`, code point for code point (as JSON parsers compare
    /// keys, with no Unicode normalization).
    public func hasKey(_ member: Member, _ key: String) -> Bool {
        if member.keyHasEscapes { return self.key(of: member).utf8.elementsEqual(key.utf8) }
        let range = member.keyRange
        guard range.count == key.utf8.count else { return false }
        var index = range.lowerBound
        for byte in key.utf8 {
            guard bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }

    /// `hasKey` for a member of the document `bytes` (one `forEachMember` handed out), compared
    /// with `memcmp`: readers call it for every member they pass.
    public static func hasKey(_ member: Member, _ key: StaticString, in bytes: [UInt8]) -> Bool {
        let expected = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        if member.keyHasEscapes {
            return JSONStringDecoder.decode(bytes, range: (member.keyRange.lowerBound - 1)..<(member.keyRange.upperBound + 1)).utf8.elementsEqual(expected)
        }
        let range = member.keyRange
        guard range.count == expected.count else { return false }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress! + range.lowerBound, expected.baseAddress!, range.count) == 0 }
    }

    /// Whether the member is absent or `null`.
    public func isAbsentOrNull(_ key: String) -> Bool {
        guard let member = member(key) else { return true }
        return member.kind == .null
    }

    /// A string member; `nil` when absent or null; a type error otherwise.
    public func string(_ key: String) throws(JSONTypeError) -> String? {
        guard let member = member(key), member.kind != .null else { return nil }
        guard member.kind == .string else { throw JSONTypeError(key: key, expected: "a string", found: member.kind) }
        return JSONStringDecoder.decode(bytes, range: member.valueRange)
    }

    /// A boolean member; `nil` when absent or null.
    public func bool(_ key: String) throws(JSONTypeError) -> Bool? {
        guard let member = member(key), member.kind != .null else { return nil }
        guard member.kind == .bool else { throw JSONTypeError(key: key, expected: "a boolean", found: member.kind) }
        return bytes[member.valueRange.lowerBound] == UInt8(ascii: "t")
    }

    /// A whole-number member; `nil` when absent or null. Numbers with a fraction or out of range
    /// are type errors.
    public func integer(_ key: String) throws(JSONTypeError) -> Int? {
        guard let member = member(key), member.kind != .null else { return nil }
        guard member.kind == .number, let value = Self.integer(bytes[member.valueRange]) else {
            throw JSONTypeError(key: key, expected: "a whole number", found: member.kind)
        }
        return value
    }

    /// A nested object member; `nil` when absent or null.
    public func object(_ key: String) throws(JSONTypeError) -> JSONObjectView? {
        guard let member = member(key), member.kind != .null else { return nil }
        guard member.kind == .object, let view = try? JSONObjectView(bytes: bytes, objectAt: member.valueRange.lowerBound) else {
            throw JSONTypeError(key: key, expected: "an object", found: member.kind)
        }
        return view
    }

    /// The element ranges and kinds of an array member; `nil` when absent or null.
    public func array(_ key: String) throws(JSONTypeError) -> [(range: Range<Int>, kind: JSONValueKind)]? {
        guard let member = member(key), member.kind != .null else { return nil }
        guard member.kind == .array else { throw JSONTypeError(key: key, expected: "an array", found: member.kind) }
        return Self.elements(bytes, arrayAt: member.valueRange)
    }

    /// The text of the string at `range` (quotes included), unescaped.
    public func decodeString(at range: Range<Int>) -> String {
        JSONStringDecoder.decode(bytes, range: range)
    }

    static func elements(_ bytes: [UInt8], arrayAt range: Range<Int>) -> [(range: Range<Int>, kind: JSONValueKind)] {
        var result: [(range: Range<Int>, kind: JSONValueKind)] = []
        result.reserveCapacity(8)
        forEachElement(bytes, arrayAt: range) { result.append(($0, $1)) }
        return result
    }

    /// Calls `body` with the range and kind of each element of the (validated) array at `range`.
    static func forEachElement(_ bytes: [UInt8], arrayAt range: Range<Int>, _ body: (Range<Int>, JSONValueKind) -> Void) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "an array outside the document")
        bytes.withUnsafeBufferPointer { bytes in
            var scanner = JSONScanner(bytes: bytes, position: range.lowerBound + 1)
            scanner.skipWhitespace()
            guard scanner.position < range.upperBound, bytes[scanner.position] != UInt8(ascii: "]") else { return }
            while let element = try? scanner.skipValue(depth: 1) {
                body(element, JSONValueKind(firstByte: bytes[element.lowerBound])!)
                scanner.skipWhitespace()
                guard scanner.position < range.upperBound, bytes[scanner.position] == UInt8(ascii: ",") else { return }
                scanner.position += 1
            }
        }
    }

    /// The whole number spelled by `digits` (a JSON number's bytes); nil with a fraction, an
    /// exponent or out of range.
    public static func integer(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        var negative = false
        var index = digits.startIndex
        if index < digits.endIndex, digits[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        guard index < digits.endIndex else { return nil }
        while index < digits.endIndex {
            let byte = digits[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }
}

/// A member of a JSON object has the wrong type.
public struct JSONTypeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var expected: String
    public var found: JSONValueKind

    public var description: String { "\"\(key)\" must be \(expected), not \(found.name)" }
}
