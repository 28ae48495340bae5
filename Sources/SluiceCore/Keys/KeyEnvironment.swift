/// The environment a key is issued for; it is part of the key text (`sk-sluice-prod-…`), so a
/// leaked key says where it came from.
public enum KeyEnvironment: String, Sendable, CaseIterable, Codable {
    case dev, staging, prod
}
