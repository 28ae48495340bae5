/// An error Sluice answers with, in the OpenAI error shape.
///
/// Every layer throws its own typed errors; they are turned into a `GatewayError` once, at the
/// HTTP edge, so the status, code and wording of SPEC §3 live in one place.
public struct GatewayError: Error, Sendable, Equatable {
    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.type == rhs.type && lhs.message == rhs.message
            && lhs.param == rhs.param && lhs.retryAfterSeconds == rhs.retryAfterSeconds
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }

    /// HTTP status code.
    public var status: Int
    /// The OpenAI-style `error.code`; a string because provider 4xx keep the provider's own code.
    public var code: String
    /// The OpenAI-style `error.type`.
    public var type: String
    /// A sentence that says what went wrong and where, written for the caller.
    public var message: String
    /// The request parameter at fault, when there is one.
    public var param: String?
    /// Seconds for the `Retry-After` header, when one applies.
    public var retryAfterSeconds: Int?
    /// Further response headers (the rate-limit headers of a 429), as name and value.
    public var headers: [(name: String, value: String)] = []

    /// An error with one of Sluice's own codes; the type follows from the status.
    public init(status: Int, code: ErrorCode, message: String, param: String? = nil, retryAfterSeconds: Int? = nil) {
        self.init(status: status, code: code.rawValue, type: Self.type(forStatus: status), message: message,
                  param: param, retryAfterSeconds: retryAfterSeconds)
    }

    /// An error with an arbitrary code and type, as passed through from a provider.
    public init(status: Int, code: String, type: String, message: String, param: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The OpenAI `error.type` that SDKs expect for a status.
    public static func type(forStatus status: Int) -> String {
        switch status {
        case 401: return "authentication_error"
        case 402: return "insufficient_quota"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 429: return "rate_limit_error"
        case 400..<500: return "invalid_request_error"
        default: return "server_error"
        }
    }

    /// The JSON body `{"error": {"message", "type", "code", "param"}}`.
    public var jsonBody: String {
        var out = "{\"error\":{\"message\":"
        JSONText.appendString(message, to: &out)
        out += ",\"type\":"
        JSONText.appendString(type, to: &out)
        out += ",\"code\":"
        JSONText.appendString(code, to: &out)
        out += ",\"param\":"
        if let param { JSONText.appendString(param, to: &out) } else { out += "null" }
        out += "}}"
        return out
    }
}

extension GatewayError {
    public static func invalidAPIKey(_ message: String = "Invalid API key: send `Authorization: Bearer sk-sluice-...` with a key that exists, is not revoked and has not expired") -> GatewayError {
        GatewayError(status: 401, code: .invalidAPIKey, message: message)
    }

    public static func requestTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, code: .requestTooLarge, message: "Request body is larger than the limit of \(limit) bytes (server.max_body_bytes)")
    }

    public static func invalidJSON(_ detail: String) -> GatewayError {
        GatewayError(status: 400, code: .invalidJSON, message: "Request body is not valid JSON: \(detail)")
    }

    public static func invalidRequest(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(status: 422, code: .invalidRequest, message: message, param: param)
    }

    public static func modelNotFound(_ model: String) -> GatewayError {
        GatewayError(status: 404, code: .modelNotFound,
                     message: "The model \"\(model)\" does not exist on this gateway; GET /v1/models lists the models this key may use",
                     param: "model")
    }

    public static func modelNotAllowed(_ model: String, preset: String) -> GatewayError {
        GatewayError(status: 403, code: .modelNotAllowed,
                     message: "The model \"\(model)\" is not allowed for this key (preset \"\(preset)\"); GET /v1/models lists the models this key may use",
                     param: "model")
    }
}

extension GatewayError: CustomStringConvertible {
    /// The message alone, as the command line prints it.
    public var description: String { message }
}
