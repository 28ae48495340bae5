import Foundation
import SluiceCore
import Testing

@Suite("GatewayError")
struct GatewayErrorTests {
    @Test("the JSON body has the OpenAI error shape with param null when there is none")
    func bodyWithNullParam() throws {
        let error = GatewayError(status: 429, code: .rateLimitExceeded, message: "Rate limit \"rpm\" reached\nwait", retryAfterSeconds: 3)
        let object = try foundationObject(Array(error.jsonBody.utf8))
        #expect(object.allKeys as? [String] == ["error"])
        let inner = try #require(object["error"] as? NSDictionary)
        #expect(Set(inner.allKeys as? [String] ?? []) == ["message", "type", "code", "param"])
        #expect(inner["message"] as? String == "Rate limit \"rpm\" reached\nwait")
        #expect(inner["type"] as? String == "rate_limit_error")
        #expect(inner["code"] as? String == "rate_limit_exceeded")
        #expect(inner["param"] is NSNull)
        #expect(error.jsonBody == #"{"error":{"message":"Rate limit \"rpm\" reached\nwait","type":"rate_limit_error","code":"rate_limit_exceeded","param":null}}"#)
    }

    @Test("a param is written as a string")
    func bodyWithParam() throws {
        let error = GatewayError.invalidRequest("bad \\ field", param: "max_tokens")
        let inner = try #require(try foundationObject(Array(error.jsonBody.utf8))["error"] as? NSDictionary)
        #expect(inner["param"] as? String == "max_tokens")
        #expect(inner["message"] as? String == "bad \\ field")
        #expect(inner["code"] as? String == "invalid_request")
        #expect(inner["type"] as? String == "invalid_request_error")
    }

    @Test("a provider's own code and type pass through")
    func passThrough() throws {
        let error = GatewayError(status: 409, code: "conflict_x", type: "provider_type", message: "m")
        let inner = try #require(try foundationObject(Array(error.jsonBody.utf8))["error"] as? NSDictionary)
        #expect(inner["code"] as? String == "conflict_x")
        #expect(inner["type"] as? String == "provider_type")
    }

    @Test("the error type follows the status as OpenAI SDKs expect", arguments: [
        (400, "invalid_request_error"), (401, "authentication_error"), (402, "insufficient_quota"), (403, "permission_error"),
        (404, "not_found_error"), (409, "invalid_request_error"), (413, "invalid_request_error"), (422, "invalid_request_error"),
        (429, "rate_limit_error"), (500, "server_error"), (502, "server_error"), (503, "server_error"), (504, "server_error"),
    ])
    func typeForStatus(status: Int, type: String) {
        #expect(GatewayError.type(forStatus: status) == type)
    }

    @Test("the named errors carry SPEC §3's status, code and param")
    func namedErrors() {
        let cases: [(GatewayError, Int, String, String?)] = [
            (.invalidAPIKey(), 401, "invalid_api_key", nil),
            (.requestTooLarge(limit: 10), 413, "request_too_large", nil),
            (.invalidJSON("x at byte 3"), 400, "invalid_json", nil),
            (.invalidRequest("m"), 422, "invalid_request", nil),
            (.modelNotFound("gpt-9"), 404, "model_not_found", "model"),
            (.modelNotAllowed("gpt-4o", preset: "dev"), 403, "model_not_allowed", "model"),
        ]
        for (error, status, code, param) in cases {
            #expect(error.status == status)
            #expect(error.code == code)
            #expect(error.param == param)
            #expect(error.type == GatewayError.type(forStatus: status))
        }
        #expect(GatewayError.modelNotFound("gpt-9").message.contains("GET /v1/models"))
        #expect(GatewayError.requestTooLarge(limit: 10).message.contains("10 bytes"))
        #expect(GatewayError.invalidJSON("x at byte 3").message == "Request body is not valid JSON: x at byte 3")
    }

    @Test("error codes are the strings of SPEC §3")
    func codes() {
        #expect(ErrorCode.allCases.map(\.rawValue).allSatisfy { $0 == $0.lowercased() && !$0.contains(" ") })
        #expect(ErrorCode.counterStoreUnavailable.rawValue == "counter_store_unavailable")
        #expect(ErrorCode.missingUserID.rawValue == "missing_user_id")
        #expect(Set(ErrorCode.allCases.map(\.rawValue)).count == ErrorCode.allCases.count)
    }
}

@Suite("Usage grouping")
struct UsageGroupingTests {
    @Test("each --by value parses and prints back", arguments: [
        ("key", UsageGrouping.key), ("model", .model), ("account", .account), ("env", .environment), ("user", .user),
        ("property:team", .property("team")),
    ])
    func parse(text: String, grouping: UsageGrouping) {
        #expect(UsageGrouping(parsing: text) == grouping)
        #expect(grouping.description == text)
    }

    @Test("property names are lower-cased")
    func propertyLowercased() {
        #expect(UsageGrouping(parsing: "property:Team") == .property("team"))
        #expect(UsageGrouping(parsing: "property:Team")?.description == "property:team")
    }

    @Test("anything else is refused", arguments: ["", "keys", "Key", "environment", "property:", "property", "prop:team", " key"])
    func refused(text: String) {
        #expect(UsageGrouping(parsing: text) == nil)
    }
}
