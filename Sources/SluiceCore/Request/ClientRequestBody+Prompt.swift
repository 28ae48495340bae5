extension ClientRequestBody {
    /// UTF-8 bytes of the prompt text: all message contents (chat), the prompt (completions) or
    /// the input (embeddings; a token id counts as 4 bytes). The basis of token estimates.
    public var promptBytes: Int {
        guard let member = view.member(endpoint.promptMember) else { return 0 }
        return Self.textBytes(view, member.valueRange, kind: member.kind, endpoint: endpoint)
    }

    /// Estimated prompt tokens: prompt bytes ÷ 4, rounded up.
    public var estimatedPromptTokens: Int { (promptBytes + 3) / 4 }

    static func textBytes(_ view: JSONObjectView, _ range: Range<Int>, kind: JSONValueKind, endpoint: ProxyEndpoint) -> Int {
        switch kind {
        case .string:
            // Without escapes the bytes between the quotes are the text: counted, not copied.
            let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
            if !view.bytes[inner].contains(UInt8(ascii: "\\")) { return inner.count }
            return view.decodeString(at: range).utf8.count
        case .number:
            return 4
        case .array:
            return JSONObjectView.elements(view.bytes, arrayAt: range).reduce(0) { total, element in
                total + textBytes(view, element.range, kind: element.kind, endpoint: endpoint)
            }
        case .object:
            // A chat message (`content`) or a content part (`text`).
            guard let object = try? JSONObjectView(bytes: view.bytes, objectAt: range.lowerBound) else { return 0 }
            var total = 0
            if let content = object.member("content") {
                total += textBytes(object, content.valueRange, kind: content.kind, endpoint: endpoint)
            }
            if let text = object.member("text") {
                total += textBytes(object, text.valueRange, kind: text.kind, endpoint: endpoint)
            }
            return total
        case .bool, .null:
            return 0
        }
    }
}

/// Output tokens estimated from streamed text when a provider reports none: bytes ÷ 4, rounded up.
public func estimatedTokens(forTextBytes bytes: Int) -> Int { (bytes + 3) / 4 }
