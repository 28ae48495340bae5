import Foundation
import Logging
import NIOPosix
import PostgresKit

/// A database of its own on the test PostgreSQL server (`SLUICE_TEST_POSTGRES_URL`, printed by
/// `scripts/test-services start`), so tests never see each other's rows and can run in parallel.
public enum PostgresTestDatabase {
    /// The server's URL, or nil when the tests run without one.
    public static var serverURL: String? {
        ProcessInfo.processInfo.environment["SLUICE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether a missing server is a failure (in CI) rather than a reason to skip.
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Creates a fresh database, runs `body` with its URL, and drops it however `body` ends.
    public static func with<T>(_ body: (String) async throws -> T) async throws -> T {
        guard let serverURL else { throw TestDatabaseError.noServer }
        let name = "sluice_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await run("CREATE DATABASE \(name)", on: serverURL)
        do {
            let result = try await body(url(serverURL, database: name))
            try await run("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: serverURL)
            return result
        } catch {
            try? await run("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: serverURL)
            throw error
        }
    }

    /// `url` pointing at `database` instead.
    public static func url(_ url: String, database: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + database
        return components.string!
    }

    /// Runs one statement (no result) on its own connection.
    public static func run(_ statement: String, on url: String) async throws {
        var configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        configuration.tls = .disable
        let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                              id: 1, logger: Logger(label: "test"))
        do {
            try await connection.sql(queryLogLevel: nil).raw("\(unsafeRaw: statement)").run()
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    public enum TestDatabaseError: Error { case noServer }
}
