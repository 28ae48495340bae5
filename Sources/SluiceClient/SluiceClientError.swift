import Foundation

/// What a call through Sluice (or any OpenAI-compatible API) failed with, typed so that callers
/// can tell "wait and try again" from "fix the request" from "stop for today" (SPEC §9).
///
/// Every case but `.transport`, `.queueFull` and `.cancelled` carries the answer's ``Info``: its status, the OpenAI error
/// `code`, `type`, `message` and `param`, and the `X-Request-Id` to quote in a support request.
public enum SluiceClientError: Error, Sendable, Equatable {
    /// 429 from a rolling limit. `retryAfter` is the server's `Retry-After` (nil when it sent
    /// none); `limit` is the refusing limit as Sluice's message names it (`rpm`, `header-1`, …).
    case rateLimited(retryAfter: Duration?, limit: String?, info: Info)
    /// 429 from the daily token cap: nothing will be admitted before `resetsAt` (00:00 UTC), so
    /// this is thrown at once rather than slept through.
    case dailyTokenCapReached(resetsAt: Date, info: Info)
    /// 402: the key's account balance cannot cover the request.
    case insufficientCredits(info: Info)
    /// 400, 409, 413, 422 and any other 4xx not listed here: the request itself is wrong.
    case invalidRequest(info: Info)
    /// 401: missing, unknown, revoked or expired key.
    case authentication(info: Info)
    /// 403: the key may not use this model.
    case permissionDenied(info: Info)
    /// 404: the model (or route) does not exist.
    case notFound(info: Info)
    /// 5xx (or any status outside 4xx): the provider or the gateway failed. Only 502, 503 and
    /// 504 are retried (``ClientRetryPolicy``).
    case upstream(info: Info)
    /// No HTTP answer at all: connection refused or reset, TLS failure, timeout before headers.
    case transport(String)
    /// The client's own admission queue was full (``SluiceClientConfiguration/queueCapacity``
    /// waiting, ``SluiceClientConfiguration/maxConcurrent`` running): back-pressure, nothing was
    /// sent. Slow down rather than grow a backlog.
    case queueFull(capacity: Int)
    /// The calling task was cancelled while the call waited, slept or ran.
    case cancelled

    /// The answer's details, the same for every HTTP case.
    public struct Info: Sendable, Equatable {
        /// The HTTP status of the answer.
        public var status: Int
        /// The OpenAI error `code` (`rate_limit_exceeded`, `model_not_found`, …), if any.
        public var code: String?
        /// The OpenAI error `type`, if any.
        public var type: String?
        /// The error message, or a short description of the body when it was not OpenAI-shaped.
        public var message: String
        /// The OpenAI error `param`, if any.
        public var param: String?
        /// The answer's `X-Request-Id`, if any.
        public var requestID: String?

        /// Creates the details of an error answer.
        public init(status: Int, code: String? = nil, type: String? = nil, message: String, param: String? = nil, requestID: String? = nil) {
            self.status = status
            self.code = code
            self.type = type
            self.message = message
            self.param = param
            self.requestID = requestID
        }
    }

    /// The answer's details; nil for `.transport`, `.queueFull` and `.cancelled`, which had no answer.
    public var info: Info? {
        switch self {
        case .rateLimited(_, _, let info), .dailyTokenCapReached(_, let info), .insufficientCredits(let info),
             .invalidRequest(let info), .authentication(let info), .permissionDenied(let info),
             .notFound(let info), .upstream(let info):
            return info
        case .transport, .queueFull, .cancelled:
            return nil
        }
    }

    /// The HTTP status; nil for `.transport`.
    public var status: Int? { info?.status }
}
