import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SluiceCore

extension Ledger {
    /// Connections per instance: enough that key lookups and lease requests are not queued
    /// behind a usage batch, few enough that many instances stay well under `max_connections`.
    static let postgresConnections = 4

    /// Connects to the PostgreSQL ledger at `url` (NIO's shared event loop group), failing
    /// with a message that names the server and the reason, never the password.
    static func openPostgres(url: String, logger: Logger) async throws -> Ledger {
        let endpoint = PostgresEndpoint(url: url)
        let configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw LedgerError.invalid("the PostgreSQL ledger URL \(endpoint.redactedURL) is not valid: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]")
        }
        var connectionConfiguration = configuration.coreConfiguration
        connectionConfiguration.options.connectTimeout = .seconds(10)
        let core = connectionConfiguration
        var quieter = logger
        quieter.logLevel = .warning
        let connectionLogger = quieter
        @Sendable func connect() async throws -> LedgerConnection {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: core, id: .random(in: 1...Int.max), logger: connectionLogger)
            } catch let error as PSQLError where error.code == .server {
                // Reached, but refused: wrong database, user or password.
                throw LedgerError.unavailable("the PostgreSQL ledger at \(endpoint.hostAndPort) refused the connection: \(Self.reason(error))")
            } catch {
                throw LedgerError.unavailable("cannot reach the PostgreSQL ledger at \(endpoint.hostAndPort): \(Self.reason(error))")
            }
            return LedgerConnection(database: connection.sql(queryLogLevel: nil), isClosed: { connection.isClosed },
                                    close: { try? await connection.close() })
        }
        var connections: [LedgerConnection] = []
        do {
            for _ in 0..<postgresConnections { connections.append(try await connect()) }
        } catch {
            for connection in connections { await connection.close() }
            throw error
        }
        return Ledger(pool: LedgerConnectionPool(connections: connections, open: connect), location: .postgres(url: url))
    }

    /// A PostgreSQL error as a `LedgerError` with a readable message (PostgresNIO's own
    /// description hides everything, to be safe); other errors unchanged.
    func describe(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        var url = ""
        if case .postgres(let postgresURL) = location { url = postgresURL }
        let endpoint = PostgresEndpoint(url: url)
        if error.code == .server, let info = error.serverInfo {
            let message = info[.message] ?? "unknown error"
            // 23505: unique_violation — two writers raced to create the same thing.
            if info[.sqlState] == "23505" { return LedgerError.conflict("the ledger already holds that record: \(message)") }
            return LedgerError.unavailable("the PostgreSQL ledger at \(endpoint.hostAndPort) refused a statement: \(message) (SQLSTATE \(info[.sqlState] ?? "?"))")
        }
        return LedgerError.unavailable("lost the PostgreSQL ledger at \(endpoint.hostAndPort): \(Self.reason(error))")
    }

    /// The root cause of a connection failure in a few words ("connection refused").
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if error.code == .server, let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return reason(underlying) }
            switch error.code {
            case .serverClosedConnection: return "the server closed the connection"
            case .clientClosedConnection: return "the connection was closed"
            case .sslUnsupported: return "the server does not support TLS (add ?sslmode=disable to the URL)"
            case .authMechanismRequiresPassword: return "the server asks for a password and the URL has none"
            default: return "\(error.code)"
            }
        }
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name \(error.host) could not be resolved" }
            if let first = error.connectionErrors.first { return reason(first.error) }
            return "no address to connect to"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? ChannelError, case .connectTimeout = error { return "connection timed out" }
        return String(describing: error)
    }
}

/// The parts of a PostgreSQL URL that may appear in messages.
struct PostgresEndpoint {
    let hostAndPort: String
    let redactedURL: String

    init(url: String) {
        redactedURL = LedgerLocation.postgres(url: url).description
        let components = URLComponents(string: url)
        let host = components?.host ?? "?"
        hostAndPort = "\(host.contains(":") ? "[\(host)]" : host):\(components?.port ?? 5432)"
    }
}
