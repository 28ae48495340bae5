import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SluiceMockUpstream

/// Several `sluice serve` processes sharing one Redis and one PostgreSQL database of their own,
/// in front of one mock provider: what `docs/scale-out.md` tells users to run.
final class ScaleOutCluster: Sendable {
    let instances: [SluiceProcess]
    let folder: String
    let database: String
    let mockPort: Int
    private let mockGroup: ServiceGroup
    private let mockTask: Task<Void, any Error>

    /// Options of one cluster.
    struct Options {
        var instances = 3
        /// `storage.counters`; the shared test Redis when nil.
        var redisURL: String?
        var failureMode = "local"
        /// `storage.counter_timeout_ms`. The longest allowed by default: debug builds on a loaded
        /// machine can stall past the production 250 ms, which would fail the connection and
        /// send an instance to its local counters mid-test; the hung-Redis test sets it short.
        var counterTimeoutMs = 10_000
    }

    static func start(_ options: Options = Options()) async throws -> ScaleOutCluster {
        guard let redis = options.redisURL ?? TestServices.redisURL, let postgres = TestServices.postgresURL else {
            throw SluiceProcessError(message: "no Redis or PostgreSQL to run against")
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (mockPorts, mockContinuation) = AsyncStream.makeStream(of: Int.self)
        let mock = MockUpstream.makeApplication(options: .init(), host: "127.0.0.1", port: 0, logger: logger) { mockContinuation.yield($0) }
        let mockGroup = ServiceGroup(configuration: .init(services: [mock], logger: logger))
        let mockTask = Task { try await mockGroup.run() }
        var ports = mockPorts.makeAsyncIterator()
        let mockPort = await ports.next()!

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-scale-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let database = "sluice_scale_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await psql(postgres, "CREATE DATABASE \(database)")
        let ledgerURL = replacingDatabase(in: postgres, with: database)
        let config = """
            server:
              listen: 127.0.0.1:0
            storage:
              ledger: \(ledgerURL)
              counters: \(redis)
              on_counter_store_failure: \(options.failureMode)
              flush_interval_ms: 50
              counter_timeout_ms: \(options.counterTimeoutMs)
            providers:
              mock: {kind: openai, base_url: "http://127.0.0.1:\(mockPort)/v1"}
            models:
              gpt-4o-mini:
                deployments: [{provider: mock}]
                price: {input_per_mtok: 0.15, output_per_mtok: 0.60}
            presets:
              hundred: {rpm: 100, models: [gpt-4o-mini]}
              thirty: {rpm: 30, models: [gpt-4o-mini]}
              open: {models: [gpt-4o-mini]}
            """
        var instances: [SluiceProcess] = []
        do {
            for index in 0..<options.instances {
                instances.append(try await SluiceProcess.start(name: "sluice-\(index + 1)", config: config, folder: folder))
            }
        } catch {
            for instance in instances { await instance.stop() }
            await mockGroup.triggerGracefulShutdown()
            throw error
        }
        return ScaleOutCluster(instances: instances, folder: folder, database: database, mockPort: mockPort, mockGroup: mockGroup, mockTask: mockTask)
    }

    private init(instances: [SluiceProcess], folder: String, database: String, mockPort: Int, mockGroup: ServiceGroup,
                 mockTask: Task<Void, any Error>) {
        self.instances = instances
        self.folder = folder
        self.database = database
        self.mockPort = mockPort
        self.mockGroup = mockGroup
        self.mockTask = mockTask
    }

    /// Stops every instance (SIGTERM: drained and flushed), the mock, and drops the database.
    func stop() async {
        for instance in instances { await instance.stop() }
        await mockGroup.triggerGracefulShutdown()
        try? await mockTask.value
        if let postgres = TestServices.postgresURL { try? await Self.psql(postgres, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Every instance's log, for a failing expectation's message.
    var logs: String { instances.map { "--- \($0.name)\n\($0.log.suffix(4000))" }.joined(separator: "\n") }

    /// Sends a request to one instance.
    func send(_ instance: Int, _ path: String, method: HTTPMethod = .POST, key: String?, body: String? = nil,
              client: HTTPClient) async throws -> TestResponse {
        var request = HTTPClientRequest(url: instances[instance].baseURL + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Creates an account with `credits` dollars (nil: unlimited) and a key on `preset` through
    /// instance 0's admin API; returns the key and its id.
    func makeKey(account: String, preset: String, credits: String? = nil, client: HTTPClient) async throws -> (key: String, id: String) {
        let accountBody = credits.map { #"{"name":"\#(account)","credits_usd":\#($0)}"# } ?? #"{"name":"\#(account)","unlimited":true}"#
        let created = try await send(0, "/admin/accounts", key: TestGateway.adminKey, body: accountBody, client: client)
        guard created.status == 201 else { throw SluiceProcessError(message: "account: \(created.status) \(created.body)") }
        let keyBody = #"{"account":"\#(account)","env":"prod","preset":"\#(preset)"}"#
        let key = try await send(0, "/admin/keys", key: TestGateway.adminKey, body: keyBody, client: client)
        guard key.status == 201, let text = key.json["key"] as? String, let id = key.json["id"] as? String else {
            throw SluiceProcessError(message: "key: \(key.status) \(key.body)")
        }
        return (text, id)
    }

    /// Runs a statement with `psql` against the test server.
    static func psql(_ url: String, _ statement: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try await process.runToExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw SluiceProcessError(message: "psql \(statement): \(text)")
        }
    }

    /// `postgres://user@host:port/db` with another database.
    static func replacingDatabase(in url: String, with database: String) -> String {
        guard let slash = url.range(of: "/", options: .backwards), slash.lowerBound > url.index(url.startIndex, offsetBy: 12) else {
            return url + "/" + database
        }
        return String(url[..<slash.lowerBound]) + "/" + database
    }
}

/// Runs `body` against a fresh cluster and always stops it; the instances' logs are printed when
/// `body` throws.
func withCluster(_ options: ScaleOutCluster.Options = .init(), _ body: (ScaleOutCluster) async throws -> Void) async throws {
    let cluster = try await ScaleOutCluster.start(options)
    do {
        try await body(cluster)
    } catch {
        print(cluster.logs)
        await cluster.stop()
        throw error
    }
    await cluster.stop()
}

extension Process {
    /// Runs the process and waits for it to exit without blocking a thread of the cooperative
    /// pool (there are only as many as cores, and the servers under test need them).
    func runToExit() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            terminationHandler = { _ in continuation.resume() }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}
