import NIOCore
import NIOEmbedded
import NIOHTTP1
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

    @Test("a head without fields is its status line and the empty line")
    func noFields() {
        let head = AnswerHeadBytes(.ok, allocator: ByteBufferAllocator())
        #expect(String(buffer: head.finished()) == "HTTP/1.1 200 OK\r\n\r\n")
    }
}
