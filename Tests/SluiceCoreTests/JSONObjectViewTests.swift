import SluiceCore
import Testing

@Suite("JSONObjectView")
struct JSONObjectViewTests {
    static let document = #"""
    {"s":"text","b":true,"f":false,"i":42,"neg":-7,"zero":-0,"big":9223372036854775807,"huge":9223372036854775808,
     "frac":1.5,"exp":1e3,"n":null,"o":{"k":"v","inner":{"z":[1,2]}},"arr":[1,"two",{"three":3},[4],null,true], "e": [ ]}
    """#

    func view(_ text: String) throws -> JSONObjectView { try JSONObjectView(parsing: Array(text.utf8)) }

    @Test("strings, booleans and whole numbers are read by type")
    func typedAccessors() throws {
        let v = try view(Self.document)
        #expect(try v.string("s") == "text")
        #expect(try v.bool("b") == true)
        #expect(try v.bool("f") == false)
        #expect(try v.integer("i") == 42)
        #expect(try v.integer("neg") == -7)
        #expect(try v.integer("zero") == 0)
        #expect(try v.integer("big") == Int.max)
    }

    @Test("a string's end, escapes and control bytes are found at every offset")
    func stringsAtEveryOffset() throws {
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789é€"
        for length in 0...plain.count {
            let text = String(plain.prefix(length))
            #expect(try view("{\"s\":\"\(text)\",\"t\":1}").string("s") == text, "length \(length)")
            for offset in 0...length {
                var escaped = text
                escaped.insert(contentsOf: "\\\"", at: escaped.index(escaped.startIndex, offsetBy: offset))
                var expected = text
                expected.insert("\"", at: expected.index(expected.startIndex, offsetBy: offset))
                #expect(try view("{\"s\":\"\(escaped)\"}").string("s") == expected, "escape at \(offset) of \(length)")
                var control = text
                control.insert("\u{1}", at: control.index(control.startIndex, offsetBy: offset))
                #expect(throws: JSONSyntaxError.self, "control byte at \(offset) of \(length)") { try view("{\"s\":\"\(control)\"}") }
            }
        }
    }

    @Test("absent and null members read as nil from every accessor")
    func absentAndNull() throws {
        let v = try view(Self.document)
        for key in ["n", "missing"] {
            #expect(try v.string(key) == nil)
            #expect(try v.bool(key) == nil)
            #expect(try v.integer(key) == nil)
            #expect(try v.object(key) == nil)
            #expect(try v.array(key) == nil)
            #expect(v.isAbsentOrNull(key))
        }
        #expect(!v.isAbsentOrNull("f"))
        #expect(v.member("missing") == nil)
    }

    @Test("a member of the wrong type is a JSONTypeError naming the key", arguments: [
        ("i", "a string", JSONValueKind.number, "\"i\" must be a string, not a number"),
        ("s", "a boolean", .string, "\"s\" must be a boolean, not a string"),
        ("frac", "a whole number", .number, "\"frac\" must be a whole number, not a number"),
        ("exp", "a whole number", .number, "\"exp\" must be a whole number, not a number"),
        ("huge", "a whole number", .number, "\"huge\" must be a whole number, not a number"),
        ("b", "a whole number", .bool, "\"b\" must be a whole number, not a boolean"),
        ("arr", "an object", .array, "\"arr\" must be an object, not an array"),
        ("o", "an array", .object, "\"o\" must be an array, not an object"),
    ])
    func typeErrors(key: String, expected: String, found: JSONValueKind, text: String) throws {
        let v = try view(Self.document)
        let error: JSONTypeError?
        do {
            switch expected {
            case "a string": _ = try v.string(key)
            case "a boolean": _ = try v.bool(key)
            case "a whole number": _ = try v.integer(key)
            case "an object": _ = try v.object(key)
            default: _ = try v.array(key)
            }
            error = nil
        } catch let caught {
            error = caught
        }
        #expect(error?.key == key)
        #expect(error?.expected == expected)
        #expect(error?.found == found)
        #expect(error?.description == text)
    }

    @Test("nested objects and arrays are reached member by member")
    func nested() throws {
        let v = try view(Self.document)
        let o = try #require(try v.object("o"))
        #expect(try o.string("k") == "v")
        let inner = try #require(try o.object("inner"))
        #expect(try inner.array("z")?.map(\.kind) == [.number, .number])

        let elements = try #require(try v.array("arr"))
        #expect(elements.map(\.kind) == [.number, .string, .object, .array, .null, .bool])
        #expect(v.decodeString(at: elements[1].range) == "two")
        let third = try JSONObjectView(bytes: v.bytes, objectAt: elements[2].range.lowerBound)
        #expect(try third.integer("three") == 3)
        #expect(String(decoding: v.bytes[elements[3].range], as: UTF8.self) == "[4]")
        #expect(try v.array("e")?.isEmpty == true)
    }

    @Test("keys are matched as written, escapes decoded, code point for code point")
    func keyMatching() throws {
        // `\u006d` is `m`; the Kelvin sign is canonically equivalent to `K` for Swift's `==`
        // but a different key to JSON parsers, so it must not match.
        let v = try view(#"{"\u006dodel":"a","st\"x":1,"\u212Aey":2,"système":3}"#)
        #expect(try v.string("model") == "a")
        #expect(try v.integer("st\"x") == 1)
        #expect(v.member("Key") == nil)
        #expect(try v.integer("\u{212A}ey") == 2)
        #expect(try v.integer("système") == 3)
        #expect(v.member("systeme") == nil)
        #expect(v.members.map(v.key(of:)) == ["model", "st\"x", "\u{212A}ey", "système"])
    }

    @Test("members keep document order and byte ranges; a repeated key reads as its last value")
    func membersAndRanges() throws {
        let text = "  {\"a\" : 1, \"b\":[true] ,\"a\":\"x\"}\n"
        let v = try view(text)
        #expect(v.members.map(v.key(of:)) == ["a", "b", "a"])
        #expect(v.members.map(\.kind) == [.number, .array, .string])
        #expect(v.range == 2..<32)
        #expect(v.members[0].range == 3..<10)
        #expect(v.members[0].valueRange == 9..<10)
        #expect(String(decoding: v.bytes[v.members[1].range], as: UTF8.self) == "\"b\":[true]")
        #expect(try v.string("a") == "x")
        #expect(try view("{}").members.isEmpty)
        #expect(try view(" { } ").members.isEmpty)
    }

    @Test("string escapes decode to the characters they stand for", arguments: [
        (#""plain""#, "plain"),
        (#""q\"b\\s\/""#, "q\"b\\s/"),
        (#""\b\f\n\r\t""#, "\u{8}\u{C}\n\r\t"),
        (#""caf\u00e9 \u00E9""#, "café é"),
        (#""\u0000\u001f""#, "\u{0}\u{1F}"),
        (#""\u4e2d\u6587""#, "中文"),
        (#""smile \ud83d\ude00!""#, "smile 😀!"),
        (#""\uD834\uDD1E""#, "𝄞"),
        (#""lone \ud83d""#, "lone \u{FFFD}"),
        (#""\ud83dx""#, "\u{FFFD}x"),
        (#""\udc00""#, "\u{FFFD}"),
        (#""\ud83d\u0041""#, "\u{FFFD}A"),
        (#""raw ü 😀""#, "raw ü 😀"),
    ])
    func escapes(literal: String, expected: String) throws {
        let v = try view("{\"k\":\(literal)}")
        #expect(try v.string("k") == expected)
    }

    @Test("keys are unescaped too")
    func escapedKeys() throws {
        let v = try view(#"{"mo\u0064el":"gpt","a\"b":1}"#)
        #expect(try v.string("model") == "gpt")
        #expect(try v.integer("a\"b") == 1)
    }
}
