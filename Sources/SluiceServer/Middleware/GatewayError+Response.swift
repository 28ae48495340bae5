import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore

extension GatewayError {
    /// The error as an HTTP response in the OpenAI shape; the single place errors are rendered.
    func response() -> Response {
        Response(status: .init(code: status), headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(string: jsonBody)))
    }

    /// The headers of `response()`: JSON, Retry-After when there is one, and the error's own.
    var responseHeaders: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = retryAfterSeconds {
            headers[.retryAfter] = String(max(1, retryAfter))
        }
        for header in self.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return headers
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let servedModel = Self("Sluice-Served-Model")!
    static let attempts = Self("Sluice-Attempts")!
    static let fallbackFrom = Self("Sluice-Fallback-From")!
}
