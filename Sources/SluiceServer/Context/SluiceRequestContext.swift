import Hummingbird
import Synchronization

/// The per-request context: Hummingbird's core storage, Sluice's request id, and what the
/// handler learned for the request's log line.
public struct SluiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `req_…`, sent back as `X-Request-Id` and stored in the usage row.
    public let requestID: String
    /// Filled in by handlers, read by the edge middleware for the log line.
    let trace: RequestTrace

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = RequestID.make()
        self.trace = RequestTrace()
    }
}

/// What a handler found out about a request (key, model, attempts) for the one log line the
/// edge middleware writes. A reference, since contexts are passed by value.
final class RequestTrace: Sendable {
    struct Fields: Sendable {
        /// Set when the request id was made before the context (a fast-lane handover).
        var requestID: String?
        var keyID: String?
        var model: String?
        var servedModel: String?
        var attempts: Int?
        var streamed = false
    }

    private let fields: Mutex<Fields>

    init(_ fields: Fields = Fields()) {
        self.fields = Mutex(fields)
    }

    func update(_ change: (inout Fields) -> Void) {
        fields.withLock { change(&$0) }
    }

    var snapshot: Fields { fields.withLock { $0 } }
}
