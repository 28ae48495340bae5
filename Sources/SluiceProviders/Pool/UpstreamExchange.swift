import NIOCore
import NIOHTTP1

/// One request for `UpstreamConnectionPool`: everything but the connection.
public struct UpstreamExchange: Sendable {
    public let origin: ProviderOrigin
    /// Path and query, e.g. `/v1/chat/completions`.
    public let target: String
    /// The request's headers, with the `Host` and `Content-Length` the initializer adds: built
    /// whole here, so sending (or sending again) adds nothing and copies nothing.
    public let headers: HTTPHeaders
    public let body: ByteBuffer
    /// Bounds the whole exchange, from taking a connection to the last body byte.
    public let timeout: TimeAmount
    /// A longer answer fails the exchange (the connection is closed).
    public let maxAnswerBytes: Int

    /// `headers` are the request's own; given uniquely (`consume`) with room for two more
    /// (`reserveCapacity`), they are completed in place.
    public init(origin: ProviderOrigin, target: String, headers: consuming HTTPHeaders, body: ByteBuffer, timeout: TimeAmount,
                maxAnswerBytes: Int) {
        headers.add(name: "Host", value: origin.authority)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
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
    /// `Content-Type`, the one field a relayed 2xx answer needs.
    public var contentType: String?
    public var body: ByteBuffer
    /// The header section as received (checked by `ProviderAnswerParser`).
    let fields: ByteBuffer

    /// Every header field, in order: made from the received bytes when asked for (a failed
    /// attempt's `Retry-After` and error headers), not for every answer.
    public var headers: HTTPHeaders { ProviderAnswerParser.headers(fromFields: fields) }

    init(_ answer: ProviderAnswerParser.Answer) {
        self.status = answer.status
        self.contentType = answer.contentType
        self.body = answer.body
        self.fields = answer.fields
    }
}

/// What one exchange came to. `tooLarge` is an answer longer than `maxAnswerBytes`.
public enum UpstreamExchangeResult: Sendable {
    case answered(UpstreamAnswerBytes)
    case failed(UpstreamFailure)
    case tooLarge
}
