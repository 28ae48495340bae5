extension ClientRequestBody {
    /// UTF-8 bytes of the prompt text: all message contents (chat), the prompt (completions) or
    /// the input (embeddings; a token id counts as 4 bytes). The basis of token estimates.
    public var promptBytes: Int {
        guard let member = view.member(endpoint.promptMember) else { return 0 }
        return Self.textBytes(view.bytes, member.valueRange, kind: member.kind)
    }

    /// Estimated prompt tokens: prompt bytes ÷ 4, rounded up.
    public var estimatedPromptTokens: Int { (promptBytes + 3) / 4 }

    /// The text bytes of the value at `range` (already validated: the body was parsed whole),
    /// read in place: no view or element list is built for a message or a content part (they
    /// were most of a request's allocations for its token estimate).
    static func textBytes(_ bytes: [UInt8], _ range: Range<Int>, kind: JSONValueKind) -> Int {
        switch kind {
        case .string:
            // Without escapes the bytes between the quotes are the text: counted, not copied.
            let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
            if !bytes[inner].contains(UInt8(ascii: "\\")) { return inner.count }
            return JSONStringDecoder.decode(bytes, range: range).utf8.count
        case .number:
            return 4
        case .array:
            var total = 0
            forEachElement(bytes, range) { element, kind in total += textBytes(bytes, element, kind: kind) }
            return total
        case .object:
            // A chat message (`content`) or a content part (`text`); the last of each when a key
            // repeats, as `JSONObjectView.member` reads them.
            var content = 0
            var text = 0
            forEachMember(bytes, range) { key, value, kind in
                if isKey(bytes, key, "content") {
                    content = textBytes(bytes, value, kind: kind)
                } else if isKey(bytes, key, "text") {
                    text = textBytes(bytes, value, kind: kind)
                }
            }
            return content + text
        case .bool, .null:
            return 0
        }
    }

    private static func forEachElement(_ bytes: [UInt8], _ range: Range<Int>, _ body: (Range<Int>, JSONValueKind) -> Void) {
        var scanner = JSONScanner(bytes: bytes, position: range.lowerBound + 1)
        scanner.skipWhitespace()
        guard scanner.position < range.upperBound, bytes[scanner.position] != UInt8(ascii: "]") else { return }
        while let element = try? scanner.skipValue(depth: 1), let kind = JSONValueKind(firstByte: bytes[element.lowerBound]) {
            body(element, kind)
            scanner.skipWhitespace()
            guard scanner.position < range.upperBound, bytes[scanner.position] == UInt8(ascii: ",") else { return }
            scanner.position += 1
        }
    }

    /// Calls `body` with each member's key (quotes included) and value.
    private static func forEachMember(_ bytes: [UInt8], _ range: Range<Int>, _ body: (Range<Int>, Range<Int>, JSONValueKind) -> Void) {
        var scanner = JSONScanner(bytes: bytes, position: range.lowerBound + 1)
        scanner.skipWhitespace()
        guard scanner.position < range.upperBound, bytes[scanner.position] != UInt8(ascii: "}") else { return }
        while true {
            scanner.skipWhitespace()
            guard let key = try? scanner.skipString() else { return }
            scanner.skipWhitespace()
            guard (try? scanner.expect(UInt8(ascii: ":"))) != nil, let value = try? scanner.skipValue(depth: 1),
                  let kind = JSONValueKind(firstByte: bytes[value.lowerBound])
            else { return }
            body(key, value, kind)
            scanner.skipWhitespace()
            guard scanner.position < range.upperBound, bytes[scanner.position] == UInt8(ascii: ",") else { return }
            scanner.position += 1
        }
    }

    /// Whether the key at `range` (quotes included) is `name`, escapes decoded.
    private static func isKey(_ bytes: [UInt8], _ range: Range<Int>, _ name: StaticString) -> Bool {
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        let expected = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        if bytes[inner].contains(UInt8(ascii: "\\")) { return JSONStringDecoder.decode(bytes, range: range).utf8.elementsEqual(expected) }
        return bytes[inner].elementsEqual(expected)
    }
}

/// Output tokens estimated from streamed text when a provider reports none: bytes ÷ 4, rounded up.
public func estimatedTokens(forTextBytes bytes: Int) -> Int { (bytes + 3) / 4 }
