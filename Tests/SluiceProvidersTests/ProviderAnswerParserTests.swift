import NIOCore
import Testing

@testable import SluiceProviders

@Suite("Provider answer parser")
struct ProviderAnswerParserTests {
    typealias Parser = ProviderAnswerParser

    /// Feeds `pieces` in order; the answer (and the piece it completed on), or the failure.
    func parse(_ pieces: [String], max: Int = 1 << 20, end: Bool = false) -> Result<(Parser.Answer, Int)?, Parser.Failure> {
        var parser = Parser(maxAnswerBytes: max)
        for (index, piece) in pieces.enumerated() {
            var bytes = ByteBuffer(string: piece)
            do {
                if let answer = try parser.receive(&bytes) { return .success((answer, index)) }
            } catch {
                return .failure(error)
            }
        }
        if end, let answer = parser.receiveEnd() { return .success((answer, pieces.count)) }
        return .success(nil)
    }

    func answer(_ text: String, max: Int = 1 << 20, end: Bool = false) throws -> Parser.Answer {
        try #require(try parse([text], max: max, end: end).get()).0
    }

    func failure(_ text: String, max: Int = 1 << 20) -> Parser.Failure? {
        if case .failure(let failure) = parse([text], max: max) { return failure }
        return nil
    }

    static let samples = [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"ok\r\n7\r\n\":true}\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"ok\":true}",
        "HTTP/1.1 200 OK\nContent-Length: 11\n\n{\"ok\":true}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nB\r\n{\"ok\":true}\r\n0\r\n\r\n",
    ]

    @Test("an answer reads the same whole, in two pieces split anywhere, and byte by byte", arguments: samples)
    func splitAnywhere(_ text: String) throws {
        let whole = try answer(text)
        #expect(whole.status == 200)
        #expect(String(buffer: whole.body) == "{\"ok\":true}")
        #expect(whole.keepAlive)
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            let pieces = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            let (split, completedOn) = try #require(try parse(pieces).get(), "cut at \(cut)")
            #expect(completedOn == 1, "cut at \(cut)")
            #expect(String(buffer: split.body) == "{\"ok\":true}", "cut at \(cut)")
            #expect(split.keepAlive, "cut at \(cut)")
        }
        let single = bytes.map { String(decoding: [$0], as: UTF8.self) }
        let (byByte, last) = try #require(try parse(single).get())
        #expect(last == bytes.count - 1)
        #expect(String(buffer: byByte.body) == "{\"ok\":true}")
    }

    @Test("headers are kept as sent, in order, with the status; Content-Type is read at once (the first, as NIO's first(name:))")
    func headers() throws {
        let parsed = try answer("HTTP/1.1 429 Too Many Requests\r\nRetry-After:  7 \r\nX-Empty:\r\ncontent-type: text/plain\r\n"
                                + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        #expect(parsed.status == 429)
        #expect(parsed.contentType == "text/plain")
        let headers = Parser.headers(fromFields: parsed.fields)
        #expect(headers.first(name: "retry-after") == "7")
        #expect(headers.first(name: "x-empty") == "")
        #expect(headers.map(\.name) == ["Retry-After", "X-Empty", "content-type", "Content-Type", "Content-Length"])
        #expect(headers.map(\.value) == ["7", "", "text/plain", "application/json", "2"])
        #expect(try answer("HTTP/1.1 200 OK\nContent-Length: 0\n\n").contentType == nil)
    }

    @Test("an answer without a length runs to the end of the connection, and that connection is not kept")
    func untilClose() throws {
        #expect(try parse(["HTTP/1.1 200 OK\r\n\r\n{\"a\":", "1}"]).get() == nil)
        let parsed = try #require(try parse(["HTTP/1.1 200 OK\r\n\r\n{\"a\":", "1}"], end: true).get()).0
        #expect(String(buffer: parsed.body) == "{\"a\":1}")
        #expect(!parsed.keepAlive)
        // A connection that ends before the head is complete gives no answer.
        #expect(try parse(["HTTP/1.1 200 OK\r\nContent-"], end: true).get() == nil)
        // Nor one that ends inside a body of known length.
        #expect(try parse(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"], end: true).get() == nil)
    }

    @Test("whether the connection may be used again")
    func keepAlive() throws {
        #expect(try answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try answer("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try answer("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try answer("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive)
        #expect(try answer("HTTP/1.1 204 No Content\r\n\r\n").keepAlive)
        #expect(try answer("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").body.readableBytes == 0)
        // Bytes after the answer: nothing was asked for them, so the connection is not trusted.
        #expect(try answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n").keepAlive == false)
        // Both framings: chunked wins, the sender is suspect.
        let both = try answer("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        #expect(String(buffer: both.body) == "{}")
        #expect(both.keepAlive == false)
        // A list of equal lengths is one length.
        #expect(String(buffer: try answer("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}").body) == "{}")
        // Connection options are list items, in any case, with empty items and spaces around them.
        #expect(try answer("HTTP/1.1 200 OK\r\nConnection: ,, upgrade ,\tCLOSE\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try answer("HTTP/1.1 200 OK\r\nConnection: closed, xclose\r\nContent-Length: 0\r\n\r\n").keepAlive)
        #expect(try answer("HTTP/1.0 200 OK\r\nConnection: te,keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive)
        #expect(try answer("HTTP/1.0 200 OK\r\nConnection: keep-alives\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
    }

    @Test("the last transfer coding decides the framing, across fields; an empty Transfer-Encoding names none")
    func transferCodings() throws {
        let chunkedLast = try answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: , Chunked ,\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        #expect(String(buffer: chunkedLast.body) == "{}")
        #expect(chunkedLast.keepAlive)
        // Not chunked last: the body runs to the end of the connection.
        #expect(try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\n"]).get() == nil)
        let untilClose = try #require(try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nab"], end: true).get()).0
        #expect(String(buffer: untilClose.body) == "ab")
        // Only empty items: no coding, so Content-Length frames the body.
        #expect(String(buffer: try answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\nContent-Length: 2\r\n\r\n{}").body) == "{}")
    }

    @Test("Content-Type is its value as sent, the usual ones and any other")
    func contentTypes() throws {
        for value in ["application/json", "application/json; charset=utf-8", "text/event-stream", "application/json; charset=UTF-8",
                      "application/jsonx", "text/plain"] {
            #expect(try answer("HTTP/1.1 200 OK\r\nContent-Type: \(value)\r\nContent-Length: 0\r\n\r\n").contentType == value)
        }
    }

    @Test("a body over the limit fails as too large, however it is framed")
    func tooLarge() {
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max: 10) == .tooLarge)
        #expect(failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n", max: 10) == .tooLarge)
        #expect(failure("HTTP/1.1 200 OK\r\n\r\n12345678901", max: 10) == .tooLarge)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234567890", max: 10) == nil)
    }

    @Test("malformed answers fail with what was wrong", arguments: [
        ("HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x status line"),
        ("HTTP/1.1 20 OK\r\n\r\n", "not an HTTP/1.x status line"),
        ("HTTP/1.1 200OK\r\n\r\n", "not an HTTP/1.x status line"),
        ("HTTP/1.1 099 Odd\r\n\r\n", "status code 99"),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols to a request that asked for no upgrade"),
        ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "a header line without a colon"),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "an invalid header name"),
        ("HTTP/1.1 200 OK\r\nName : x\r\n\r\n", "an invalid header name"),
        ("HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", "a folded header line (obsolete line folding)"),
        ("HTTP/1.1 200 OK\r\nA: 1\r2\r\n\r\n", "a header value with a control character"),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\u{1}\r\n\r\n", "a header value with a control character"),
        ("HTTP/1.1 200 OK\r\nA: \u{7F}\r\n\r\n", "a header value with a control character"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "an invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "an invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "differing Content-Length values"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", "an invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n", "a chunk-size line without a size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "a chunk size over 15 hex digits"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "chunk data longer than its size"),
    ])
    func malformed(_ text: String, what: String) {
        #expect(failure(text) == .malformed(what))
    }

    @Test("a head that never ends is refused once longer than 80 KiB, and so is an endless chunk-size line")
    func endless() {
        let long = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 4000)
        #expect(failure(long) == .malformed("a head longer than 80 KiB"))
        // Also when its end comes in the same read.
        #expect(failure(long + "\r\n") == .malformed("a head longer than 80 KiB"))
        #expect(failure("HTTP/1.1 200 OK\r\nA:\t x \r\nContent-Length: 0\r\n\r\n") == nil)
        let chunkLine = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        #expect(failure(chunkLine) == .malformed("a chunk-size line longer than 4096 bytes"))
    }

    @Test("whether anything arrived, for retrying a request on a connection the provider had closed")
    func receivedAny() throws {
        var parser = Parser(maxAnswerBytes: 100)
        #expect(!parser.receivedAny)
        var empty = ByteBuffer()
        #expect(try parser.receive(&empty) == nil)
        #expect(!parser.receivedAny)
        var some = ByteBuffer(string: "HTTP/1.1 2")
        #expect(try parser.receive(&some) == nil)
        #expect(parser.receivedAny)
    }
}
