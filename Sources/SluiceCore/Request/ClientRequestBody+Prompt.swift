extension ClientRequestBody {
    /// Refuses a prompt member of a shape no provider takes (422, before any limit is spent):
    /// chat `messages` must be a non-empty array of objects; a completion's `prompt` and an
    /// embedding's `input` a string or a non-empty array. What is inside a message is left to the
    /// provider, whose own 400 is passed on.
    static func checkPromptShape(_ prompt: JSONObjectView.Member, in bytes: [UInt8], endpoint: ProxyEndpoint) throws(GatewayError) {
        let name = endpoint.promptMember
        var count = 0
        var nonObject: JSONValueKind?
        if prompt.kind == .array {
            JSONObjectView.forEachElement(bytes, arrayAt: prompt.valueRange) { _, kind in
                count += 1
                if kind != .object, nonObject == nil { nonObject = kind }
            }
        }
        switch endpoint {
        case .chatCompletions:
            guard prompt.kind == .array else {
                throw .invalidRequest("\"\(name)\" must be an array of message objects, not \(prompt.kind.name)", param: name)
            }
            guard count > 0 else { throw .invalidRequest("\"\(name)\" must hold at least one message", param: name) }
            if let nonObject {
                throw .invalidRequest("\"\(name)\" must hold message objects such as {\"role\": \"user\", \"content\": \"Hi\"}, not \(nonObject.name)", param: name)
            }
        case .completions, .embeddings:
            guard prompt.kind == .string || prompt.kind == .array else {
                throw .invalidRequest("\"\(name)\" must be a string or an array, not \(prompt.kind.name)", param: name)
            }
            if prompt.kind == .array, count == 0 { throw .invalidRequest("\"\(name)\" must not be an empty array", param: name) }
        }
    }

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
            JSONObjectView.forEachElement(bytes, arrayAt: range) { element, kind in total += textBytes(bytes, element, kind: kind) }
            return total
        case .object:
            // A chat message (`content`) or a content part (`text`); the last of each when a key
            // repeats, as `JSONObjectView.member` reads them.
            var content = 0
            var text = 0
            _ = try? JSONObjectView.forEachMember(bytes, objectAt: range.lowerBound) { member in
                if JSONObjectView.hasKey(member, "content", in: bytes) {
                    content = textBytes(bytes, member.valueRange, kind: member.kind)
                } else if JSONObjectView.hasKey(member, "text", in: bytes) {
                    text = textBytes(bytes, member.valueRange, kind: member.kind)
                }
            }
            return content + text
        case .bool, .null:
            return 0
        }
    }
}

/// Output tokens estimated from streamed text when a provider reports none: bytes ÷ 4, rounded up.
public func estimatedTokens(forTextBytes bytes: Int) -> Int { (bytes + 3) / 4 }
