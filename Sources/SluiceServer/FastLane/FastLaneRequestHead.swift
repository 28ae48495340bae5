import Foundation
import NIOCore
import SluiceCore

/// What the fast lane reads of a request straight from the connection's bytes: its endpoint,
/// the body's length, and the headers the decisions need (`Authorization`, `Helicone-*`).
///
/// Only the plainest shape is taken: `POST <endpoint path> HTTP/1.1`, lines ended by CRLF,
/// header names that are tokens, a `Content-Length` within `server.max_body_bytes`, and no
/// `Transfer-Encoding`, `Expect`, `Upgrade`, handover token or `Connection` other than
/// `keep-alive`. Anything else is `notForFastLane`, and NIO's HTTP/1 decoder reads it as it
/// reads every request without the fast lane: so this never has to judge what is malformed,
/// only what is plain.
struct FastLaneRequestHead {
    let endpoint: ProxyEndpoint
    let authorization: String?
    let helicone: HeliconeHeaders
    /// The request line and header section, through the empty line.
    let headLength: Int
    let contentLength: Int
    /// Where the `Content-Length` value's digits are in the head: the one part of a client's
    /// head that usually changes from call to call (`Recent`).
    let contentLengthDigits: Range<Int>

    /// The whole request: head and body.
    var length: Int { headLength + contentLength }

    enum Reading {
        /// The head has not all arrived.
        case incomplete
        /// Not a request the fast lane reads itself.
        case notForFastLane
        case request(FastLaneRequestHead)
    }

    /// A head not complete within this many bytes is left to NIO's decoder and its limits.
    static let maxHeadBytes = 16 * 1024
    /// Nor one with more fields than Hummingbird's decoder takes.
    static let maxFields = 1000

    /// Each endpoint's request line.
    private static let requestLines: [(ProxyEndpoint, [UInt8])] = ProxyEndpoint.allCases.map { ($0, Array("POST \($0.path) HTTP/1.1\r\n".utf8)) }

    /// Reads the head at the start of `bytes`.
    static func read(_ bytes: ByteBuffer, maxBodyBytes: Int) -> Reading {
        bytes.withUnsafeReadableBytes { raw in read(raw, maxBodyBytes: maxBodyBytes) }
    }

    private static func read(_ raw: UnsafeRawBufferPointer, maxBodyBytes: Int) -> Reading {
        let window = raw.count > maxHeadBytes ? UnsafeRawBufferPointer(rebasing: raw[..<maxHeadBytes]) : raw
        func incomplete() -> Reading { raw.count > maxHeadBytes ? .notForFastLane : .incomplete }

        guard let lineEnd = HTTPFieldBytes.newline(in: window, from: 0) else {
            // Anything but a POST is somebody else's as soon as that shows.
            return "POST /".utf8.starts(with: window) || window.starts(with: "POST /".utf8) ? incomplete() : .notForFastLane
        }
        let requestLine = window[...lineEnd]
        guard let endpoint = requestLines.first(where: { requestLine.elementsEqual($0.1) })?.0 else { return .notForFastLane }

        var authorization: String?
        var helicone = HeliconeHeaders()
        var contentLength: Int?
        var contentLengthDigits = 0..<0
        var fields = 0
        var index = lineEnd + 1
        while true {
            guard let newline = HTTPFieldBytes.newline(in: window, from: index) else { return incomplete() }
            guard newline > index, window[newline - 1] == UInt8(ascii: "\r") else { return .notForFastLane }
            let line = window[index..<(newline - 1)]
            index = newline + 1
            if line.isEmpty { break }
            fields += 1
            guard fields <= maxFields else { return .notForFastLane }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .notForFastLane }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPFieldBytes.isTokenByte) else { return .notForFastLane }
            let value = HTTPFieldBytes.trimmed(line[(colon + 1)...])
            // Visible ASCII, spaces and tabs: how other bytes become text is the decoder's to say.
            guard value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == UInt8(ascii: "\t") }) else { return .notForFastLane }
            switch name.count {
            case 14 where HTTPFieldBytes.equalsIgnoringCase(name, "content-length"):
                guard contentLength == nil, (1...18).contains(value.count), value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return .notForFastLane
                }
                contentLength = value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                contentLengthDigits = value.startIndex..<value.endIndex
            case 13 where HTTPFieldBytes.equalsIgnoringCase(name, "authorization"):
                guard authorization == nil else { return .notForFastLane }
                authorization = String(decoding: value, as: UTF8.self)
            case 10 where HTTPFieldBytes.equalsIgnoringCase(name, "connection"):
                guard HTTPFieldBytes.equalsIgnoringCase(value, "keep-alive") else { return .notForFastLane }
            case 17 where HTTPFieldBytes.equalsIgnoringCase(name, "transfer-encoding"),
                 6 where HTTPFieldBytes.equalsIgnoringCase(name, "expect"),
                 7 where HTTPFieldBytes.equalsIgnoringCase(name, "upgrade"),
                 25 where HTTPFieldBytes.equalsIgnoringCase(name, "sluice-fast-lane-handover"):
                return .notForFastLane
            default:
                if name.count > 9, HTTPFieldBytes.equalsIgnoringCase(name.prefix(9), "helicone-") {
                    helicone.add(name: UnsafeRawBufferPointer(rebasing: name), value: String(decoding: value, as: UTF8.self))
                }
            }
        }
        guard let contentLength, contentLength <= maxBodyBytes else { return .notForFastLane }
        return .request(FastLaneRequestHead(endpoint: endpoint, authorization: authorization, helicone: helicone, headLength: index,
                                            contentLength: contentLength, contentLengthDigits: contentLengthDigits))
    }

    /// A head read in full, kept with its bytes to know the next one by: a client sends the same
    /// head call after call but for the body's length, and reading each field of it again (and
    /// making strings of the key and the `Helicone-*` values) was a tenth of the fast lane's work
    /// at one connection.
    struct Recent {
        let head: FastLaneRequestHead
        let bytes: [UInt8]

        init(_ head: FastLaneRequestHead, from buffer: ByteBuffer) {
            self.head = head
            self.bytes = buffer.getBytes(at: buffer.readerIndex, length: head.headLength) ?? []
        }

        /// The head at the start of `buffer` when it is this one's bytes but for the digits of
        /// its `Content-Length` value; nil for anything else (then `read` says what it is). What
        /// `read` would make of it: every other byte is the same, so every other field is too.
        func reread(_ buffer: ByteBuffer, maxBodyBytes: Int) -> FastLaneRequestHead? {
            let digits = head.contentLengthDigits
            let suffixLength = bytes.count - digits.upperBound
            return buffer.withUnsafeReadableBytes { raw -> FastLaneRequestHead? in
                guard raw.count >= bytes.count - digits.count + 1 else { return nil }
                return bytes.withUnsafeBytes { kept -> FastLaneRequestHead? in
                    guard memcmp(raw.baseAddress!, kept.baseAddress!, digits.lowerBound) == 0 else { return nil }
                    var index = digits.lowerBound
                    var contentLength = 0
                    while index < raw.count, index - digits.lowerBound < 19, raw[index] >= 0x30, raw[index] <= 0x39 {
                        contentLength = contentLength * 10 + Int(raw[index] - 0x30)
                        index += 1
                    }
                    let newDigits = digits.lowerBound..<index
                    // What `read` requires of the digits, of the length, and of the head's size.
                    guard (1...18).contains(newDigits.count), contentLength <= maxBodyBytes, index + suffixLength <= maxHeadBytes,
                          raw.count - index >= suffixLength,
                          memcmp(raw.baseAddress! + index, kept.baseAddress! + digits.upperBound, suffixLength) == 0
                    else { return nil }
                    return FastLaneRequestHead(endpoint: head.endpoint, authorization: head.authorization, helicone: head.helicone,
                                               headLength: index + suffixLength, contentLength: contentLength,
                                               contentLengthDigits: newDigits)
                }
            }
        }
    }
}
