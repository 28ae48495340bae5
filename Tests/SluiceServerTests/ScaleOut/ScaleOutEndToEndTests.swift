import AsyncHTTPClient
import Foundation
import Testing

/// SPEC §7 as users run it: several `sluice serve` processes sharing one Redis and one PostgreSQL,
/// requests spread over them as a load balancer would.
@Suite("Scale-out: several instances sharing Redis and PostgreSQL", .serialized)
struct ScaleOutEndToEndTests {
    /// Sends `count` chat requests at once, spread round-robin over the instances; returns the
    /// statuses by instance.
    static func burst(_ cluster: ScaleOutCluster, key: String, count: Int, client: HTTPClient,
                      on instances: [Int]? = nil) async throws -> [[Int]] {
        let targets = instances ?? Array(cluster.instances.indices)
        return try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<count {
                let instance = targets[index % targets.count]
                group.addTask { (instance, try await cluster.send(instance, "/v1/chat/completions", key: key, body: chatBody(), client: client).status) }
            }
            var statuses = Array(repeating: [Int](), count: cluster.instances.count)
            for try await (instance, status) in group { statuses[instance].append(status) }
            return statuses
        }
    }

    @Test("2,000 concurrent requests over 3 instances against rpm 100: exactly 100 admitted, and every request's usage row lands exactly once")
    func exactQuotaAcrossInstances() async throws {
        guard try TestServices.available() else { return }
        try await withCluster { cluster in
            try await withClient(connections: 200) { client in
                let (key, keyID) = try await cluster.makeKey(account: "shared", preset: "hundred", client: client)
                let statuses = try await Self.burst(cluster, key: key, count: 2000, client: client).flatMap { $0 }
                #expect(statuses.filter { $0 == 200 }.count == 100, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
                #expect(statuses.filter { $0 == 429 }.count == 1900)

                // Stopping drains and flushes; then the ledger holds one row per request.
                for instance in cluster.instances.dropFirst() { await instance.stop() }
                let deadline = ContinuousClock.now + .seconds(10)
                var rows: [String: Any] = [:]
                while ContinuousClock.now < deadline {
                    let usage = try await cluster.send(0, "/admin/usage?by=key&since=1h", method: .GET, key: TestGateway.adminKey, client: client)
                    let list = (try? JSONSerialization.jsonObject(with: Data(usage.body.utf8))) as? [[String: Any]] ?? []
                    rows = list.first { $0["group"] as? String == keyID } ?? [:]
                    if rows["requests"] as? Int == 2000 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(rows["requests"] as? Int == 2000)
                #expect(rows["rate_limited"] as? Int == 1900)
            }
        }
    }

    @Test("a key revoked through one instance is refused by every instance within 5 s; a key created on one works on all")
    func revocationReachesEveryInstance() async throws {
        guard try TestServices.available() else { return }
        try await withCluster { cluster in
            try await withClient { client in
                let (key, id) = try await cluster.makeKey(account: "revoked", preset: "open", client: client)
                for instance in cluster.instances.indices {
                    let first = try await cluster.send(instance, "/v1/chat/completions", key: key, body: chatBody(), client: client)
                    #expect(first.status == 200, "instance \(instance + 1): \(first.body)")
                }
                let revoked = try await cluster.send(0, "/admin/keys/\(id)", method: .DELETE, key: TestGateway.adminKey, client: client)
                #expect(revoked.status == 204)
                let start = ContinuousClock.now
                var refusedAfter: [Duration?] = Array(repeating: nil, count: cluster.instances.count)
                while ContinuousClock.now - start < .seconds(8), refusedAfter.contains(where: { $0 == nil }) {
                    for instance in cluster.instances.indices where refusedAfter[instance] == nil {
                        let answer = try await cluster.send(instance, "/v1/chat/completions", key: key, body: chatBody(), client: client)
                        if answer.status == 401 { refusedAfter[instance] = ContinuousClock.now - start }
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                for (instance, after) in refusedAfter.enumerated() {
                    #expect(after != nil && after! < .seconds(5), "instance \(instance + 1) still admitted the revoked key after \(String(describing: after))")
                }
            }
        }
    }

    @Test("Redis stopped mid-load in local mode: no 5xx from Sluice, each instance enforces the quota on its own; Redis back: shared counting resumes")
    func redisDownLocalMode() async throws {
        guard try TestServices.available() else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let redis = try await OwnRedisServer(folder: folder)
        try await withOwnRedis(redis) {
            try await withCluster(.init(instances: 2, redisURL: redis.url, failureMode: "local")) { cluster in
                try await withClient { client in
                    let (key, _) = try await cluster.makeKey(account: "local", preset: "thirty", client: client)
                    // Shared: 20 over both instances, then 20 more of which 10 fit.
                    let shared = try await Self.burst(cluster, key: key, count: 40, client: client).flatMap { $0 }
                    #expect(shared.filter { $0 == 200 }.count == 30 && shared.filter { $0 == 429 }.count == 10)

                    await redis.stop()
                    // Each instance now counts on its own, from zero: 30 each, never a 5xx.
                    let alone = try await Self.burst(cluster, key: key, count: 80, client: client)
                    for (instance, statuses) in alone.enumerated() {
                        #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 }, "instance \(instance + 1): \(statuses)")
                        #expect(statuses.filter { $0 == 200 }.count == 30, "instance \(instance + 1) admitted \(statuses.filter { $0 == 200 }.count)")
                    }

                    try await redis.start()
                    // Shared counting resumes once an instance's probe finds Redis again (an empty
                    // one: it kept nothing); until then each keeps counting locally.
                    try await Self.waitUntilShared(cluster, client: client)
                    let (fresh, _) = try await cluster.makeKey(account: "after", preset: "thirty", client: client)
                    let resumed = try await Self.burst(cluster, key: fresh, count: 50, client: client).flatMap { $0 }
                    #expect(resumed.filter { $0 == 200 }.count == 30, "\(resumed)")
                }
            }
        }
    }

    @Test("Redis down in closed mode: 503 with Retry-After; in open mode: admitted beyond the quota")
    func redisDownClosedAndOpen() async throws {
        guard try TestServices.available() else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let redis = try await OwnRedisServer(folder: folder)
        try await withOwnRedis(redis) {
            for mode in ["closed", "open"] {
                try await redis.start()
                try await withCluster(.init(instances: 1, redisURL: redis.url, failureMode: mode)) { cluster in
                    try await withClient { client in
                        let (key, _) = try await cluster.makeKey(account: "mode-\(mode)", preset: "thirty", client: client)
                        #expect(try await cluster.send(0, "/v1/chat/completions", key: key, body: chatBody(), client: client).status == 200)
                        await redis.stop()
                        let answers = try await (0..<40).asyncMap { _ in
                            try await cluster.send(0, "/v1/chat/completions", key: key, body: chatBody(), client: client)
                        }
                        if mode == "closed" {
                            #expect(answers.allSatisfy { $0.status == 503 && $0.errorCode == "counter_store_unavailable" })
                            #expect(answers.allSatisfy { Int($0.headers.first(name: "retry-after") ?? "") ?? 0 >= 1 })
                        } else {
                            #expect(answers.allSatisfy { $0.status == 200 }, "\(answers.map(\.status))")
                        }
                    }
                }
            }
        }
    }

    @Test("a Redis that accepts connections but never answers does not stall a request beyond the command timeout")
    func hungRedis() async throws {
        guard try TestServices.available() else { return }
        let silent = try SilentListener()
        defer { silent.close() }
        try await withCluster(.init(instances: 1, redisURL: "redis://127.0.0.1:\(silent.port)", failureMode: "local", counterTimeoutMs: 250)) { cluster in
            try await withClient { client in
                let (key, _) = try await cluster.makeKey(account: "hung", preset: "thirty", client: client)
                let start = ContinuousClock.now
                let answer = try await cluster.send(0, "/v1/chat/completions", key: key, body: chatBody(), client: client)
                #expect(answer.status == 200)
                // 250 ms per command, and room for a loaded machine: a hang would last forever.
                #expect(ContinuousClock.now - start < .seconds(10))
                let ready = try await cluster.send(0, "/readyz", method: .GET, key: nil, client: client)
                #expect(ready.status == 503)
            }
        }
    }

    /// Waits until a decision on instance 0 is counted in Redis again: two requests of a fresh
    /// key, one on each of two instances, leave `remaining` one lower than a single request would.
    static func waitUntilShared(_ cluster: ScaleOutCluster, client: HTTPClient, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ready = try await cluster.send(0, "/readyz", method: .GET, key: nil, client: client)
            let readyOther = try await cluster.send(cluster.instances.count - 1, "/readyz", method: .GET, key: nil, client: client)
            if ready.status == 200, readyOther.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SluiceProcessError(message: "the instances did not find Redis again within \(timeout)")
    }
}

/// Runs `body` and always kills the test's own redis-server afterwards.
func withOwnRedis(_ redis: OwnRedisServer, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        await redis.stop()
        throw error
    }
    await redis.stop()
}

extension Sequence {
    /// `map` with an async transform, one element at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// A TCP listener that accepts connections (the kernel completes them) and never reads or answers:
/// a hung server.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw SluiceProcessError(message: "cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
