import NIOCore

/// A malformed reply: the connection can no longer be trusted to line replies up with commands.
public struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// Reads RESP2 values from bytes as they arrive. Pure: given a buffer, it either takes one whole
/// value off its front or, when the value is not complete yet, takes nothing, so the caller can
/// wait for more bytes and call again. Limits keep a broken or hostile server from making us
/// buffer without end or recurse deeply.
public enum RESPParser {
    /// Longest line (simple string, error, integer, length header) accepted.
    static let maxLineLength = 64 * 1024
    /// Largest bulk string accepted (Redis' own limit).
    static let maxBulkLength = 512 * 1024 * 1024
    /// Most elements in one array, and deepest nesting.
    static let maxArrayCount = 1 << 24
    static let maxDepth = 32

    /// The next value at the front of `buffer`, consumed; nil (nothing consumed) if incomplete.
    public static func parse(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        guard let value = try parse(view, at: &index, depth: 0) else { return nil }
        buffer.moveReaderIndex(forwardBy: index - view.startIndex)
        return value
    }

    private static func parse(_ bytes: ByteBufferView, at index: inout Int, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard depth <= maxDepth else { throw RESPProtocolError(description: "reply nested deeper than \(maxDepth) arrays") }
        guard index < bytes.endIndex else { return nil }
        let type = bytes[index]
        var cursor = index + 1
        guard let line = try readLine(bytes, at: &cursor) else { return nil }
        let value: RESPValue
        switch type {
        case UInt8(ascii: "+"):
            value = .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            value = .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            value = .integer(try integer(line))
        case UInt8(ascii: "$"):
            let length = try integer(line)
            if length == -1 {
                value = .bulkString(nil)
                break
            }
            guard length >= 0, length <= maxBulkLength else { throw RESPProtocolError(description: "bulk string length \(length) out of range") }
            let end = cursor + Int(length)
            guard end + 2 <= bytes.endIndex else { return nil }
            guard bytes[end] == UInt8(ascii: "\r"), bytes[end + 1] == UInt8(ascii: "\n") else {
                throw RESPProtocolError(description: "bulk string not followed by CRLF")
            }
            value = .bulkString(Array(bytes[cursor..<end]))
            cursor = end + 2
        case UInt8(ascii: "*"):
            let count = try integer(line)
            if count == -1 {
                value = .array(nil)
                break
            }
            guard count >= 0, count <= maxArrayCount else { throw RESPProtocolError(description: "array length \(count) out of range") }
            var elements: [RESPValue] = []
            // Trust the count only as far as the bytes at hand could hold: each element takes at least 3.
            elements.reserveCapacity(min(Int(count), (bytes.endIndex - cursor) / 3))
            for _ in 0..<count {
                guard let element = try parse(bytes, at: &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            value = .array(elements)
        default:
            throw RESPProtocolError(description: "unknown reply type byte 0x\(String(type, radix: 16))")
        }
        index = cursor
        return value
    }

    /// The bytes up to the next CRLF, moving `index` past it; nil if no CRLF has arrived yet.
    private static func readLine(_ bytes: ByteBufferView, at index: inout Int) throws(RESPProtocolError) -> ByteBufferView.SubSequence? {
        var position = index
        while position + 1 < bytes.endIndex {
            if bytes[position] == UInt8(ascii: "\r") {
                guard bytes[position + 1] == UInt8(ascii: "\n") else { throw RESPProtocolError(description: "CR not followed by LF") }
                let line = bytes[index..<position]
                index = position + 2
                return line
            }
            position += 1
            if position - index > maxLineLength { throw RESPProtocolError(description: "line longer than \(maxLineLength) bytes") }
        }
        if bytes.endIndex - index > maxLineLength { throw RESPProtocolError(description: "line longer than \(maxLineLength) bytes") }
        return nil
    }

    private static func integer(_ line: ByteBufferView.SubSequence) throws(RESPProtocolError) -> Int64 {
        guard let value = Int64(String(decoding: line, as: UTF8.self)) else {
            throw RESPProtocolError(description: "not an integer: \"\(String(decoding: line.prefix(32), as: UTF8.self))\"")
        }
        return value
    }
}

/// The parser as a NIO decoder, for the connection's pipeline.
struct RESPValueDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try RESPParser.parse(&buffer)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try decode(buffer: &buffer)
    }
}
