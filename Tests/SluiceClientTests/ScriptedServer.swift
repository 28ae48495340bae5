import Hummingbird
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SluiceClient

/// A tiny HTTP server on a loopback port that plays a script: the n-th request, whatever its
/// path, gets the n-th ``Answer`` (the last one repeats), and every request is counted. The
/// client's error paths are tested against it with exact statuses, headers and bodies.
final class ScriptedServer: Sendable {
    /// One scripted answer.
    struct Answer: Sendable {
        /// How the body is written.
        enum Body: Sendable {
            /// One buffer, as is.
            case text(String)
            /// `text/event-stream`: each payload as a `data:` event, then the body ends (with no
            /// `[DONE]` unless the script includes it).
            case events([String])
        }

        var status: Int
        var headers: [String: String] = [:]
        var body: Body = .text("")

        /// A JSON answer.
        static func json(_ status: Int, _ body: String, headers: [String: String] = [:]) -> Answer {
            Answer(status: status, headers: headers.merging(["Content-Type": "application/json"]) { old, _ in old }, body: .text(body))
        }

        /// An OpenAI-shaped error answer.
        static func error(_ status: Int, message: String = "scripted", code: String = "scripted", headers: [String: String] = [:]) -> Answer {
            json(status, #"{"error":{"message":"\#(message)","type":"scripted","code":"\#(code)"}}"#, headers: headers)
        }
    }

    let port: Int
    private let counter: NIOLockedValueBox<Int>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// The API root a client is given.
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// Requests answered so far.
    var requests: Int { counter.withLockedValue { $0 } }

    /// Starts a server playing `script` (must not be empty).
    static func start(_ script: [Answer]) async throws -> ScriptedServer {
        precondition(!script.isEmpty)
        var logger = Logger(label: "scripted-server")
        logger.logLevel = .critical
        let counter = NIOLockedValueBox(0)
        let router = Router()
        let respond: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            let index = counter.withLockedValue { count in
                count += 1
                return count - 1
            }
            return Self.response(script[min(index, script.count - 1)])
        }
        router.on("**", method: .get, use: respond)
        router.on("**", method: .post, use: respond)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        return ScriptedServer(port: port, counter: counter, group: group, task: task)
    }

    private init(port: Int, counter: NIOLockedValueBox<Int>, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.counter = counter
        self.group = group
        self.task = task
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    private static func response(_ answer: Answer) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
        switch answer.body {
        case .text(let text):
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
        case .events(let payloads):
            fields[.contentType] = "text/event-stream"
            return Response(status: .init(code: answer.status), headers: fields, body: ResponseBody { writer in
                for payload in payloads { try await writer.write(ByteBuffer(string: "data: \(payload)\n\n")) }
                try await writer.finish(nil)
            })
        }
    }
}

/// Runs `body` with a server playing `script` and a client of it; stops both however it ends.
func withScriptedServer(
    _ script: [ScriptedServer.Answer],
    configuration: SluiceClientConfiguration,
    _ body: (SluiceClient, ScriptedServer) async throws -> Void
) async throws {
    let server = try await ScriptedServer.start(script)
    let client = SluiceClient(baseURL: server.baseURL, apiKey: "sk-scripted", configuration: configuration)
    do {
        try await body(client, server)
    } catch {
        try? await client.shutdown()
        try? await server.stop()
        throw error
    }
    try await client.shutdown()
    try await server.stop()
}
