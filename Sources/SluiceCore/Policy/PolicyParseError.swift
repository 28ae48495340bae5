/// Why a policy header or preset policy list was refused: the message quotes the bad part as
/// written and says what to write instead (`"w=30": the window must be at least 60 seconds`).
/// The HTTP edge renders it as a 400 `invalid_rate_limit_policy`.
public struct PolicyParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole message, ready to show.
    public var message: String

    /// An error with `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
