/// The deterministic token arithmetic and generated content of the mock provider.
///
/// Other targets' tests recompute these numbers, so the rules are part of the mock's contract:
/// a "word" is a maximal run of non-whitespace characters (`Character.isWhitespace`), one word is
/// one token, a chat message costs 3 tokens on top of its words, and a reply is made of words
/// taken cyclically from ``replyWordList``.
enum MockUsage {
    /// The words replies are made of, used cyclically from the first.
    static let replyWordList = [
        "lorem", "ipsum", "dolor", "sit", "amet", "consectetur",
        "adipiscing", "elit", "sed", "do", "eiusmod", "tempor",
    ]

    /// Completion tokens of a reply when neither `max_tokens` nor `mock.completion_tokens` says otherwise.
    static let defaultCompletionTokens = 12

    /// Tokens a chat message costs on top of the words of its content.
    static let chatMessageOverhead = 3

    /// Number of entries of an embedding vector.
    static let embeddingDimensions = 8

    /// The first `count` reply words, cycling through ``replyWordList``.
    static func replyWords(count: Int) -> [String] {
        guard count > 0 else { return [] }
        return (0..<count).map { replyWordList[$0 % replyWordList.count] }
    }

    /// How many completion tokens to produce and why the reply ends.
    ///
    /// - Parameters:
    ///   - requested: `mock.completion_tokens` if given, else nil (meaning the default 12).
    ///   - maxTokens: `max_completion_tokens` or `max_tokens` of the request, if any.
    /// - Returns: the token count and `"length"` when `maxTokens` cut the reply short, else `"stop"`.
    static func completion(requested: Int?, maxTokens: Int?) -> (tokens: Int, finishReason: String) {
        let target = max(0, requested ?? defaultCompletionTokens)
        if let maxTokens, maxTokens < target {
            return (max(0, maxTokens), "length")
        }
        return (target, "stop")
    }

    /// A deterministic vector for `text`: FNV-1a of its UTF-8 bytes seeds a SplitMix64 sequence,
    /// each value mapped to [-1, 1) and rounded to 6 decimals so the JSON stays short.
    static func embedding(for text: String) -> [Double] {
        // FNV-1a rather than Hasher, whose seed changes between processes.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var state = hash
        return (0..<embeddingDimensions).map { _ in
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            let unit = Double(z >> 11) / Double(UInt64(1) << 53)
            return ((unit * 2 - 1) * 1_000_000).rounded() / 1_000_000
        }
    }
}
