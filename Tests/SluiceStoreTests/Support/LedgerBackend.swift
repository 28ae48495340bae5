import Foundation
import Logging
import SluiceCore
import SluiceStore
import SluiceTestSupport
import Testing

/// The databases the ledger conformance suite runs against: SQLite always, PostgreSQL when
/// `SLUICE_TEST_POSTGRES_URL` is set (and `PostgresRequiredInCITests` fails CI without it).
enum LedgerBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [LedgerBackend] {
        PostgresTestDatabase.serverURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    var testDescription: String { rawValue }

    /// A fresh, empty place for a ledger (a temporary SQLite file, or a new PostgreSQL
    /// database), removed afterwards. Opening it several times gives several "instances".
    func withLocation<T>(_ body: (LedgerLocation) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ledger-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            return try await body(.sqlite(path: folder + "/ledger.db"))
        case .postgres:
            return try await PostgresTestDatabase.with { try await body(.postgres(url: $0)) }
        }
    }

    /// A fresh ledger, closed (and removed) afterwards.
    func withLedger(_ body: (Ledger) async throws -> Void) async throws {
        try await withLocation { location in
            try await withOpenLedger(location, body)
        }
    }
}

/// Opens the ledger at `location`, runs `body`, and closes it however `body` ends.
@discardableResult
func withOpenLedger<T>(_ location: LedgerLocation, _ body: (Ledger) async throws -> T) async throws -> T {
    let ledger = try await Ledger.open(location, logger: Logger(label: "test"))
    return try await ledger.closing { try await body(ledger) }
}

func keyRecord(id: String, key: String, account: String, now: Int64 = 1_000, expiresAt: Int64? = nil) -> KeyRecord {
    KeyRecord(id: id, digest: KeyDigest(of: key), displayPrefix: APIKeyFormat.displayPrefix(of: key), account: account,
              environment: .dev, preset: "demo", name: nil, createdAtMs: now, expiresAtMs: expiresAt, revokedAtMs: nil, updatedAtMs: now)
}

/// A usage row with what the aggregate tests vary.
func usageRow(_ id: String, key: String = "key_a", account: String = "acme", model: String = "gpt-4o", status: Int = 200,
              user: String? = nil, team: String? = nil, input: Int = 10, output: Int = 5, error: String? = nil, at: Int64 = 10_000,
              cost: Int64? = nil) -> UsageRow {
    UsageRow(requestID: id, keyID: key, account: account, environment: "dev", userID: user,
             properties: team.map { ["team": $0] } ?? [:], endpoint: "/v1/chat/completions", requestedModel: model,
             servedModel: status == 200 ? model : nil, status: status, errorCode: error, inputTokens: input,
             outputTokens: output, cost: NanoDollars(cost ?? Int64(input * 2500 + output * 10000)), createdAtMs: at)
}

/// Usage rows that use every column: one with every optional field set (non-ASCII, empty and
/// quoted text, flags, numbers past 32 bits), one with every optional field empty.
func fullUsageRows() -> [UsageRow] {
    [
        UsageRow(requestID: "req_full", keyID: "key_ü", account: "acme", environment: "", userID: "Zoë 🚀 \"quoted\" 'single'",
                 properties: ["team": "red", "empty": "", "emoji": "🚀"], endpoint: "/v1/chat/completions",
                 requestedModel: "gpt-4o", servedModel: "gpt-4o-2024-08-06", status: 200, errorCode: "partial",
                 inputTokens: 3_000_000_000, outputTokens: 7, cost: NanoDollars(5_000_000_123), latencyMs: 1_234,
                 timeToFirstByteMs: 56, attempts: 3, streamed: true, estimated: true, createdAtMs: 1_764_547_200_123),
        UsageRow(requestID: "req_bare", keyID: "k", account: "acme", environment: "prod", endpoint: "/v1/embeddings", status: 502,
                 createdAtMs: 1),
    ]
}
