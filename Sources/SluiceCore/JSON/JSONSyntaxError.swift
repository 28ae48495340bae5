/// Why a byte sequence is not the JSON Sluice expected, with the byte offset where it went wrong.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, in words.
    public var reason: String
    /// Offset of the offending byte from the start of the document.
    public var offset: Int

    public init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) at byte \(offset)" }
}
