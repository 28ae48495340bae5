import NIOCore
import NIOHTTP1
import SluiceCore

/// Reads one provider answer (HTTP/1.x) from its connection's bytes as they arrive: the status
/// line, the header fields, and a body framed by `Content-Length`, by chunked transfer coding, or
/// by the end of the connection.
///
/// The pool's connections carry only the gateway's own `POST`s, one at a time, so this is all a
/// provider may send: interim `1xx` answers (skipped), then one answer. It replaces NIO's HTTP/1
/// client codec on the fast lane, whose per-part messages, header strings and pipeline hops were
/// a tenth of a proxied call's CPU time (docs/benchmarks.md). A value type without I/O: fed
/// bytes, it says when the answer is whole.
struct ProviderAnswerParser {
    struct Answer {
        var status: Int
        /// The header section's lines, checked; `UpstreamAnswerBytes.headers` reads them when asked.
        var fields: ByteBuffer
        var contentType: String?
        var body: ByteBuffer
        /// Whether the connection may carry another exchange: HTTP/1.1 without `Connection:
        /// close`, a body with a known end, and nothing received after it.
        var keepAlive: Bool
    }

    enum Failure: Error, Equatable {
        /// Not HTTP/1.x as RFC 9112 frames it; says what was wrong.
        case malformed(String)
        /// A body longer than `maxAnswerBytes`.
        case tooLarge
    }

    /// Bytes a status line and header section (or a chunked body's trailer section) may take,
    /// as NIO's decoder allows.
    static let maxHeadBytes = 80 * 1024
    /// Longest chunk-size line, extensions included.
    static let maxChunkLineBytes = 4 * 1024

    private struct Head {
        var status: Int
        var fields: ByteBuffer
        var contentType: String?
        var keepAlive: Bool
        var framing: Framing
    }

    private enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
        case untilClose
    }

    private enum ChunkState {
        case sizeLine
        case data(remaining: Int)
        case dataEnd
        case trailers(bytesSoFar: Int)
    }

    let maxAnswerBytes: Int
    /// Bytes received and not yet consumed.
    private var pending = ByteBuffer()
    private var head: Head?
    private var body = ByteBuffer()
    private var chunk = ChunkState.sizeLine
    /// Where to resume looking for the end of the head (bytes before it were searched already).
    private var searchedHeadBytes = 0
    /// Whether any byte arrived: a reused connection that fails before one did may be retried.
    private(set) var receivedAny = false

    init(maxAnswerBytes: Int) {
        self.maxAnswerBytes = maxAnswerBytes
    }

    /// Takes in `bytes`; returns the answer once it is whole.
    mutating func receive(_ bytes: inout ByteBuffer) throws(Failure) -> Answer? {
        guard bytes.readableBytes > 0 else { return nil }
        receivedAny = true
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            pending.writeBuffer(&bytes)
        }
        return try advance()
    }

    /// The connection ended: completes an answer framed by it; nil when the answer is not whole.
    mutating func receiveEnd() -> Answer? {
        guard let head, head.framing == .untilClose else { return nil }
        self.head = nil
        return Answer(status: head.status, fields: head.fields, contentType: head.contentType, body: pending, keepAlive: false)
    }

    private mutating func advance() throws(Failure) -> Answer? {
        while true {
            if head == nil {
                guard let parsed = try parseHead() else { return nil }
                if parsed.status == 101 { throw .malformed("101 Switching Protocols to a request that asked for no upgrade") }
                if parsed.status < 200 { continue }  // 100 Continue, 103 Early Hints: the answer follows
                head = parsed
            }
            switch head!.framing {
            case .none:
                return finish(body: ByteBuffer())
            case .length(let length):
                if length > maxAnswerBytes { throw .tooLarge }
                guard pending.readableBytes >= length else { return nil }
                return finish(body: pending.readSlice(length: length)!)
            case .untilClose:
                if pending.readableBytes > maxAnswerBytes { throw .tooLarge }
                return nil
            case .chunked:
                guard try readChunks() else { return nil }
                return finish(body: body)
            }
        }
    }

    private mutating func finish(body: ByteBuffer) -> Answer {
        let head = self.head!
        self.head = nil
        // Bytes after the answer were never asked for: the connection cannot be trusted again.
        return Answer(status: head.status, fields: head.fields, contentType: head.contentType, body: body,
                      keepAlive: head.keepAlive && pending.readableBytes == 0)
    }

    // MARK: - Head

    /// Parses and consumes the status line and header section once they are all here.
    private mutating func parseHead() throws(Failure) -> Head? {
        guard let end = Self.endOfHead(in: pending, from: searchedHeadBytes) else {
            if pending.readableBytes > Self.maxHeadBytes { throw .malformed("a head longer than \(Self.maxHeadBytes / 1024) KiB") }
            searchedHeadBytes = max(0, pending.readableBytes - 3)
            return nil
        }
        searchedHeadBytes = 0
        // The end may have come in the same read as more than the limit.
        if end > Self.maxHeadBytes { throw .malformed("a head longer than \(Self.maxHeadBytes / 1024) KiB") }
        let bytes = pending.readSlice(length: end)!
        var head = try bytes.withUnsafeReadableBytes { raw throws(Failure) in try Self.head(from: raw) }
        head.fields = bytes
        return head
    }

    /// The header fields of a head this parser accepted (`Answer.fields`), in order.
    static func headers(fromFields bytes: ByteBuffer) -> HTTPHeaders {
        bytes.withUnsafeReadableBytes { raw in
            var lines = Lines(raw)
            _ = lines.next()  // the status line
            var headers = HTTPHeaders()
            while let line = lines.next(), !line.isEmpty, let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                headers.add(name: String(decoding: line[line.startIndex..<colon], as: UTF8.self),
                            value: String(decoding: HTTPFieldBytes.trimmed(line[(colon + 1)...]), as: UTF8.self))
            }
            return headers
        }
    }

    /// The length of the head (through the empty line that ends it), when `buffer` holds all of it.
    private static func endOfHead(in buffer: ByteBuffer, from start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { raw in
            var index = start
            while let newline = HTTPFieldBytes.newline(in: raw, from: index) {
                // An empty line: "\n\n" or "\n\r\n".
                if newline + 1 < raw.count, raw[newline + 1] == UInt8(ascii: "\n") { return newline + 2 }
                if newline + 2 < raw.count, raw[newline + 1] == UInt8(ascii: "\r"), raw[newline + 2] == UInt8(ascii: "\n") { return newline + 3 }
                index = newline + 1
            }
            return nil
        }
    }

    private static func head(from raw: UnsafeRawBufferPointer) throws(Failure) -> Head {
        var lines = Lines(raw)
        guard let statusLine = lines.next() else { throw .malformed("no status line") }
        let (version11, status) = try Self.statusLine(statusLine)
        var contentType: String?
        var contentLength: Int?
        /// Transfer codings were sent, and whether the last one named was `chunked`.
        var transferCodings: (any: Bool, lastChunked: Bool) = (false, false)
        var connectionClose = false
        var connectionKeepAlive = false
        while let line = lines.next(), !line.isEmpty {
            guard line.first != UInt8(ascii: " "), line.first != UInt8(ascii: "\t") else {
                throw .malformed("a folded header line (obsolete line folding)")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPFieldBytes.isTokenByte) else { throw .malformed("an invalid header name") }
            let value = HTTPFieldBytes.trimmed(line[(colon + 1)...])
            guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == UInt8(ascii: "\t") }) else {
                throw .malformed("a header value with a control character")
            }
            // Only the fields that frame the answer become text here; the rest stay bytes.
            switch name.count {
            case 12 where HTTPFieldBytes.equalsIgnoringCase(name, "content-type"):
                if contentType == nil { contentType = Self.text(value) }
            case 14 where HTTPFieldBytes.equalsIgnoringCase(name, "content-length"):
                // A list of equal lengths ("42, 42") is one length.
                for item in value.split(separator: UInt8(ascii: ",")) {
                    let digits = HTTPFieldBytes.trimmed(item)
                    guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        throw .malformed("an invalid Content-Length")
                    }
                    let length = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                    guard contentLength == nil || contentLength == length else { throw .malformed("differing Content-Length values") }
                    contentLength = length
                }
            case 17 where HTTPFieldBytes.equalsIgnoringCase(name, "transfer-encoding"):
                HTTPFieldBytes.forEachListItem(value) { coding in
                    transferCodings = (true, HTTPFieldBytes.equalsIgnoringCase(coding, "chunked"))
                }
            case 10 where HTTPFieldBytes.equalsIgnoringCase(name, "connection"):
                HTTPFieldBytes.forEachListItem(value) { option in
                    if HTTPFieldBytes.equalsIgnoringCase(option, "close") { connectionClose = true }
                    if HTTPFieldBytes.equalsIgnoringCase(option, "keep-alive") { connectionKeepAlive = true }
                }
            default:
                break
            }
        }
        var keepAlive = version11 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        let framing: Framing
        if status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if transferCodings.any {
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a body not chunked
            // last runs to the end of the connection. Either way the sender is suspect: not reused.
            if transferCodings.lastChunked {
                framing = .chunked
                if contentLength != nil { keepAlive = false }
            } else {
                framing = .untilClose
            }
        } else if let contentLength {
            framing = .length(contentLength)
        } else {
            framing = .untilClose
        }
        if framing == .untilClose { keepAlive = false }
        return Head(status: status, fields: ByteBuffer(), contentType: contentType, keepAlive: keepAlive, framing: framing)
    }

    /// A header value as text; the usual content types without building a string.
    private static func text(_ value: Slice<UnsafeRawBufferPointer>) -> String {
        if value.elementsEqual("application/json".utf8) { return "application/json" }
        if value.elementsEqual("application/json; charset=utf-8".utf8) { return "application/json; charset=utf-8" }
        if value.elementsEqual("text/event-stream".utf8) { return "text/event-stream" }
        return String(decoding: value, as: UTF8.self)
    }

    /// "HTTP/1.1 200 OK": the version (1.1 or 1.0) and the status code.
    private static func statusLine(_ line: Slice<UnsafeRawBufferPointer>) throws(Failure) -> (version11: Bool, status: Int) {
        let bytes = UnsafeRawBufferPointer(rebasing: line)
        guard bytes.count >= 12, bytes.starts(with: "HTTP/1.".utf8),
              bytes[7] == UInt8(ascii: "1") || bytes[7] == UInt8(ascii: "0"),
              bytes[8] == UInt8(ascii: " "), bytes[9...11].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 12 || bytes[12] == UInt8(ascii: " ")
        else {
            throw .malformed("not an HTTP/1.x status line")
        }
        let status = bytes[9...11].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard status >= 100 else { throw .malformed("status code \(status)") }
        return (bytes[7] == UInt8(ascii: "1"), status)
    }

    // MARK: - Chunked body

    /// Reads chunks into `body`; true once the last chunk and the trailer section are in.
    private mutating func readChunks() throws(Failure) -> Bool {
        while true {
            switch chunk {
            case .sizeLine:
                guard let line = try takeLine(limit: Self.maxChunkLineBytes, what: "a chunk-size line") else { return false }
                let size = try Self.chunkSize(line)
                if size == 0 {
                    chunk = .trailers(bytesSoFar: 0)
                } else {
                    guard body.readableBytes + size <= maxAnswerBytes else { throw .tooLarge }
                    chunk = .data(remaining: size)
                }
            case .data(let remaining):
                let available = min(remaining, pending.readableBytes)
                guard available > 0 else { return false }
                var part = pending.readSlice(length: available)!
                if body.readableBytes == 0, available == remaining { body = part } else { body.writeBuffer(&part) }
                chunk = available == remaining ? .dataEnd : .data(remaining: remaining - available)
            case .dataEnd:
                guard let line = try takeLine(limit: 2, what: "the line end after chunk data") else { return false }
                guard line.readableBytes == 0 else { throw .malformed("chunk data longer than its size") }
                chunk = .sizeLine
            case .trailers(let bytesSoFar):
                guard let line = try takeLine(limit: Self.maxHeadBytes - bytesSoFar, what: "the trailer section") else { return false }
                guard line.readableBytes > 0 else {
                    chunk = .sizeLine
                    return true
                }
                chunk = .trailers(bytesSoFar: bytesSoFar + line.readableBytes + 2)
            }
        }
    }

    /// The next line of `pending` without its line end, consumed; nil until it is all here.
    private mutating func takeLine(limit: Int, what: String) throws(Failure) -> ByteBuffer? {
        let newline = pending.withUnsafeReadableBytes { HTTPFieldBytes.newline(in: $0, from: 0) }
        guard let newline else {
            if pending.readableBytes > limit { throw .malformed("\(what) longer than \(limit) bytes") }
            return nil
        }
        guard newline <= limit else { throw .malformed("\(what) longer than \(limit) bytes") }
        var line = pending.readSlice(length: newline + 1)!
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        return line
    }

    /// The size on a chunk-size line ("1a", "1a;name=value"), at most 15 hex digits.
    private static func chunkSize(_ line: ByteBuffer) throws(Failure) -> Int {
        var size = 0
        var digits = 0
        for byte in line.readableBytesView {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw .malformed("a chunk-size line without a size") }
                return size
            default:
                throw .malformed("an invalid chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw .malformed("a chunk size over 15 hex digits") }
            size = size * 16 + value
        }
        guard digits > 0 else { throw .malformed("a chunk-size line without a size") }
        return size
    }

    // MARK: - Bytes

    /// The lines of a head, without their line ends ("\r\n" or "\n").
    private struct Lines {
        let raw: UnsafeRawBufferPointer
        var index = 0

        init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

        mutating func next() -> Slice<UnsafeRawBufferPointer>? {
            guard let newline = HTTPFieldBytes.newline(in: raw, from: index) else { return nil }
            var end = newline
            if end > index, raw[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            defer { index = newline + 1 }
            return raw[index..<end]
        }
    }
}
