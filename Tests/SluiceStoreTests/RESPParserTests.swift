import NIOCore
@testable import SluiceStore
import Testing

private func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// Parses `text` fed in pieces of `step` bytes, as a socket might deliver it.
private func parseInPieces(_ text: String, step: Int) throws -> [RESPValue] {
    let bytes = Array(text.utf8)
    var pending = ByteBuffer()
    var values: [RESPValue] = []
    var offset = 0
    while offset < bytes.count {
        pending.writeBytes(bytes[offset..<min(offset + step, bytes.count)])
        offset += step
        while let value = try RESPParser.parse(&pending) { values.append(value) }
    }
    #expect(pending.readableBytes == 0)
    return values
}

@Suite("RESP parser")
struct RESPParserTests {
    @Test("each reply type parses to its value")
    func types() throws {
        var input = buffer("+OK\r\n-NOAUTH Authentication required.\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n")
        var values: [RESPValue] = []
        while let value = try RESPParser.parse(&input) { values.append(value) }
        #expect(values == [.simpleString("OK"), .error("NOAUTH Authentication required."), .integer(-42), .bulk("hello"), .bulk(""),
                           .bulkString(nil), .array(nil), .array([])])
    }

    @Test("nested arrays, bulk strings holding CRLF, and binary bytes")
    func nested() throws {
        var input = buffer("*3\r\n:1\r\n*2\r\n$4\r\na\r\nb\r\n+x\r\n$-1\r\n")
        #expect(try RESPParser.parse(&input) == .array([.integer(1), .array([.bulk("a\r\nb"), .simpleString("x")]), .bulkString(nil)]))
        var binary = ByteBuffer(bytes: [UInt8(ascii: "$"), UInt8(ascii: "2"), 13, 10, 0, 255, 13, 10])
        #expect(try RESPParser.parse(&binary) == .bulkString([0, 255]))
    }

    @Test("a value cut anywhere is taken only once it is whole, and nothing is consumed before", arguments: [1, 2, 3, 7, 1000])
    func partial(step: Int) throws {
        let text = "*2\r\n:1767225600000\r\n*3\r\n$3\r\nabc\r\n:-1\r\n$-1\r\n+PONG\r\n"
        #expect(try parseInPieces(text, step: step) == [
            .array([.integer(1_767_225_600_000), .array([.bulk("abc"), .integer(-1), .bulkString(nil)])]), .simpleString("PONG"),
        ])
        for cut in 0..<text.utf8.count - 7 {
            var head = ByteBuffer(bytes: Array(text.utf8.prefix(cut)))
            #expect(try RESPParser.parse(&head) == nil)
            #expect(head.readableBytes == cut)
        }
    }

    @Test("a large reply fed in small pieces to one parser resumes where it stopped and comes out whole", arguments: [1, 5, 64, 1460])
    func largeReplyInPieces(step: Int) throws {
        // The shape of a decide reply with three full windows: nested arrays of 120 integers each.
        let window = (0..<120).map { RESPValue.integer(1_767_225_600 + Int64($0)) }
        let expected = RESPValue.array([.integer(1), .integer(1_767_225_659_500)] + (0..<3).map { _ in .array(window) } + [.bulk("a\r\nb")])
        func encode(_ value: RESPValue) -> String {
            switch value {
            case .integer(let number): ":\(number)\r\n"
            case .bulkString(let bytes?): "$\(bytes.count)\r\n" + String(decoding: bytes, as: UTF8.self) + "\r\n"
            case .array(let elements?): "*\(elements.count)\r\n" + elements.map(encode).joined()
            default: ""
            }
        }
        let bytes = Array((encode(expected) + "+PONG\r\n").utf8)
        var parser = RESPParser()
        var pending = ByteBuffer()
        var values: [RESPValue] = []
        for start in stride(from: 0, to: bytes.count, by: step) {
            pending.writeBytes(bytes[start..<min(start + step, bytes.count)])
            while let value = try parser.parse(&pending) { values.append(value) }
            // Progress is kept relative to the unread bytes, which may move as NIO compacts its buffer.
            pending.discardReadBytes()
        }
        #expect(values == [expected, .simpleString("PONG")])
        #expect(pending.readableBytes == 0)
    }

    @Test("malformed input is an error, not a crash or an endless wait", arguments: [
        "?what\r\n", ":12a\r\n", "$abc\r\n", "$-5\r\n", "*-2\r\n", "$3\r\nabcXY", "+OK\rX", "$99999999999\r\n",
    ])
    func malformed(text: String) {
        var input = buffer(text)
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser.parse(&input) }
    }

    @Test("a line longer than 64 KiB is refused before its end arrives")
    func longLine() {
        var input = buffer(":" + String(repeating: "9", count: 70_000))
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser.parse(&input) }
    }

    @Test("deep nesting is refused")
    func tooDeep() {
        var input = buffer(String(repeating: "*1\r\n", count: 40) + ":1\r\n")
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser.parse(&input) }
    }

    @Test("a huge array count with few bytes waits for more without reserving the count")
    func hugeCountWaits() throws {
        var input = buffer("*16000000\r\n:1\r\n")
        #expect(try RESPParser.parse(&input) == nil)
    }

    @Test("commands are encoded as arrays of bulk strings, lengths in UTF-8 bytes")
    func encodeCommand() {
        var out = ByteBuffer()
        RedisCommand("SET", "k", "é").encode(into: &out)
        #expect(out.readString(length: out.readableBytes) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n")
        #expect(RedisCommand("AUTH", "user", "secret").name == "AUTH")
    }

    @Test("values read as text and integers where they spell them")
    func accessors() {
        #expect(RESPValue.bulk("12").integer == 12)
        #expect(RESPValue.integer(7).string == "7")
        #expect(RESPValue.bulkString(nil).string == nil)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
    }
}
