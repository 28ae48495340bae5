import SluiceCore
import Testing

/// `trailingMember` finds a member from the document's end; for a valid document it must be the
/// member a reading from the start finds last under that key, or nil.
@Suite("JSON trailing members")
struct JSONTrailingMemberTests {
    /// The last member named `usage`, read from the start.
    static func lastByScan(_ bytes: [UInt8]) -> JSONObjectView.Member? {
        var found: JSONObjectView.Member?
        _ = try? JSONObjectView.forEachMember(bytes, objectAt: JSONObjectView.documentObjectStart(bytes)) { member in
            if JSONObjectView.hasKey(member, "usage", in: bytes) { found = member }
        }
        return found
    }

    /// Checks that a member found from the end is the one found from the start.
    static func expectSameAsScan(_ text: String, mustFind: Bool) throws {
        let bytes = Array(text.utf8)
        guard let trailing = JSONObjectView.trailingMember(bytes, named: "usage") else {
            #expect(!mustFind, "not found in \(text.debugDescription)")
            return
        }
        let scanned = try #require(Self.lastByScan(bytes), "\(text.debugDescription)")
        #expect(trailing.keyRange == scanned.keyRange)
        #expect(trailing.valueRange == scanned.valueRange)
        #expect(trailing.range == scanned.range)
        #expect(trailing.kind == scanned.kind)
    }

    @Test("a last member found from the end is the member a reading from the start finds", arguments: [
        #"{"id":"x","choices":[{"message":{"content":"a \"usage\": {} b","usage":1}}],"usage":{"prompt_tokens":26},"tier":"default"}"#,
        #"{"usage":{"prompt_tokens":1}}"#,
        #" { "usage" : { "prompt_tokens" : 1 } } "#,
        "{\n\t\"a\": [1, 2],\n\t\"usage\": null\n}\n",
        #"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
        #"{"usage":{"prompt_tokens":1},"a":"x\"usage\":1"}"#,
        #"{"usage":{"prompt_tokens":1},"a\\":"x","usage":1}"#,
        #"{"a":"\\","usage":{"prompt_tokens":1},"x":{"y":[{}]},"z":"\\"}"#,
    ])
    func sameAsScan(_ text: String) throws {
        try Self.expectSameAsScan(text, mustFind: true)
    }

    @Test("nil whenever the end does not show the last member at the top level (the caller then reads from the start)", arguments: [
        // The last "usage" is nested, or a value.
        #"{"usage":{"prompt_tokens":1},"choices":[{"usage":2}]}"#,
        #"{"usage":{"prompt_tokens":1},"a":{"usage":2}}"#,
        #"{"choices":[],"usage":[1,{"usage":2}],"x":1}"#,
        #"{"usage":{"prompt_tokens":1},"kind":"usage"}"#,
        // A later member with the same key, escaped.
        #"{"usage":{"prompt_tokens":1},"usag\u0065":{"prompt_tokens":2}}"#,
        // Not closed, closed twice, followed by more, broken after it.
        #"{"usage":{"prompt_tokens":1}"#, #"{"usage":{"prompt_tokens":1}}}"#, #"{"usage":{"prompt_tokens":1}} x"#,
        #"{"usage":{"prompt_tokens":1},}"#, #"{"usage":{"prompt_tokens":1} "a":1}"#, #"{"usage":{"prompt_tokens":1,}}"#,
        // No such member, or nothing at all.
        #"{"choices":[]}"#, "", "{}", #""usage""#, #"["usage",1]"#, #"[{"usage":1}]"#,
    ])
    func notFound(_ text: String) {
        #expect(JSONObjectView.trailingMember(Array(text.utf8), named: "usage") == nil, "\(text.debugDescription)")
    }

    @Test("the benchmark's answer has its usage found from the end")
    func benchAnswer() throws {
        let answer = #"{"id":"chatcmpl-1","object":"chat.completion","created":1748515200,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":26,"completion_tokens":15,"total_tokens":41,"prompt_tokens_details":{"cached_tokens":0}},"service_tier":"default","system_fingerprint":"fp_34a54ae93c"}"#
        try Self.expectSameAsScan(answer, mustFind: true)
    }
}
