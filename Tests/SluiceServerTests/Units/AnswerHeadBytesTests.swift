import NIOCore
import NIOEmbedded
import NIOHTTP1
import SluiceProviders
@testable import SluiceServer
import Testing

@Suite("Answer head bytes")
struct AnswerHeadBytesTests {
    /// What NIO's encoder writes for the same head: the byte handler's heads must not differ.
    static func encoded(_ status: HTTPResponseStatus, _ headers: HTTPHeaders) throws -> String {
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder())
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        var bytes = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&part) }
        _ = try channel.finish()
        return String(buffer: bytes)
    }

    @Test("a head written field by field is what NIO's encoder writes for the same status and fields",
          arguments: [HTTPResponseStatus.ok, .badGateway, .tooManyRequests, .custom(code: 299, reasonPhrase: "Custom")])
    func sameAsEncoder(status: HTTPResponseStatus) throws {
        let fields = [("Sluice-Served-Model", "gpt-4o-mini"), ("RateLimit", "\"rpm\";r=9;t=1"), ("Content-Length", "654"),
                      ("X-Empty", ""), ("X-Text", "héllo wörld, a value longer than a small string"), ("Server", "sluice")]
        var head = AnswerHeadBytes(status, allocator: ByteBufferAllocator())
        var headers = HTTPHeaders()
        for (name, value) in fields {
            head.add(name: name, value: value)
            headers.add(name: name, value: value)
        }
        #expect(String(buffer: head.finished()) == (try Self.encoded(status, headers)))
    }

    @Test("a field whose value is written in place is the same field as one added as a string, on both heads")
    func writtenValues() throws {
        var head = AnswerHeadBytes(.ok, allocator: ByteBufferAllocator())
        var headers = HTTPHeaders()
        head.add(name: "RateLimit") { $0.writeString("\"rpm\";r="); $0.writeDecimal(42) }
        headers.add(name: "RateLimit") { $0.writeString("\"rpm\";r="); $0.writeDecimal(42) }
        #expect(headers["RateLimit"] == ["\"rpm\";r=42"])
        // (With a length, as every fast-lane answer has: without one NIO's encoder adds chunking.)
        head.add(name: "Content-Length", value: "2")
        var expected = HTTPHeaders()
        expected.add(name: "RateLimit", value: "\"rpm\";r=42")
        expected.add(name: "Content-Length", value: "2")
        #expect(String(buffer: head.finished()) == (try Self.encoded(.ok, expected)))
    }

    @Test("integers are written in decimal as String(_:) writes them", arguments: [
        Int64.min, Int64.min + 1, -999_999_999_999_999, -10, -1, 0, 1, 9, 10, 59, 1_000_000, 999_999_999_999_999, Int64.max,
    ])
    func decimal(value: Int64) {
        var buffer = ByteBuffer()
        buffer.writeDecimal(value)
        #expect(String(buffer: buffer) == String(value))
    }

    @Test("a head without fields is its status line and the empty line")
    func noFields() {
        let head = AnswerHeadBytes(.ok, allocator: ByteBufferAllocator())
        #expect(String(buffer: head.finished()) == "HTTP/1.1 200 OK\r\n\r\n")
    }
}
