import SluiceCore
import Testing

/// Broken documents are refused with the reason and the byte offset where they went wrong.
@Suite("JSON syntax errors")
struct JSONSyntaxErrorTests {
    static func parseError(_ bytes: [UInt8]) -> JSONSyntaxError? {
        do {
            _ = try JSONObjectView(parsing: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("invalid documents give the reason and byte offset", arguments: [
        (#"{"a":1} x"#, "unexpected data after the JSON object", 8),
        (#"{"a":1}{}"#, "unexpected data after the JSON object", 7),
        (#"{"a":"abc"#, "unterminated string", 5),
        (#"{"a":"ab\"#, "unterminated string", 5),
        (#"{"a":"\x"}"#, "invalid escape in string", 7),
        (#"{"a":"\u12G4"}"#, "invalid \\u escape", 10),
        ("{\"a\":\"x\ny\"}", "control character in string", 7),
        ("{\"a\":\"\t\"}", "control character in string", 6),
        (#"{"a":01}"#, "unexpected '1'", 6),
        (#"{"a":-}"#, "unexpected '}'", 6),
        (#"{"a":-"#, "unexpected end of input", 6),
        (#"{"a":1.}"#, "unexpected '}'", 7),
        (#"{"a":.5}"#, "unexpected '.'", 5),
        (#"{"a":1e}"#, "unexpected '}'", 7),
        (#"{"a":+1}"#, "unexpected '+'", 5),
        (#"{"a":tru}"#, "unexpected 't'", 5),
        (#"{"a":nul"#, "unexpected end of input", 8),
        (#"{"a":1,}"#, "unexpected '}'", 7),
        (#"{"a" 1}"#, "unexpected '1'", 5),
        (#"{'a':1}"#, "unexpected '''", 1),
        (#"{"a":[1,]}"#, "unexpected ']'", 8),
        (#"{"a":[1 2]}"#, "unexpected '2'", 8),
        (#"{"a":1"#, "unexpected end of input", 6),
        ("", "the body is empty; expected a JSON object", 0),
        ("  \n", "the body is empty; expected a JSON object", 0),
        ("[1]", "expected a JSON object", 0),
        ("  \"s\"", "expected a JSON object", 2),
    ])
    func invalidDocuments(text: String, reason: String, offset: Int) {
        let error = Self.parseError(Array(text.utf8))
        #expect(error == JSONSyntaxError(reason, at: offset))
        #expect(error?.description == "\(reason) at byte \(offset)")
    }

    @Test("a byte that cannot start a value is shown in hex")
    func nonPrintableByte() {
        let bytes = Array(#"{"a":"#.utf8) + [0xFF, UInt8(ascii: "}")]
        #expect(Self.parseError(bytes) == JSONSyntaxError("unexpected byte 0xff", at: 5))
    }

    static func nested(arrays depth: Int) -> [UInt8] {
        Array(#"{"a":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth) + [UInt8(ascii: "}")]
    }

    @Test("nesting up to 512 levels parses")
    func nestingAtLimit() throws {
        // The object itself is level 1, so 511 arrays make 512 levels.
        let view = try JSONObjectView(parsing: Self.nested(arrays: 511))
        #expect(view.members.first?.kind == .array)
    }

    @Test("nesting deeper than 512 levels is refused where it goes too deep")
    func nestingOverLimit() {
        #expect(Self.parseError(Self.nested(arrays: 512)) == JSONSyntaxError("nesting deeper than 512 levels", at: 516))
        // Far deeper input fails the same way instead of exhausting the stack.
        #expect(Self.parseError(Self.nested(arrays: 100_000))?.reason == "nesting deeper than 512 levels")
    }

    @Test("deep objects count toward the same limit")
    func deepObjects() {
        var text = ""
        for _ in 0..<600 { text += #"{"a":"# }
        text += "1" + String(repeating: "}", count: 600)
        #expect(Self.parseError(Array(text.utf8)) == JSONSyntaxError("nesting deeper than 512 levels", at: 512 * 5))
    }
}
