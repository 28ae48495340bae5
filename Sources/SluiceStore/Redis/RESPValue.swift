import NIOCore

/// One RESP2 value, as Redis sends it. Bulk strings are bytes (Redis strings are binary); the
/// accessors below read them as text or integers.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// nil is the null bulk string (`$-1`), e.g. HGET of a missing field.
    case bulkString([UInt8]?)
    /// nil is the null array (`*-1`).
    case array([RESPValue]?)

    /// A bulk string of text.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// The value as text: simple and bulk strings, and integers in decimal.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        case .error, .bulkString(nil), .array: nil
        }
    }

    /// The value as an integer: an integer reply, or a string that spells one.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: string.flatMap { Int64($0) }
        case .error, .array: nil
        }
    }

    /// The elements of a non-null array.
    public var array: [RESPValue]? {
        if case .array(let values?) = self { return values }
        return nil
    }

    /// The message of an error reply, e.g. `NOSCRIPT No matching script. Please use EVAL.`
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

/// A command as Redis reads it: an array of bulk strings.
public struct RedisCommand: Sendable, Hashable {
    public var arguments: [String]

    public init(_ name: String, _ arguments: String...) {
        self.arguments = [name] + arguments
    }

    public init(_ name: String, arguments: [String]) {
        self.arguments = [name] + arguments
    }

    /// The command's name, for error messages (never its arguments, which may hold a password).
    public var name: String { arguments.first ?? "" }

    /// Writes `*N\r\n` and one `$len\r\nbytes\r\n` per argument.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(argument.utf8.count))
            buffer.writeStaticString("\r\n")
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}
