/// A credential that never shows itself in logs, errors or `print`: it describes itself as `*****`.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The real value; read it only where it is sent.
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "*****" }
    public var debugDescription: String { "*****" }
    /// No children, so `dump` and other reflection show `*****` and not the value.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
