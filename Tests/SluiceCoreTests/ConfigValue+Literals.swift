import SluiceCore

// Configuration trees written as literals, so tests read like the YAML they stand for:
// `["server": ["listen": "0.0.0.0:9000"]]`. Scalars stay text, as the YAML reader gives them;
// a dictionary literal keeps document order and may repeat a key, as a YAML mapping can.
extension ConfigValue: ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .scalar(value) }
    public init(integerLiteral value: Int) { self = .scalar(String(value)) }
    public init(arrayLiteral elements: ConfigValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self = .map(elements.map { ConfigValue.Entry(key: $0.0, value: $0.1) })
    }
}

/// The problems `SluiceConfig.decode` reports for `tree`, as `path: message` lines; empty when it decodes.
func decodeProblems(_ tree: ConfigValue, baseDirectory: String = "/etc/sluice") -> [String] {
    do {
        _ = try SluiceConfig.decode(tree, baseDirectory: baseDirectory)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

/// A minimal valid `models` + `providers` pair that other trees extend.
let minimalProviders: ConfigValue = ["openai": ["base_url": "https://api.openai.com/v1"]]

func model(provider: String = "openai", input: String = "1.00", output: String = "2.00", fallbacks: [String] = []) -> ConfigValue {
    .map([
        .init(key: "deployments", value: [["provider": .scalar(provider)]]),
        .init(key: "price", value: ["input_per_mtok": .scalar(input), "output_per_mtok": .scalar(output)]),
        .init(key: "fallbacks", value: .list(fallbacks.map(ConfigValue.scalar))),
    ])
}
