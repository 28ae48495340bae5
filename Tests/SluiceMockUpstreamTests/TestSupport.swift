import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceMockUpstream
import Testing

/// The mock as the tests run it: bound to loopback, any free port.
func mockApp(_ options: MockUpstreamOptions = .init()) -> some ApplicationProtocol {
    MockUpstream.makeApplication(options: options, host: "127.0.0.1", port: 0)
}

/// A JSON request body from a literal object (built before any `@Sendable` closure captures it).
func jsonBody(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

/// A chat request with one user message per entry of `contents`.
func chatBody(_ contents: [String], model: String = "gpt-4o", _ extra: [String: Any] = [:]) throws -> ByteBuffer {
    var object: [String: Any] = ["model": model, "messages": contents.map { ["role": "user", "content": $0] }]
    object.merge(extra) { $1 }
    return try jsonBody(object)
}

extension TestClientProtocol {
    /// POSTs a JSON body to `uri`.
    func post(_ uri: String, _ body: ByteBuffer) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json", .authorization: "Bearer sk-test"], body: body)
    }
}

/// The response body as a JSON object.
func jsonObject(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
}

/// Reads `path` (keys and array indices) out of a JSON object.
func value(_ object: Any?, _ path: Any...) -> Any? {
    var current = object
    for step in path {
        switch step {
        case let key as String: current = (current as? [String: Any])?[key]
        case let index as Int:
            guard let array = current as? [Any], array.indices.contains(index) else { return nil }
            current = array[index]
        default: return nil
        }
    }
    return current
}

/// The payloads of the `data: ` events of an SSE body, in order; asserts the framing.
func ssePayloads(_ text: String) -> [String] {
    let events = text.components(separatedBy: "\n\n")
    #expect(events.last == "", "the body must end with a blank line")
    return events.dropLast().map { event in
        #expect(event.hasPrefix("data: "), "unexpected event \(event)")
        return String(event.dropFirst(6))
    }
}

/// The SSE payloads that are JSON chunks (everything but `[DONE]`), parsed.
func chunkObjects(_ payloads: [String]) throws -> [[String: Any]] {
    try payloads.filter { $0 != "[DONE]" }.map { try jsonObject(ByteBuffer(string: $0)) }
}

/// The reply the mock makes of `count` words.
func expectedReply(_ count: Int) -> String {
    let words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split(separator: " ")
    return (0..<count).map { String(words[$0 % words.count]) }.joined(separator: " ")
}

/// A `mock.id` value no other test uses.
func uniqueID() -> String {
    UUID().uuidString.lowercased()
}
