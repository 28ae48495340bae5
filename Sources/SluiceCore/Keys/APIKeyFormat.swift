/// The text form of Sluice keys: `sk-sluice-<env>-<32 base62 characters>`.
public enum APIKeyFormat {
    public static let prefix = "sk-sluice-"
    static let secretLength = 32
    public static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new key for `environment`, with `secretLength` random base62 characters.
    public static func generate(environment: KeyEnvironment, using generator: inout some RandomNumberGenerator) -> String {
        prefix + environment.rawValue + "-" + randomBase62(count: secretLength, using: &generator)
    }

    /// A new key id (`key_` and 16 base62 characters): what lists, logs and usage rows show.
    public static func generateID(using generator: inout some RandomNumberGenerator) -> String {
        "key_" + randomBase62(count: 16, using: &generator)
    }

    /// `count` random base62 characters.
    public static func randomBase62(count: Int, using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The environment of a well-formed key; nil for anything else.
    public static func environment(of key: String) -> KeyEnvironment? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.utf8.dropFirst(prefix.utf8.count)
        guard let dash = rest.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        guard let environment = KeyEnvironment(rawValue: String(decoding: rest[..<dash], as: UTF8.self)) else { return nil }
        let secret = rest[rest.index(after: dash)...]
        guard secret.count == secretLength, secret.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return environment
    }

    /// What may be shown of a key after it was created: the prefix, the environment and four
    /// characters of the secret (`sk-sluice-dev-AbCd`).
    public static func displayPrefix(of key: String) -> String {
        String(key.prefix(prefix.count + (environment(of: key)?.rawValue.count ?? 0) + 1 + 4))
    }
}
