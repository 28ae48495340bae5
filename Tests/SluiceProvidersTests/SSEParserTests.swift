import SluiceProviders
import Testing

@Suite("SSE parsing")
struct SSEParserTests {
    @Test("events split at blank lines, whatever the chunking, with the raw bytes kept")
    func chunkingDoesNotMatter() {
        let text = "data: {\"a\":1}\n\n: comment\n\ndata: line1\ndata: line2\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        for chunkSize in [1, 2, 3, 7, 1000] {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            for start in stride(from: 0, to: bytes.count, by: chunkSize) {
                events += parser.feed(bytes[start..<min(start + chunkSize, bytes.count)])
            }
            #expect(events.count == 4, "chunk size \(chunkSize)")
            #expect(events.map { $0.data.map { String(decoding: $0, as: UTF8.self) } } == ["{\"a\":1}", nil, "line1\nline2", "[DONE]"])
            #expect(events.flatMap(\.raw) == bytes)
            #expect(events.last?.isDone == true && events.first?.isDone == false)
            #expect(parser.pendingBytes == 0)
        }
    }

    @Test("a partial event waits for its end")
    func partial() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: {\"x\"".utf8)).isEmpty)
        #expect(parser.pendingBytes > 0)
        let events = parser.feed(Array(":1}\n\n".utf8))
        #expect(events.count == 1 && events[0].data == Array("{\"x\":1}".utf8))
    }

    @Test("data without a space after the colon, and other fields, are read as the spec says")
    func fields() {
        var parser = SSEParser()
        let events = parser.feed(Array("event: x\nid: 3\ndata:tight\n\n".utf8))
        #expect(events.count == 1 && events[0].data == Array("tight".utf8))
    }
}
