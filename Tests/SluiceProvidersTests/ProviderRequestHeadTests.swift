import NIOCore
import NIOHTTP1
@testable import SluiceProviders
import Testing

@Suite("Provider request head")
struct ProviderRequestHeadTests {
    let origin = ProviderOrigin(baseURL: "http://127.0.0.1:8080/v1")!

    @Test("the prepared part, then the call's own fields and its Content-Length, then the empty line")
    func complete() {
        let head = ProviderRequestHead(origin: origin, target: "/v1/chat/completions",
                                       headers: ["Content-Type": "application/json", "Authorization": "Bearer sk-1"])
        #expect(String(buffer: head.complete(adding: ["X-Request-Id": "req_1"], bodyLength: 190)) ==
            "POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-1\r\n"
            + "Host: 127.0.0.1:8080\r\nX-Request-Id: req_1\r\nContent-Length: 190\r\n\r\n")
        // The prepared part is shared by every call, never written into.
        #expect(String(buffer: head.complete(adding: [:], bodyLength: 0)) ==
            "POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-1\r\n"
            + "Host: 127.0.0.1:8080\r\nContent-Length: 0\r\n\r\n")
    }

    @Test("an exchange built from target and headers carries the same head as one built from a prepared head")
    func exchangeInitializers() {
        let body = ByteBuffer(string: "{}")
        let plain = UpstreamExchange(origin: origin, target: "/v1/embeddings", headers: ["Accept": "*/*"], body: body, timeout: .seconds(1),
                                     maxAnswerBytes: 10)
        let prepared = UpstreamExchange(origin: origin, head: ProviderRequestHead(origin: origin, target: "/v1/embeddings", headers: ["Accept": "*/*"]),
                                        adding: [:], body: body, timeout: .seconds(1), maxAnswerBytes: 10)
        #expect(plain.head == prepared.head)
        #expect(String(buffer: plain.head) == "POST /v1/embeddings HTTP/1.1\r\nAccept: */*\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\n\r\n")
    }
}
