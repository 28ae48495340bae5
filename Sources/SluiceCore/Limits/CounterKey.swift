/// A counter's identity in a store: key id, limit and segment value, e.g.
/// `key_abc|policy|10;w=60;u=request;s=user|user:alice`, with its hash computed once.
///
/// A decision looks each of its counters up several times (find, and later settle); hashing a
/// key of up to ~300 bytes each time was the largest cost of a decision. Hashing the stored
/// integer instead costs a few nanoseconds; equality still compares the text.
public struct CounterKey: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let text: String
    private let textHash: Int

    public init(_ text: String) {
        self.text = text
        textHash = text.hashValue
    }

    public init(stringLiteral text: String) {
        self.init(text)
    }

    public static func == (lhs: CounterKey, rhs: CounterKey) -> Bool {
        lhs.textHash == rhs.textHash && lhs.text == rhs.text
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(textHash)
    }

    public var description: String { text }
}
