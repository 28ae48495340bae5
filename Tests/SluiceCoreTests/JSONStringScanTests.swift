@testable import SluiceCore
import Testing

/// Strings are scanned eight bytes at a time while no byte of a word ends the plain run; wherever
/// the quote, backslash or control byte falls in or across a word, the result must be what a
/// byte-by-byte reading gives.
@Suite("JSON string scanning")
struct JSONStringScanTests {
    /// The byte-by-byte definition the word test stands for.
    static func holdsSpecialByte(_ word: UInt64) -> Bool {
        (0..<8).contains { index in
            let byte = UInt8(truncatingIfNeeded: word >> (8 * UInt64(index)))
            return byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20
        }
    }

    @Test("the word test agrees with a byte-by-byte test, every byte value in every position")
    func wordTest() {
        // Every byte value in every lane of an otherwise plain word, and next to bytes of 0x80
        // and above, which must not borrow a false answer into or out of a lane.
        for filler in [UInt8(ascii: "a"), 0x7F, 0x80, 0xFF, 0x21, 0x5D, 0x23, 0x20] {
            for lane in 0..<8 {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[lane] = UInt8(value)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(JSONScanner.holdsQuoteBackslashOrControl(word) == Self.holdsSpecialByte(word),
                            "filler \(filler), lane \(lane), byte \(value)")
                }
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let word = random.next() as UInt64
            #expect(JSONScanner.holdsQuoteBackslashOrControl(word) == Self.holdsSpecialByte(word))
        }
    }

    @Test("a quote, an escape or a control byte at any offset of a long string is found there")
    func everyOffset() throws {
        for length in 0..<40 {
            let plain = String(repeating: "x", count: length)
            // The string's end.
            let view = try JSONObjectView(parsing: Array("{\"k\":\"\(plain)\",\"n\":1}".utf8))
            #expect(try view.string("k") == plain)
            #expect(try view.integer("n") == 1)
            // An escape at `length`, then more plain bytes.
            let escaped = try JSONObjectView(parsing: Array("{\"k\":\"\(plain)\\\"\(plain)é\"}".utf8))
            #expect(try escaped.string("k") == plain + "\"" + plain + "é")
            // A raw control byte at `length` is refused where it is.
            let text = Array("{\"k\":\"\(plain)\u{1}\(plain)\"}".utf8)
            #expect(throws: JSONSyntaxError("control character in string", at: 6 + length)) { try JSONObjectView(parsing: text) }
            // No closing quote.
            #expect(throws: JSONSyntaxError("unterminated string", at: 5)) { try JSONObjectView(parsing: Array("{\"k\":\"\(plain)".utf8)) }
        }
    }
}
