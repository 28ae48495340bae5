import NIOCore
import NIOHTTP1

/// One request for `UpstreamConnectionPool`: everything but the connection.
public struct UpstreamExchange: Sendable {
    public let origin: ProviderOrigin
    /// The request line and header section, `Host` and `Content-Length` included: built whole
    /// here, so sending (or sending again) adds nothing and copies nothing.
    let head: ByteBuffer
    public let body: ByteBuffer
    /// Bounds the whole exchange, from taking a connection to the last body byte.
    public let timeout: TimeAmount
    /// A longer answer fails the exchange (the connection is closed).
    public let maxAnswerBytes: Int

    /// A call whose constant head was prepared (`ProviderRequestHead`), with the call's own
    /// `fields` added.
    public init(origin: ProviderOrigin, head: ProviderRequestHead, adding fields: KeyValuePairs<String, String>, body: ByteBuffer,
                timeout: TimeAmount, maxAnswerBytes: Int) {
        self.origin = origin
        self.head = head.complete(adding: fields, bodyLength: body.readableBytes)
        self.body = body
        self.timeout = timeout
        self.maxAnswerBytes = maxAnswerBytes
    }

    /// A `POST` of `body` to `target` (path and query, e.g. `/v1/chat/completions`) with
    /// `headers`; `Host` and `Content-Length` are added.
    public init(origin: ProviderOrigin, target: String, headers: HTTPHeaders, body: ByteBuffer, timeout: TimeAmount, maxAnswerBytes: Int) {
        self.init(origin: origin, head: ProviderRequestHead(origin: origin, target: target, headers: headers), adding: [:], body: body,
                  timeout: timeout, maxAnswerBytes: maxAnswerBytes)
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
