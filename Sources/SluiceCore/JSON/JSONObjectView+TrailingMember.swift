extension JSONObjectView {
    /// The document object's member `key`, found from the document's end: its last occurrence
    /// as a key, when what follows its value is only other members (none named `key`) and the
    /// object's closing brace. Nil when that does not hold; then `forEachMember` is the way.
    ///
    /// A provider's answer puts `usage` after `choices`, near its end, and reading the whole
    /// answer to find it was the largest part of settling a call. For a valid document this is
    /// the member `forEachMember` would find last under `key`: a raw quote after `{` or `,` starts
    /// a key, and what follows the value can close the document only from its top level. Unlike
    /// `forEachMember` it does not validate the bytes between the document's opening brace and
    /// the key, so a document broken there (or two objects run together) can still have a
    /// member found here.
    public static func trailingMember(_ document: [UInt8], named key: StaticString) -> Member? {
        // A document that is an object.
        guard let first = try? documentObjectStart(document) else { return nil }
        let name = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        return document.withUnsafeBufferPointer { bytes -> Member? in
            // The last `"key"` in the document.
            var start = bytes.count - name.count - 2
            while start > 0 {
                if bytes[start] == UInt8(ascii: "\""), bytes[start + name.count + 1] == UInt8(ascii: "\""),
                   (0..<name.count).allSatisfy({ bytes[start + 1 + $0] == name[$0] }) {
                    break
                }
                start -= 1
            }
            guard start > first else { return nil }
            var before = start - 1
            while before > 0, bytes[before] == 0x20 || bytes[before] == 0x0A || bytes[before] == 0x0D || bytes[before] == 0x09 { before -= 1 }
            guard bytes[before] == UInt8(ascii: "{") || bytes[before] == UInt8(ascii: ",") else { return nil }
            do throws(JSONSyntaxError) {
                var scanner = JSONScanner(bytes: bytes, position: start)
                let keyRange = try scanner.skipString()
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"))
                let valueRange = try scanner.skipValue(depth: 1)
                // Only further members, none of them `key` however it is spelled, then the end.
                while true {
                    scanner.skipWhitespace()
                    guard scanner.position < bytes.count else { return nil }
                    guard bytes[scanner.position] == UInt8(ascii: ",") else { break }
                    scanner.position += 1
                    scanner.skipWhitespace()
                    let otherKey = try scanner.skipString()
                    let inner = (otherKey.lowerBound + 1)..<(otherKey.upperBound - 1)
                    let other = Member(keyRange: inner, keyHasEscapes: bytes[inner].contains(UInt8(ascii: "\\")), valueRange: inner,
                                       range: otherKey, kind: .null)
                    if hasKey(other, key, in: document) { return nil }
                    scanner.skipWhitespace()
                    try scanner.expect(UInt8(ascii: ":"))
                    _ = try scanner.skipValue(depth: 1)
                }
                try scanner.expect(UInt8(ascii: "}"))
                scanner.skipWhitespace()
                guard scanner.position == bytes.count else { return nil }
                return Member(keyRange: (keyRange.lowerBound + 1)..<(keyRange.upperBound - 1), keyHasEscapes: false, valueRange: valueRange,
                              range: keyRange.lowerBound..<valueRange.upperBound, kind: JSONValueKind(firstByte: bytes[valueRange.lowerBound])!)
            } catch {
                return nil
            }
        }
    }
}
