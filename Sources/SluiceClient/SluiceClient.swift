import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The Swift client of Sluice and of any OpenAI-compatible API (SPEC §9): chat (plain and
/// streamed), embeddings and models, with Sluice's limits handled for the caller. Every call
/// waits for a slot in a bounded queue, is paced below the key's RPM, and is retried or thrown
/// as ``ClientRetryPolicy`` decides; errors are typed (``SluiceClientError``).
public final class SluiceClient: Sendable {
    /// The API root, e.g. `http://localhost:8080/v1`, without a trailing slash.
    public let baseURL: String
    public let configuration: SluiceClientConfiguration
    let http: HTTPClient
    /// Whether ``shutdown()`` must shut `http` down: only a client this one created.
    private let ownsHTTPClient: Bool
    /// Kept out of `description` and logs; only the `Authorization` header carries it.
    private let apiKey: String
    let state: NIOLockedValueBox<State>

    /// The mutable part, behind one lock: pacing and admission decide together with no await.
    struct State {
        var pacer: RequestPacer<ContinuousClock.Instant>
        var queue: AdmissionQueue<UInt64>
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextTicket: UInt64 = 0
    }

    /// Creates a client for `baseURL` (the API root including `/v1`) with `apiKey`. Pass an
    /// `httpClient` to share a connection pool; otherwise the client makes its own, which
    /// ``shutdown()`` closes.
    public init(baseURL: String, apiKey: String, configuration: SluiceClientConfiguration = .init(), httpClient: HTTPClient? = nil) {
        var root = baseURL
        while root.hasSuffix("/") { root.removeLast() }
        self.baseURL = root
        self.apiKey = apiKey
        self.configuration = configuration
        self.ownsHTTPClient = httpClient == nil
        self.http = httpClient ?? HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(timeout: .init(connect: .init(configuration.connectTimeout))))
        let fixed: Double? = if case .fixed(let rpm) = configuration.pacing { rpm } else { nil }
        self.state = NIOLockedValueBox(State(
            pacer: RequestPacer(requestsPerMinute: fixed, targetFraction: configuration.targetFraction),
            queue: AdmissionQueue(capacity: configuration.queueCapacity, maxConcurrency: configuration.maxConcurrent)))
    }

    /// Closes the HTTP client if this client created it; a shared one is the caller's to close.
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    /// The RPM the client paces at now (configured or learned); nil when not pacing.
    public var pacedRequestsPerMinute: Double? {
        state.withLockedValue { $0.pacer.requestsPerMinute }
    }

    /// `POST /chat/completions`, not streamed.
    public func chat(_ request: ChatCompletionRequest) async throws(SluiceClientError) -> ChatCompletion {
        var request = request
        request.stream = false
        request.streamOptions = nil
        let body = try Self.encode(request)
        return try await Self.typed {
            try await self.call { try await self.send(.POST, "/chat/completions", body: body, as: ChatCompletion.self) }
        }
    }

    /// `POST /embeddings`.
    public func embeddings(_ request: EmbeddingRequest) async throws(SluiceClientError) -> EmbeddingResponse {
        let body = try Self.encode(request)
        return try await Self.typed {
            try await self.call { try await self.send(.POST, "/embeddings", body: body, as: EmbeddingResponse.self) }
        }
    }

    /// `GET /models`.
    public func models() async throws(SluiceClientError) -> ModelList {
        try await Self.typed {
            try await self.call { try await self.send(.GET, "/models", body: nil, as: ModelList.self) }
        }
    }

    /// Runs `body` and throws whatever it threw as a ``SluiceClientError``.
    static func typed<T>(_ body: () async throws -> T) async throws(SluiceClientError) -> T {
        do { return try await body() } catch { throw SluiceClientError.wrap(error) }
    }

    /// JSON of a request; a failure is the caller's request being unencodable (e.g. a NaN
    /// temperature), so `.invalidRequest` without an HTTP status.
    static func encode(_ value: some Encodable) throws(SluiceClientError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(value)) } catch {
            throw .invalidRequest(info: .init(status: 0, message: "Unencodable request: \(error)"))
        }
    }

    /// The request to `path` with the key, JSON and `body`.
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }
}

extension SluiceClient: CustomStringConvertible {
    /// Never shows the key.
    public var description: String { "SluiceClient(\(baseURL), key: *****)" }
}
