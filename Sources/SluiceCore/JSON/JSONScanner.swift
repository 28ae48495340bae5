/// A validating JSON reader that skips over values without building them.
///
/// The gateway only needs a handful of fields from a request or a stream chunk; decoding the
/// whole document into objects and encoding it again would cost more than the rest of the
/// request path. The scanner checks the syntax of everything (so a broken body is a 400 that
/// says where), and hands back byte ranges of the values the caller asks about.
///
/// It reads through a pointer to the document's bytes (callers lend it with
/// `withUnsafeBufferPointer`): with the array's bounds checks and reloads, scanning was several
/// percent of a proxied call's CPU time.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    /// Nesting deeper than this is refused rather than risking the stack on hostile input.
    static let maximumDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    func error(_ reason: String) -> JSONSyntaxError {
        if position >= bytes.count { return JSONSyntaxError("unexpected end of input", at: bytes.count) }
        return JSONSyntaxError(reason, at: position)
    }

    func unexpected() -> JSONSyntaxError {
        if position >= bytes.count { return JSONSyntaxError("unexpected end of input", at: bytes.count) }
        let byte = bytes[position]
        let shown = (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return JSONSyntaxError("unexpected \(shown)", at: position)
    }

    mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard position < bytes.count, bytes[position] == byte else { throw unexpected() }
        position += 1
    }

    /// Skips one value (after whitespace), returning its byte range.
    mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) -> Range<Int> {
        skipWhitespace()
        guard position < bytes.count else { throw unexpected() }
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; break }
            while true {
                skipWhitespace()
                _ = try skipString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                _ = try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw unexpected() }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; break }
            while true {
                _ = try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw unexpected() }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                break
            }
        case UInt8(ascii: "\""):
            _ = try skipString()
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw unexpected()
        }
        return start..<position
    }

    mutating func skipLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw JSONSyntaxError("unexpected end of input", at: bytes.count) }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw unexpected() }
        position += count
    }

    mutating func skipNumber() throws(JSONSyntaxError) {
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected() }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected() }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw unexpected() }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
    }

    /// Skips a string, checking escapes and rejecting raw control characters; returns the range
    /// including the quotes.
    mutating func skipString() throws(JSONSyntaxError) -> Range<Int> {
        let start = position
        try expect(UInt8(ascii: "\""))
        // Plain characters up to the next quote, backslash or control byte: most of a request or
        // an answer is string contents. Eight at a time while a word holds none of them, then
        // byte by byte from the word that does.
        while position + 8 <= bytes.count,
              !Self.holdsQuoteBackslashOrControl(UnsafeRawPointer(bytes.baseAddress! + position).loadUnaligned(as: UInt64.self)) {
            position += 8
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return start..<position
            }
            if byte == UInt8(ascii: "\\") {
                position += 1
                guard position < bytes.count else { break }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    for _ in 0..<4 {
                        guard position < bytes.count, isHexDigit(bytes[position]) else { throw error("invalid \\u escape") }
                        position += 1
                    }
                default:
                    throw error("invalid escape in string")
                }
                continue
            }
            if byte < 0x20 { throw error("control character in string") }
            position += 1
        }
        throw JSONSyntaxError("unterminated string", at: start)
    }

    /// Whether any of the eight bytes of `word` is `"`, `\` or below 0x20 (bit tricks: for each
    /// byte, subtracting 1 or 0x20 borrows into its top bit only when it was 0 or below 0x20, and
    /// `~word` keeps bytes of 0x80 and above out; the test is exact for the word as a whole).
    static func holdsQuoteBackslashOrControl(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highBits != 0
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
}
