import SluiceCore
import SluiceStore

/// Creates keys: the key text is made here, shown once to whoever asked, and only its digest
/// is stored. Shared by the CLI, the admin API and the demo.
public struct KeyIssuer: Sendable {
    public let ledger: Ledger
    public let config: SluiceConfig

    public init(ledger: Ledger, config: SluiceConfig) {
        self.ledger = ledger
        self.config = config
    }

    /// A new key and its record. The preset must exist in the configuration and the account in
    /// the ledger.
    public func issue(account: String, environment: KeyEnvironment, preset: String, name: String?, expiresInSeconds: Int?,
                      nowMs: Int64) async throws -> (key: String, record: KeyRecord) {
        guard config.presets[preset] != nil else {
            let known = config.presets.keys.sorted().joined(separator: ", ")
            throw LedgerError.invalid("unknown preset \"\(preset)\" (configured presets: \(known.isEmpty ? "none" : known))")
        }
        var generator = SystemRandomNumberGenerator()
        let key = APIKeyFormat.generate(environment: environment, using: &generator)
        let record = KeyRecord(
            id: APIKeyFormat.generateID(using: &generator), digest: KeyDigest(of: key), displayPrefix: APIKeyFormat.displayPrefix(of: key),
            account: account, environment: environment, preset: preset, name: name, createdAtMs: nowMs,
            expiresAtMs: expiresInSeconds.map { nowMs + Int64($0) * 1000 }, revokedAtMs: nil, updatedAtMs: nowMs)
        try await ledger.insertKey(record)
        return (key, record)
    }
}
