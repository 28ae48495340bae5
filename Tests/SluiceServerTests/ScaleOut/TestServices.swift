import Foundation

/// The real Redis and PostgreSQL servers `scripts/test-services` starts for the scale-out tests.
/// Without them the tests are skipped on a developer's machine but fail in CI, where they must run.
enum TestServices {
    static var redisURL: String? { value("SLUICE_TEST_REDIS_URL") }
    static var postgresURL: String? { value("SLUICE_TEST_POSTGRES_URL") }
    static var redisServerBinary: String { value("SLUICE_TEST_REDIS_SERVER") ?? "redis-server" }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether tests needing both servers can run: true when both are configured; in CI a missing
    /// server is an error, so the suite cannot pass without having run them.
    static func available() throws -> Bool {
        if redisURL != nil, postgresURL != nil { return true }
        if isCI {
            throw SluiceProcessError(message: "SLUICE_TEST_REDIS_URL and SLUICE_TEST_POSTGRES_URL must be set in CI (scripts/test starts the servers)")
        }
        return false
    }

    private static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A redis-server of a test's own, on a free port, so a test can stop and restart it without
/// touching the shared one.
final class OwnRedisServer: @unchecked Sendable {
    let port: Int
    private var process: Process?
    private let folder: String

    var url: String { "redis://127.0.0.1:\(port)" }

    init(folder: String) async throws {
        self.folder = folder
        self.port = try Self.freePort()
        try await start()
    }

    func start() async throws {
        guard process == nil else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServices.redisServerBinary.hasPrefix("/") ? TestServices.redisServerBinary : "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Wait until it accepts connections; a server that exited (its port taken meanwhile) or
        // never listens fails the test here, not later with a puzzling refusal.
        for _ in 0..<200 where process.isRunning && !Self.accepts(port: port) { try await Task.sleep(for: .milliseconds(50)) }
        guard process.isRunning, Self.accepts(port: port) else {
            await stop()
            throw SluiceProcessError(message: "own redis-server on port \(port) did not start (exited: \(!process.isRunning))")
        }
    }

    func stop() async {
        guard let process else { return }
        defer { self.process = nil }
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port nobody listens on now (bound to 0, read, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound else { throw SluiceProcessError(message: "no free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
