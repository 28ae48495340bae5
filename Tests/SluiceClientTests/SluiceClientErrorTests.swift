import Foundation
import SluiceClient
import Testing

/// 2026-03-01T12:00:00Z.
private let now = Date(timeIntervalSince1970: 1_772_366_400)

private func body(_ json: String) -> [UInt8] { Array(json.utf8) }

private func openAIError(_ message: String, code: String?, type: String = "invalid_request_error") -> [UInt8] {
    let codeJSON = code.map { "\"\($0)\"" } ?? "null"
    return body(#"{"error":{"message":"\#(message)","type":"\#(type)","code":\#(codeJSON),"param":null}}"#)
}

@Suite("SluiceClientError mapping")
struct SluiceClientErrorTests {
    @Test("the OpenAI error body and X-Request-Id fill the info of every case")
    func infoFromBody() {
        let error = SluiceClientError.from(
            status: 404, headers: ["x-request-id": "req-1"],
            body: body(#"{"error":{"message":"Model \"gpt-9\" not found","type":"invalid_request_error","code":"model_not_found","param":"model","extra":1},"more":true}"#),
            now: now)
        let info = SluiceClientError.Info(status: 404, code: "model_not_found", type: "invalid_request_error",
                                          message: #"Model "gpt-9" not found"#, param: "model", requestID: "req-1")
        #expect(error == .notFound(info: info))
        #expect(error.status == 404)
    }

    @Test("each status maps to its case", arguments: [
        (400, "invalid_request"), (401, "authentication"), (402, "insufficientCredits"), (403, "permissionDenied"),
        (404, "notFound"), (409, "invalid_request"), (413, "invalid_request"), (422, "invalid_request"),
        (500, "upstream"), (502, "upstream"), (503, "upstream"), (504, "upstream"),
    ])
    func statusMapping(status: Int, expected: String) {
        let error = SluiceClientError.from(status: status, headers: [:], body: openAIError("m", code: "c"), now: now)
        let name = switch error {
        case .invalidRequest: "invalid_request"
        case .authentication: "authentication"
        case .insufficientCredits: "insufficientCredits"
        case .permissionDenied: "permissionDenied"
        case .notFound: "notFound"
        case .upstream: "upstream"
        default: "other"
        }
        #expect(name == expected)
        #expect(error.info?.code == "c")
    }

    @Test("a 429 carries Retry-After in seconds and the limit Sluice's message names")
    func rateLimited() {
        let error = SluiceClientError.from(
            status: 429, headers: ["Retry-After": "7", "X-Request-Id": "r"],
            body: openAIError("Rate limit exceeded: rpm", code: "rate_limit_exceeded"), now: now)
        guard case .rateLimited(let retryAfter, let limit, let info) = error else {
            Issue.record("expected rateLimited, got \(error)")
            return
        }
        #expect(retryAfter == .seconds(7))
        #expect(limit == "rpm")
        #expect(info.code == "rate_limit_exceeded")
        #expect(info.requestID == "r")
    }

    @Test("Retry-After as an HTTP-date is the time until it; a past date is zero")
    func retryAfterHTTPDate() {
        let later = SluiceClientError.from(status: 429, headers: ["retry-after": "Sun, 01 Mar 2026 12:00:30 GMT"], body: [], now: now)
        #expect(later == .rateLimited(retryAfter: .seconds(30), limit: nil, info: .init(status: 429, message: "HTTP 429")))
        let past = SluiceClientError.from(status: 429, headers: ["Retry-After": "Sun, 01 Mar 2026 11:00:00 GMT"], body: [], now: now)
        guard case .rateLimited(let retryAfter, _, _) = past else { Issue.record("\(past)"); return }
        #expect(retryAfter == .zero)
    }

    @Test("an unreadable or missing Retry-After is nil, not a guess", arguments: ["soon", "-3", "1.5", ""])
    func retryAfterUnreadable(value: String) {
        let error = SluiceClientError.from(status: 429, headers: ["Retry-After": value], body: [], now: now)
        guard case .rateLimited(let retryAfter, _, _) = error else { Issue.record("\(error)"); return }
        #expect(retryAfter == nil)
    }

    @Test("the daily cap 429 resets at now + Retry-After")
    func dailyCap() {
        let error = SluiceClientError.from(status: 429, headers: ["Retry-After": "43200"],
                                           body: openAIError("Daily token cap reached", code: "rate_limit_exceeded"), now: now)
        guard case .dailyTokenCapReached(let resetsAt, let info) = error else { Issue.record("\(error)"); return }
        #expect(resetsAt == now.addingTimeInterval(43_200))
        #expect(info.message == "Daily token cap reached")
    }

    @Test("a daily cap 429 without Retry-After resets at the next 00:00 UTC")
    func dailyCapWithoutRetryAfter() {
        let error = SluiceClientError.from(status: 429, headers: [:], body: openAIError("Daily token cap reached", code: nil), now: now)
        #expect(error == .dailyTokenCapReached(resetsAt: Date(timeIntervalSince1970: 1_772_409_600),
                                               info: .init(status: 429, type: "invalid_request_error", message: "Daily token cap reached")))
    }

    @Test("only the exact daily-cap message is the daily cap")
    func dailyCapExactMessage() {
        let error = SluiceClientError.from(status: 429, headers: ["Retry-After": "5"],
                                           body: openAIError("Rate limit exceeded: daily-tokens cap reached", code: nil), now: now)
        guard case .rateLimited(_, let limit, _) = error else { Issue.record("\(error)"); return }
        #expect(limit == "daily-tokens cap reached")
    }

    @Test("non-JSON bodies are quoted, shortened, as the message")
    func nonJSONBody() {
        let html = SluiceClientError.from(status: 502, headers: [:], body: body("  <html>Bad Gateway</html>\n"), now: now)
        #expect(html == .upstream(info: .init(status: 502, message: "<html>Bad Gateway</html>")))
        let long = SluiceClientError.from(status: 503, headers: [:], body: body(String(repeating: "x", count: 1000)), now: now)
        #expect(long.info?.message.count == 201)
        let empty = SluiceClientError.from(status: 500, headers: [:], body: [], now: now)
        #expect(empty.info?.message == "HTTP 500")
    }

    @Test("other JSON error shapes: a bare string error, integer codes, no error object")
    func otherShapes() {
        let bare = SluiceClientError.from(status: 400, headers: [:], body: body(#"{"error":"bad input"}"#), now: now)
        #expect(bare == .invalidRequest(info: .init(status: 400, message: "bad input")))
        let integerCode = SluiceClientError.from(status: 400, headers: [:], body: body(#"{"error":{"message":"m","code":400,"param":["x"]}}"#), now: now)
        #expect(integerCode.info?.code == "400")
        #expect(integerCode.info?.param == nil)
        let array = SluiceClientError.from(status: 400, headers: [:], body: body("[1,2]"), now: now)
        #expect(array.info?.message == "[1,2]")
    }

    @Test("transport errors have no status or info")
    func transport() {
        let error = SluiceClientError.transport("connection refused")
        #expect(error.status == nil)
        #expect(error.info == nil)
    }
}
