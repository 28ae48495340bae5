import NIOCore

/// A malformed reply: the connection can no longer be trusted to line replies up with commands.
public struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// Reads RESP2 values from bytes as they arrive. Given a buffer, it either takes one whole value
/// off its front or, when the value is not complete yet, takes nothing, so the caller can wait
/// for more bytes and call again. Limits keep a broken or hostile server from making us buffer
/// without end or recurse deeply.
///
/// Incremental: a reply split across reads (a decide reply of a few KB often is) is not parsed
/// again from its front on every read. The parser keeps the arrays it has begun and how many
/// bytes their finished elements took, and resumes at the first element it could not finish, so
/// a reply costs one pass however it arrives. That progress describes the buffer's readable
/// bytes: call again with the same buffer, more bytes appended and nothing consumed (as NIO's
/// `ByteToMessageHandler` does). `RESPParser.parse(_:)` (static) starts afresh every time.
public struct RESPParser: Sendable {
    /// Longest line (simple string, error, integer, length header) accepted.
    static let maxLineLength = 64 * 1024
    /// Largest bulk string accepted (Redis' own limit).
    static let maxBulkLength = 512 * 1024 * 1024
    /// Most elements in one array, and deepest nesting.
    static let maxArrayCount = 1 << 24
    static let maxDepth = 32

    /// Arrays begun and not finished, outermost first: how many elements each announced, and
    /// those parsed so far.
    private var open: [(count: Int, elements: [RESPValue])] = []
    /// Readable bytes taken by what `open` holds; the next element starts here.
    private var parsedBytes = 0

    public init() {}

    /// The next value at the front of `buffer`, consumed; nil (nothing consumed) if incomplete.
    /// Without remembered progress: for a buffer that is not going to grow, as in tests.
    public static func parse(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var parser = RESPParser()
        return try parser.parse(&buffer)
    }

    /// The next value at the front of `buffer`, consumed; nil (nothing consumed) if incomplete,
    /// remembering how far it got for the next call with the same buffer grown.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        // Raw bytes, not ByteBufferView: its indexing costs a bounds check and a storage hop per
        // byte, and searching for line ends through it was half of the parser's samples in perf.
        let result = buffer.withUnsafeReadableBytes { bytes -> Result<RESPValue?, RESPProtocolError> in
            do throws(RESPProtocolError) {
                return .success(try resume(bytes))
            } catch {
                return .failure(error)
            }
        }
        let value: RESPValue?
        do {
            value = try result.get()
        } catch {
            // The connection is done for; a fresh parser would not know where values start.
            self = RESPParser()
            throw error
        }
        guard let value else { return nil }
        buffer.moveReaderIndex(forwardBy: parsedBytes)
        parsedBytes = 0
        return value
    }

    /// Parses elements from `parsedBytes` on until the outermost value is whole (returned, with
    /// `parsedBytes` its length) or the bytes run out (nil, progress kept).
    private mutating func resume(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> RESPValue? {
        var cursor = parsedBytes
        elements: while true {
            guard open.count <= Self.maxDepth else { throw RESPProtocolError(description: "reply nested deeper than \(Self.maxDepth) arrays") }
            guard cursor < bytes.count else { return nil }
            let type = bytes[cursor]
            guard let (line, afterLine) = try Self.readLine(bytes, from: cursor + 1) else { return nil }
            var value: RESPValue
            var next = afterLine
            switch type {
            case UInt8(ascii: "+"):
                value = .simpleString(String(decoding: bytes[line], as: UTF8.self))
            case UInt8(ascii: "-"):
                value = .error(String(decoding: bytes[line], as: UTF8.self))
            case UInt8(ascii: ":"):
                value = .integer(try Self.integer(bytes[line]))
            case UInt8(ascii: "$"):
                let length = try Self.integer(bytes[line])
                if length == -1 {
                    value = .bulkString(nil)
                    break
                }
                guard length >= 0, length <= Self.maxBulkLength else { throw RESPProtocolError(description: "bulk string length \(length) out of range") }
                let end = afterLine + Int(length)
                // Not there yet: the header is read again next time, which costs one short line.
                guard end + 2 <= bytes.count else { return nil }
                guard bytes[end] == UInt8(ascii: "\r"), bytes[end + 1] == UInt8(ascii: "\n") else {
                    throw RESPProtocolError(description: "bulk string not followed by CRLF")
                }
                value = .bulkString(Array(bytes[afterLine..<end]))
                next = end + 2
            case UInt8(ascii: "*"):
                let count = try Self.integer(bytes[line])
                if count == -1 {
                    value = .array(nil)
                    break
                }
                guard count >= 0, count <= Self.maxArrayCount else { throw RESPProtocolError(description: "array length \(count) out of range") }
                if count == 0 {
                    value = .array([])
                    break
                }
                var elements: [RESPValue] = []
                // Trust the count only as far as the bytes at hand could hold: each element takes at least 3.
                elements.reserveCapacity(min(Int(count), (bytes.count - afterLine) / 3))
                open.append((Int(count), elements))
                cursor = afterLine
                parsedBytes = cursor
                continue elements
            default:
                throw RESPProtocolError(description: "unknown reply type byte 0x\(String(type, radix: 16))")
            }
            cursor = next
            parsedBytes = cursor
            // A finished element goes into the innermost open array, which may finish it too.
            while let last = open.indices.last {
                open[last].elements.append(value)
                guard open[last].elements.count == open[last].count else { continue elements }
                value = .array(open.removeLast().elements)
            }
            return value
        }
    }

    /// The bytes up to the next CRLF and the index just past it; nil if no CRLF has arrived yet.
    private static func readLine(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(RESPProtocolError) -> (Range<Int>, Int)? {
        // A CR past maxLineLength would end a line too long anyway: stop looking there.
        let searchEnd = min(bytes.count, start + maxLineLength + 1)
        guard start <= searchEnd, let cr = bytes[start..<searchEnd].firstIndex(of: UInt8(ascii: "\r")) else {
            if bytes.count - start > maxLineLength { throw RESPProtocolError(description: "line longer than \(maxLineLength) bytes") }
            return nil
        }
        guard cr + 1 < bytes.count else { return nil }
        guard bytes[cr + 1] == UInt8(ascii: "\n") else { throw RESPProtocolError(description: "CR not followed by LF") }
        return (start..<cr, cr + 2)
    }

    /// A decimal integer, as `Int64(String)` reads one (optional sign, digits, no overflow),
    /// without making a String of it first.
    private static func integer(_ digits: Slice<UnsafeRawBufferPointer>) throws(RESPProtocolError) -> Int64 {
        var index = digits.startIndex
        var negative = false
        if index < digits.endIndex, digits[index] == UInt8(ascii: "-") || digits[index] == UInt8(ascii: "+") {
            negative = digits[index] == UInt8(ascii: "-")
            index += 1
        }
        var value: Int64 = 0
        var valid = index < digits.endIndex
        while valid, index < digits.endIndex {
            let digit = Int64(digits[index]) - Int64(UInt8(ascii: "0"))
            guard digit >= 0, digit <= 9 else { valid = false; break }
            // Accumulated as a negative number, so Int64.min fits.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.subtractingReportingOverflow(digit)
            valid = !overflow1 && !overflow2
            value = sum
            index += 1
        }
        if valid, !negative {
            let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
            valid = !overflow
            value = positive
        }
        guard valid else {
            throw RESPProtocolError(description: "not an integer: \"\(String(decoding: digits.prefix(32), as: UTF8.self))\"")
        }
        return value
    }
}

/// The parser as a NIO decoder, for the connection's pipeline. It keeps one parser for the
/// connection, so a reply arriving in pieces is parsed once.
struct RESPValueDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var parser = RESPParser()

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try parser.parse(&buffer)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try decode(buffer: &buffer)
    }
}
