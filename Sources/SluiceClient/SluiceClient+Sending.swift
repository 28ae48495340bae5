import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension SluiceClient {
    /// The most of an error body read: enough for any OpenAI-shaped error.
    static let maxErrorBody = 1 << 20
    /// The most of a JSON answer read (an embeddings batch can be large).
    static let maxAnswerBody = 64 << 20

    /// One non-streamed call: admitted, then attempts paced and retried until one succeeds or
    /// the policy says throw.
    func call<T>(_ attempt: () async throws -> T) async throws -> T {
        try await withAdmission {
            var number = 1
            while true {
                try await pace()
                do {
                    return try await attempt()
                } catch {
                    let typed = SluiceClientError.wrap(error)
                    guard case .retry(let wait) = configuration.retryPolicy.decide(attempt: number, error: typed) else { throw typed }
                    try await configuration.sleep(wait)
                    number += 1
                }
            }
        }
    }

    /// One attempt: sends, learns the pace from the answer, and decodes a 2xx body or throws
    /// the typed error of any other status.
    func send<T: Decodable>(_ method: HTTPMethod, _ path: String, body: [UInt8]?, as type: T.Type) async throws -> T {
        let response = try await open(method, path, body: body)
        let bytes = try await response.body.collect(upTo: Self.maxAnswerBody)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
        } catch {
            // A 2xx the client cannot read is the server's fault, not worth a retry.
            throw SluiceClientError.upstream(info: .init(
                status: Int(response.status.code), message: "Undecodable answer: \(error)",
                requestID: response.headers.first(name: "X-Request-Id")))
        }
    }

    /// Sends and returns a 2xx answer with its body unread; any other status is read and thrown
    /// as its ``SluiceClientError``.
    func open(_ method: HTTPMethod, _ path: String, body: [UInt8]?) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request(method, path, body: body), timeout: .init(configuration.requestTimeout))
        } catch {
            throw SluiceClientError.wrap(error)
        }
        learn(policy: response.headers.first(name: "RateLimit-Policy"), rateLimit: response.headers.first(name: "RateLimit"))
        guard (200..<300).contains(response.status.code) else {
            let bytes = (try? await response.body.collect(upTo: Self.maxErrorBody)) ?? ByteBuffer()
            var headers: [String: String] = [:]
            for (name, value) in response.headers where headers[name] == nil { headers[name] = value }
            throw SluiceClientError.from(status: Int(response.status.code), headers: headers,
                                         body: Array(bytes.readableBytesView), now: Date())
        }
        return response
    }
}

extension TimeAmount {
    /// A Swift `Duration` as NIO's time amount, saturating rather than trapping.
    init(_ duration: Duration) {
        self = .nanoseconds(duration.clampedNanoseconds)
    }
}
