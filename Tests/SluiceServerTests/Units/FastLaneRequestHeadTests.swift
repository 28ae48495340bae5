import NIOCore
import NIOHTTP1
import SluiceCore
@testable import SluiceServer
import Testing

/// The fast lane reads the plainest requests from their bytes; everything else goes to NIO's
/// decoder. What it reads must be what the decoder's head gives for the same bytes.
@Suite("Fast-lane request heads")
struct FastLaneRequestHeadTests {
    static let body = #"{"model":"gpt-4o-mini","messages":[]}"#

    static func wire(_ lines: [String], line: String = "POST /v1/chat/completions HTTP/1.1", body: String = body) -> String {
        ([line] + lines).map { $0 + "\r\n" }.joined() + "\r\n" + body
    }

    func read(_ text: String, maxBodyBytes: Int = 1 << 20) -> FastLaneRequestHead.Reading {
        FastLaneRequestHead.read(ByteBuffer(string: text), maxBodyBytes: maxBodyBytes)
    }

    func request(_ text: String) throws -> FastLaneRequestHead {
        guard case .request(let head) = read(text) else {
            Issue.record("not read: \(text.debugDescription)")
            throw CancellationError()
        }
        return head
    }

    func isNotForFastLane(_ text: String, maxBodyBytes: Int = 1 << 20) -> Bool {
        if case .notForFastLane = read(text, maxBodyBytes: maxBodyBytes) { return true }
        return false
    }

    @Test("a plain request: endpoint, lengths, authorization and the Helicone headers as NIO's head gives them")
    func plain() throws {
        let headers = [("Host", "gw"), ("Authorization", "Bearer sk-sluice-dev-x"), ("Helicone-User-Id", " alice "),
                       ("helicone-ratelimit-policy", "10;w=60;s=user"), ("Helicone-Property-Team", "search"),
                       ("Connection", "Keep-Alive"), ("Content-Type", "application/json"), ("Content-Length", "\(Self.body.utf8.count)")]
        let text = Self.wire(headers.map { "\($0.0): \($0.1)" }) + "POST /next"
        let head = try request(text)
        #expect(head.endpoint == .chatCompletions)
        #expect(head.contentLength == Self.body.utf8.count)
        #expect(head.length == text.utf8.count - "POST /next".utf8.count)
        #expect(head.authorization == "Bearer sk-sluice-dev-x")
        #expect(head.helicone == HeliconeHeaders(HTTPHeaders(headers.map { ($0.0, $0.1.trimmingCharacters(in: .whitespaces)) })))
        #expect(head.helicone.userID == "alice")
        for endpoint in ProxyEndpoint.allCases {
            let other = try request(Self.wire(["Content-Length: 2"], line: "POST \(endpoint.path) HTTP/1.1", body: "{}"))
            #expect(other.endpoint == endpoint)
        }
    }

    @Test("what the OpenAI Python SDK and curl send is read here")
    func clients() throws {
        let sdkBody = #"{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o-mini"}"#
        // Captured from openai 2.54.0 (httpx).
        let sdk = Self.wire([
            "Host: 127.0.0.1:18777", "Accept-Encoding: gzip, deflate", "Connection: keep-alive", "Authorization: Bearer sk-test",
            "Accept: application/json", "Content-Type: application/json", "User-Agent: OpenAI/Python 2.54.0", "X-Stainless-Lang: python",
            "X-Stainless-Package-Version: 2.54.0", "X-Stainless-OS: Linux", "X-Stainless-Arch: x64", "X-Stainless-Runtime: CPython",
            "X-Stainless-Runtime-Version: 3.11.7", "X-Stainless-Async: false", "x-stainless-retry-count: 0",
            "x-stainless-read-timeout: 2", "Content-Length: \(sdkBody.utf8.count)",
        ], body: sdkBody)
        #expect(try request(sdk).authorization == "Bearer sk-test")
        let curl = Self.wire(["Host: 127.0.0.1:8080", "User-Agent: curl/7.88.1", "Accept: */*", "Authorization: Bearer sk-test",
                              "Content-Type: application/json", "Content-Length: \(Self.body.utf8.count)"])
        #expect(try request(curl).contentLength == Self.body.utf8.count)
    }

    @Test("a head that has not all arrived is incomplete at every byte short of its end")
    func incomplete() throws {
        let text = Self.wire(["Authorization: Bearer k", "Content-Length: 2"], body: "{}")
        let headLength = try request(text).headLength
        let bytes = Array(text.utf8)
        for cut in 0..<headLength {
            guard case .incomplete = read(String(decoding: bytes[..<cut], as: UTF8.self)) else {
                Issue.record("cut at \(cut) was not incomplete")
                return
            }
        }
        // The body need not be here to read the head.
        guard case .request = read(String(decoding: bytes[..<headLength], as: UTF8.self)) else {
            Issue.record("the head alone was not read")
            return
        }
    }

    @Test("anything but the plainest shape is left to NIO's decoder", arguments: [
        wire(["Content-Length: 2"], line: "GET /v1/chat/completions HTTP/1.1"),
        wire(["Content-Length: 2"], line: "POST /v1/chat/completions?x=1 HTTP/1.1"),
        wire(["Content-Length: 2"], line: "POST /v1/models HTTP/1.1"),
        wire(["Content-Length: 2"], line: "POST /v1/chat/completions HTTP/1.0"),
        wire(["Content-Length: 2"], line: "post /v1/chat/completions HTTP/1.1"),
        wire([]),
        wire(["Content-Length: 2", "Content-Length: 2"]),
        wire(["Content-Length: +2"]),
        wire(["Content-Length: 2, 2"]),
        wire(["Transfer-Encoding: chunked"]),
        wire(["Content-Length: 2", "Expect: 100-continue"]),
        wire(["Content-Length: 2", "Connection: close"]),
        wire(["Content-Length: 2", "Connection: keep-alive, Upgrade", "Upgrade: h2c"]),
        wire(["Content-Length: 2", "Sluice-Fast-Lane-Handover: 0123456789abcdef"]),
        wire(["Content-Length: 2", "Authorization: Bearer a", "Authorization: Bearer b"]),
        wire(["Content-Length: 2", "Bad Name: x"]),
        wire(["Content-Length: 2", "Name : x"]),
        wire(["Content-Length: 2", "No colon"]),
        wire(["Content-Length: 2", " folded"]),
        wire(["Content-Length: 2", "Helicone-User-Id: caf\u{e9}"]),
        wire(["Content-Length: 2", "X-Control: a\u{1}b"]),
        "POST /v1/chat/completions HTTP/1.1\nContent-Length: 2\n\n{}",
        "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\n\r\n{}",
        "PUT /v1/chat/completions",
    ])
    func notPlain(_ text: String) {
        #expect(isNotForFastLane(text), "\(text.debugDescription)")
    }

    @Test("a body over server.max_body_bytes, or a head that will not end, is left to NIO's decoder and its limits")
    func limits() {
        #expect(isNotForFastLane(Self.wire(["Content-Length: 11"]), maxBodyBytes: 10))
        #expect(!isNotForFastLane(Self.wire(["Content-Length: 10"]), maxBodyBytes: 10))
        let endless = "POST /v1/chat/completions HTTP/1.1\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 1000)
        #expect(isNotForFastLane(endless))
        // Hummingbird's decoder takes at most 1,000 fields.
        let many = Array(repeating: "a: b", count: 998) + ["Content-Length: 2"]
        #expect(!isNotForFastLane(Self.wire(many + ["b: c"], body: "{}")))
        #expect(isNotForFastLane(Self.wire(many + ["b: c", "c: d"], body: "{}")))
    }

    /// What `read` makes of `text`'s head, as the fields a call is decided from.
    func fields(_ head: FastLaneRequestHead) -> [String] {
        [head.endpoint.path, head.authorization ?? "-", "\(head.helicone)", "\(head.headLength)", "\(head.contentLength)",
         "\(head.contentLengthDigits)"]
    }

    @Test("a head that is the last one's but for its Content-Length digits is known again, as read gives it; any other is not")
    func recentHead() throws {
        let lines = ["Host: gw", "Authorization: Bearer sk-sluice-dev-x", "Helicone-User-Id: alice", "Helicone-Property-Team: search"]
        func wire(_ length: String, _ extra: [String] = [], body: String = "") -> String {
            Self.wire(lines + ["Content-Length: \(length)"] + extra, body: body)
        }
        let first = wire("38", ["Accept: */*"], body: Self.body)
        let recent = FastLaneRequestHead.Recent(try request(first), from: ByteBuffer(string: first))
        func reread(_ text: String, maxBodyBytes: Int = 1 << 20) -> FastLaneRequestHead? {
            recent.reread(ByteBuffer(string: text), maxBodyBytes: maxBodyBytes)
        }
        // The same head, with longer, shorter and padded lengths, followed by anything.
        for length in ["38", "7", "123456", "000000000000000009", "999999"] {
            let text = wire(length, ["Accept: */*"], body: "{\"x\":1} and more")
            let again = try #require(reread(text), "\(length)")
            #expect(fields(again) == fields(try request(text)))
        }
        // Anything else is not this head: a field more or less, another value, another length's
        // shape, an incomplete head, a body over the limit.
        let others = [
            wire("38"), wire("38", ["Accept: */*", "X-More: 1"]), wire("38", ["Accept: */+"]), wire("38 ", ["Accept: */*"]),
            wire("3 8", ["Accept: */*"]), wire("", ["Accept: */*"]), wire("+3", ["Accept: */*"]),
            wire("1234567890123456789", ["Accept: */*"]),
            first.replacingOccurrences(of: "alice", with: "alicf"), first.replacingOccurrences(of: "Host", with: "host"),
            first.replacingOccurrences(of: "/chat/completions", with: "/embeddings"),
        ]
        for text in others {
            #expect(reread(text) == nil, "\(text.debugDescription)")
        }
        let firstHead = String(first.utf8.prefix(try request(first).headLength))!
        for cut in 0..<firstHead.utf8.count {
            #expect(reread(String(firstHead.utf8.prefix(cut))!) == nil)
        }
        #expect(reread(wire("39", ["Accept: */*"]), maxBodyBytes: 38) == nil)
        #expect(reread(wire("38", ["Accept: */*"]), maxBodyBytes: 38) != nil)
    }

    @Test("a longer length that takes a remembered head past the head size limit is not known again")
    func recentHeadAtTheLimit() throws {
        func wire(_ padding: Int, _ length: String) -> String {
            Self.wire(["X-Pad: " + String(repeating: "p", count: padding), "Content-Length: \(length)"], body: "")
        }
        // Padded so that the head is exactly the largest one read.
        let padding = FastLaneRequestHead.maxHeadBytes - wire(0, "2").utf8.count
        let atLimit = wire(padding, "2")
        let head = try request(atLimit)
        #expect(head.headLength == FastLaneRequestHead.maxHeadBytes)
        let recent = FastLaneRequestHead.Recent(head, from: ByteBuffer(string: atLimit))
        let longer = wire(padding, "100") + "{}"
        #expect(isNotForFastLane(longer))
        #expect(recent.reread(ByteBuffer(string: longer), maxBodyBytes: 1 << 20) == nil)
        #expect(recent.reread(ByteBuffer(string: wire(padding, "7")), maxBodyBytes: 1 << 20)?.contentLength == 7)
    }
}
