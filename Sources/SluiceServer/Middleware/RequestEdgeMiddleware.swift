import HTTPTypes
import Hummingbird
import Logging
import SluiceCore

/// The outermost middleware: renders every error in the OpenAI shape, stamps `X-Request-Id` on
/// every response, and writes the request's one log line.
struct RequestEdgeMiddleware: RouterMiddleware {
    typealias Context = SluiceRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as GatewayError {
            response = error.response()
        } catch let error as any HTTPResponseError {
            response = Self.gatewayError(for: error, request: request).response()
        } catch {
            context.logger.error("unhandled error", metadata: ["sluice.request_id": "\(context.requestID)", "sluice.error": "\(String(reflecting: error))"])
            response = GatewayError(status: 500, code: .internalError, message: "Internal error; the request id is \(context.requestID)").response()
        }
        let fields = context.trace.snapshot
        // A request the fast lane handed over keeps the id it was given there.
        let requestID = fields.requestID ?? context.requestID
        response.headers[.requestID] = requestID
        RequestLogLine(requestID: requestID, method: request.method.rawValue, path: request.uri.path, status: Int(response.status.code),
                       elapsed: ContinuousClock.now - started, fields: fields)
            .write(to: context.logger)
        return response
    }

    static func gatewayError(for error: any HTTPResponseError, request: Request) -> GatewayError {
        let status = Int(error.status.code)
        switch status {
        case 404:
            return GatewayError(status: 404, code: .notFound, message: "No such endpoint: \(request.method) \(request.uri.path)")
        case 405:
            return GatewayError(status: 405, code: .invalidRequest, message: "Method \(request.method) is not allowed on \(request.uri.path)")
        default:
            return GatewayError(status: status, code: status >= 500 ? .internalError : .invalidRequest, message: error.status.reasonPhrase)
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
