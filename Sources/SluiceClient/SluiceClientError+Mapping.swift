import Foundation

extension SluiceClientError {
    /// The message Sluice's daily-token-cap 429 carries, exactly (SPEC §4).
    public static let dailyCapMessage = "Daily token cap reached"

    /// The prefix of Sluice's other 429 messages, followed by the refusing limit.
    static let rateLimitPrefix = "Rate limit exceeded: "

    /// The typed error for an error answer. Pure: `now` is only used to turn `Retry-After` into
    /// a daily-cap reset time and to read an HTTP-date `Retry-After`.
    ///
    /// - Parameters:
    ///   - status: the HTTP status (expected ≥ 400; anything outside 4xx maps to `.upstream`).
    ///   - headers: the answer's headers; names are matched case-insensitively.
    ///   - body: the answer's body, OpenAI-shaped or not.
    ///   - now: the time the answer arrived.
    public static func from(status: Int, headers: [String: String], body: [UInt8], now: Date) -> SluiceClientError {
        let fields = OpenAIErrorBody(body)
        let info = Info(
            status: status,
            code: fields.code,
            type: fields.type,
            message: fields.message ?? "HTTP \(status)",
            param: fields.param,
            requestID: header("X-Request-Id", in: headers)
        )
        switch status {
        case 429:
            let retryAfter = RetryAfter.parse(header("Retry-After", in: headers), now: now)
            if fields.message == dailyCapMessage {
                return .dailyTokenCapReached(resetsAt: resetTime(after: retryAfter, now: now), info: info)
            }
            return .rateLimited(retryAfter: retryAfter, limit: limitName(in: fields.message), info: info)
        case 401: return .authentication(info: info)
        case 402: return .insufficientCredits(info: info)
        case 403: return .permissionDenied(info: info)
        case 404: return .notFound(info: info)
        case 400..<500: return .invalidRequest(info: info)
        default: return .upstream(info: info)
        }
    }

    /// When the daily cap frees up: `now + Retry-After`, which Sluice sets to the seconds until
    /// 00:00 UTC. Without the header, the next 00:00 UTC itself, which is what SPEC §4 promises.
    static func resetTime(after retryAfter: Duration?, now: Date) -> Date {
        if let retryAfter {
            return now.addingTimeInterval(TimeInterval(retryAfter.components.seconds))
        }
        let day: TimeInterval = 86_400
        return Date(timeIntervalSince1970: ((now.timeIntervalSince1970 / day).rounded(.down) + 1) * day)
    }

    /// The refusing limit from `Rate limit exceeded: <limit>`; nil for other servers' wording.
    static func limitName(in message: String?) -> String? {
        guard let message, message.hasPrefix(rateLimitPrefix) else { return nil }
        let name = message.dropFirst(rateLimitPrefix.count).trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? nil : name
    }

    /// The first value of header `name`, compared case-insensitively as HTTP requires.
    static func header(_ name: String, in headers: [String: String]) -> String? {
        if let exact = headers[name] { return exact }
        return headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
