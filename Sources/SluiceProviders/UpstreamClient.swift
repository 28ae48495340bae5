import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SluiceCore

/// Sends OpenAI-compatible requests to providers over a shared connection pool.
public final class UpstreamClient: Sendable {
    let http: HTTPClient

    /// A client with its own connection pool, sized for a gateway's load.
    /// `tls` verifies `https` providers (nil: AsyncHTTPClient's default, the system's trust roots).
    public init(eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup, tls: TLSConfiguration? = nil) {
        var configuration = HTTPClient.Configuration()
        if let tls { configuration.tlsConfiguration = tls }
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // A connection that cannot be made fails the attempt at once: the gateway's retry loop
        // (backoff, cooldowns, fallbacks) decides what next. AsyncHTTPClient's own retrying would
        // hold every attempt at a refusing or untrusted provider until the attempt's deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.decompression = .disabled
        // Redirects would replay a POST somewhere the operator did not configure.
        configuration.redirectConfiguration = .disallow
        // No tracer: the default no-op one still wraps every call in a span (about 2% of a
        // proxied request's CPU time in the benchmark).
        configuration.tracing.tracer = nil
        self.http = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Starts a call and returns once the response head has arrived; the body is then streamed
    /// by the caller. `headerTimeout` bounds the wait for the head only.
    public func send(path: String, body: ByteBuffer, to target: UpstreamTarget, requestID: String,
                     headerTimeout: TimeAmount, logger: Logger) async throws(UpstreamFailure) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: target.url(for: path))
        request.method = .POST
        request.headers = target.requestHeaders(requestID: requestID)
        request.body = .bytes(body)
        do {
            return try await http.execute(request, timeout: headerTimeout, logger: logger)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw error == .connectTimeout ? .connection("connecting to \(target.providerName) timed out") : .timeout
        } catch {
            throw .connection("\(target.providerName): \(UpstreamFailure.reason(error))")
        }
    }

    /// Closes every pooled connection.
    public func shutdown() async throws {
        try await http.shutdown()
    }
}
