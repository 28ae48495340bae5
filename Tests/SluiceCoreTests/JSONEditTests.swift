import Foundation
import SluiceCore
import Testing

/// Parses `bytes` with Foundation, which is the independent judge of "valid JSON" here.
func foundationObject(_ bytes: [UInt8]) throws -> NSDictionary {
    let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    return try #require(object as? NSDictionary)
}

@Suite("JSONEdit")
struct JSONEditTests {
    static let body = #"{"model":"a","messages":[{"role":"user","content":"h\u00e9"}],"temperature":1.50,"n":1E+2}"#

    func edited(_ text: String, _ change: (inout JSONEdit) -> Void) throws -> String {
        var edit = JSONEdit(try JSONObjectView(parsing: Array(text.utf8)))
        change(&edit)
        let out = edit.apply()
        _ = try foundationObject(out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("replacing a member changes only its value's bytes")
    func replace() throws {
        let out = try edited(Self.body) { $0.set("model", rawJSON: "\"gpt-4o-2024\"") }
        #expect(out == #"{"model":"gpt-4o-2024","messages":[{"role":"user","content":"h\u00e9"}],"temperature":1.50,"n":1E+2}"#)
    }

    @Test("setting a new member appends it after the others")
    func append() throws {
        let out = try edited(Self.body) { $0.set("stream_options", rawJSON: #"{"include_usage":true}"#) }
        #expect(out == #"{"model":"a","messages":[{"role":"user","content":"h\u00e9"}],"temperature":1.50,"n":1E+2,"stream_options":{"include_usage":true}}"#)
    }

    @Test("a new key is written as an escaped JSON string")
    func appendEscapedKey() throws {
        let out = try edited("{}") { $0.set("we\"ird\n", rawJSON: "null") }
        #expect(out == #"{"we\"ird\n":null}"#)
    }

    @Test("removing the first, a middle or the last member leaves no stray comma", arguments: [
        ("model", #"{"messages":[{"role":"user","content":"h\u00e9"}],"temperature":1.50,"n":1E+2}"#),
        ("temperature", #"{"model":"a","messages":[{"role":"user","content":"h\u00e9"}],"n":1E+2}"#),
        ("n", #"{"model":"a","messages":[{"role":"user","content":"h\u00e9"}],"temperature":1.50}"#),
        ("absent", body),
    ])
    func remove(key: String, expected: String) throws {
        #expect(try edited(Self.body) { $0.remove(key) } == expected)
    }

    @Test("removing every member gives an empty object, and appending to it needs no comma")
    func removeAll() throws {
        #expect(try edited(#"{"a":1,"b":2}"#) { $0.remove("a"); $0.remove("b") } == "{}")
        #expect(try edited(#"{"a":1}"#) { $0.remove("a"); $0.set("c", rawJSON: "3") } == #"{"c":3}"#)
    }

    @Test("set and remove act on every occurrence of a repeated key")
    func repeatedKeys() throws {
        #expect(try edited(#"{"a":1,"b":2,"a":3}"#) { $0.set("a", rawJSON: "9") } == #"{"a":9,"b":2,"a":9}"#)
        #expect(try edited(#"{"a":1,"b":2,"a":3}"#) { $0.remove("a") } == #"{"b":2}"#)
    }

    @Test("several edits combine: replace, remove and append at once")
    func combined() throws {
        let out = try edited(Self.body) {
            $0.set("model", rawJSON: "\"b\"")
            $0.remove("messages")
            $0.set("stream", rawJSON: "true")
        }
        #expect(out == #"{"model":"b","temperature":1.50,"n":1E+2,"stream":true}"#)
        let object = try foundationObject(Array(out.utf8))
        #expect(object["model"] as? String == "b")
        #expect(object["stream"] as? Bool == true)
        #expect(object["messages"] == nil)
    }

    @Test("untouched members keep their exact bytes, whitespace and escapes included")
    func untouchedBytesIdentical() throws {
        let text = "\n  { \"a\" :\t\"\\u00e9\" , \"b\": [ 1 ,2 ] ,\"c\" : 3 }  \n"
        let view = try JSONObjectView(parsing: Array(text.utf8))
        var edit = JSONEdit(view)
        edit.set("c", rawJSON: "4")
        let out = edit.apply()
        let outText = String(decoding: out, as: UTF8.self)
        for member in view.members where !view.hasKey(member, "c") {
            #expect(outText.contains(String(decoding: view.bytes[member.range], as: UTF8.self)))
        }
        #expect(outText.hasPrefix("\n  {"))
        #expect(outText.hasSuffix("}  \n"))
        let object = try foundationObject(out)
        #expect(object == ["a": "é", "b": [1, 2], "c": 4] as NSDictionary)
    }

    @Test("apply() with no edits returns the input bytes unchanged")
    func noEdits() throws {
        let bytes = Array("  {\"a\" : 1 ,\"b\":\"x\"}\n".utf8)
        let edit = JSONEdit(try JSONObjectView(parsing: bytes))
        #expect(edit.isEmpty)
        #expect(edit.apply() == bytes)
        #expect(edit.apply(objectOnly: true) == Array("{\"a\" : 1 ,\"b\":\"x\"}".utf8))
    }

    @Test("an edit of a nested object can be applied to that object alone")
    func nestedObjectOnly() throws {
        let bytes = Array(#"{"stream_options":{"other":"x"},"z":1}"#.utf8)
        let outer = try JSONObjectView(parsing: bytes)
        let inner = try #require(try outer.object("stream_options"))
        var edit = JSONEdit(inner)
        edit.set("include_usage", rawJSON: "true")
        #expect(!edit.isEmpty)
        #expect(String(decoding: edit.apply(objectOnly: true), as: UTF8.self) == #"{"other":"x","include_usage":true}"#)
        #expect(String(decoding: edit.apply(), as: UTF8.self) == #"{"stream_options":{"other":"x","include_usage":true},"z":1}"#)
    }
}

@Suite("JSONText")
struct JSONTextTests {
    @Test("quoted escapes quotes, backslashes and control characters", arguments: [
        ("plain", #""plain""#),
        ("say \"hi\"", #""say \"hi\"""#),
        (#"C:\dir"#, #""C:\\dir""#),
        ("a\nb\rc\td", #""a\nb\rc\td""#),
        ("\u{0}\u{1}\u{8}\u{C}\u{1F}", #""\u0000\u0001\u0008\u000c\u001f""#),
        ("é 😀 \u{7F}", "\"é 😀 \u{7F}\""),
        ("", #""""#),
    ])
    func quoted(value: String, expected: String) {
        #expect(JSONText.quoted(value) == expected)
    }

    @Test("every character below U+0020 round-trips through a JSON parser")
    func controlCharactersRoundTrip() throws {
        let value = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init))) + "\"\\/end"
        let document = "{\"k\":" + JSONText.quoted(value) + "}"
        #expect(try foundationObject(Array(document.utf8))["k"] as? String == value)
        #expect(try JSONObjectView(parsing: Array(document.utf8)).string("k") == value)
    }

    @Test("appendString appends to what is already there")
    func appendString() {
        var out = "x="
        JSONText.appendString("a\"b", to: &out)
        #expect(out == #"x="a\"b""#)
    }
}
