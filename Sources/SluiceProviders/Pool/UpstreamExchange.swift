import NIOCore
import NIOHTTP1

/// One request for `UpstreamConnectionPool`: everything but the connection.
public struct UpstreamExchange: Sendable {
    public var origin: PlainHTTPOrigin
    /// Path and query, e.g. `/v1/chat/completions`.
    public var target: String
    /// The request's headers but `Host` and `Content-Length`, which the pool adds.
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// Bounds the whole exchange, from taking a connection to the last body byte.
    public var timeout: TimeAmount
    /// A longer answer fails the exchange (the connection is closed).
    public var maxAnswerBytes: Int

    public init(origin: PlainHTTPOrigin, target: String, headers: HTTPHeaders, body: ByteBuffer, timeout: TimeAmount, maxAnswerBytes: Int) {
        self.origin = origin
        self.target = target
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxAnswerBytes = maxAnswerBytes
    }
}

/// A provider's whole answer to one exchange.
public struct UpstreamAnswerBytes: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
}

/// What one exchange came to. `tooLarge` is an answer longer than `maxAnswerBytes`.
public enum UpstreamExchangeResult: Sendable {
    case answered(UpstreamAnswerBytes)
    case failed(UpstreamFailure)
    case tooLarge
}
