import SluiceCore
import Testing

/// SplitMix64: a small deterministic generator so generated keys are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let base62 = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

@Suite("API key format")
struct APIKeyFormatTests {
    @Test("a generated key is sk-sluice-<env>-<32 base62> and reads back its environment", arguments: KeyEnvironment.allCases)
    func generateShape(environment: KeyEnvironment) {
        var generator = SeededGenerator(seed: 42)
        let key = APIKeyFormat.generate(environment: environment, using: &generator)
        let head = "sk-sluice-\(environment.rawValue)-"
        #expect(key.hasPrefix(head))
        let secret = key.dropFirst(head.count)
        #expect(secret.count == 32)
        #expect(secret.allSatisfy(base62.contains))
        #expect(APIKeyFormat.environment(of: key) == environment)
        #expect(APIKeyFormat.displayPrefix(of: key) == head + secret.prefix(4))
    }

    @Test("the same seed gives the same key, another seed another key")
    func deterministic() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 8)
        let first = APIKeyFormat.generate(environment: .dev, using: &a)
        #expect(first == APIKeyFormat.generate(environment: .dev, using: &b))
        #expect(first != APIKeyFormat.generate(environment: .dev, using: &c))
        #expect(first != APIKeyFormat.generate(environment: .dev, using: &a))
    }

    @Test("generated secrets use the whole base62 alphabet")
    func wholeAlphabet() {
        var generator = SeededGenerator(seed: 1)
        let text = APIKeyFormat.randomBase62(count: 10_000, using: &generator)
        #expect(text.count == 10_000)
        #expect(Set(text) == base62)
    }

    @Test("a key id is key_ and 16 base62 characters")
    func generateID() {
        var generator = SeededGenerator(seed: 3)
        let id = APIKeyFormat.generateID(using: &generator)
        #expect(id.hasPrefix("key_"))
        #expect(id.count == 20)
        #expect(id.dropFirst(4).allSatisfy(base62.contains))
        #expect(id != APIKeyFormat.generateID(using: &generator))
    }

    static let secret = "AbCd0123456789efghijklmnopqrstuv"

    @Test("well-formed keys of every environment are recognised")
    func recognised() {
        #expect(Self.secret.count == 32)
        #expect(APIKeyFormat.environment(of: "sk-sluice-dev-" + Self.secret) == .dev)
        #expect(APIKeyFormat.environment(of: "sk-sluice-staging-" + Self.secret) == .staging)
        #expect(APIKeyFormat.environment(of: "sk-sluice-prod-" + Self.secret) == .prod)
    }

    @Test("keys of the wrong length, characters, environment or prefix are refused", arguments: [
        "sk-sluice-dev-" + String(secret.dropLast()),
        "sk-sluice-dev-" + secret + "x",
        "sk-sluice-dev-" + String(secret.dropLast()) + "_",
        "sk-sluice-dev-" + String(secret.dropLast()) + "-",
        "sk-sluice-dev-" + String(secret.dropLast()) + "é",
        "sk-sluice-dev-" + String(secret.dropLast(2)) + "é",
        "sk-sluice-test-" + secret,
        "sk-sluice-Dev-" + secret,
        "sk-sluice--" + secret,
        "sk-sluice-dev" + secret,
        "sk-other-dev-" + secret,
        "SK-SLUICE-dev-" + secret,
        "sk-" + secret,
        "Bearer sk-sluice-dev-" + secret,
        "",
    ])
    func refused(key: String) {
        #expect(APIKeyFormat.environment(of: key) == nil)
    }

    @Test("the display prefix shows four characters of the secret and no more")
    func displayPrefix() {
        #expect(APIKeyFormat.displayPrefix(of: "sk-sluice-staging-" + Self.secret) == "sk-sluice-staging-AbCd")
        #expect(APIKeyFormat.displayPrefix(of: "sk-sluice-dev-" + Self.secret) == "sk-sluice-dev-AbCd")
    }
}

@Suite("Duration text")
struct DurationTextTests {
    @Test("durations are a whole number and a unit", arguments: [
        ("30s", 30), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("1s", 1), ("90m", 5400),
    ])
    func parse(text: String, seconds: Int) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test("zero, unitless, unknown units, negatives and junk are refused", arguments: [
        "0s", "10", "5w", "-1m", "", "s", "1.5h", " 5m", "5m ", "5M", "1h30m", "m5", "99999999999999999d",
    ])
    func refused(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test("the problem message quotes the text and gives examples")
    func problem() {
        #expect(DurationText.problem("5w") == "\"5w\" is not a duration; write a whole number and a unit, such as 30s, 15m, 12h or 30d")
    }
}
