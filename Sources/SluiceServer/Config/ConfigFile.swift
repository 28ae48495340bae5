import Foundation
import SluiceCore
import Yams

/// Reads `sluice.yaml` into a validated `SluiceConfig`.
public enum ConfigFile {
    /// Loads the file at `path` (or no file: every default), applies `SLUICE_*` overrides from
    /// `environment`, and validates. Every problem is in the thrown `ConfigError`, with the
    /// provider key variables not set when `checkingProviderKeys`.
    public static func load(path: String?, environment: [String: String], checkingProviderKeys: Bool = false) throws(ConfigError) -> SluiceConfig {
        let workingDirectory = FileManager.default.currentDirectoryPath
        var tree = ConfigValue.null
        var baseDirectory = workingDirectory
        if let path {
            let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
            baseDirectory = (absolute as NSString).deletingLastPathComponent
            guard let data = FileManager.default.contents(atPath: absolute) else {
                throw ConfigError(problems: [ConfigProblem(path: path, message: "cannot read the file (does it exist?)")])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(problems: [ConfigProblem(path: path, message: "is not UTF-8 text")])
            }
            tree = try parse(yaml: text, fileName: path)
        }
        return try SluiceConfig.load(tree: tree, baseDirectory: baseDirectory, environment: environment, workingDirectory: workingDirectory,
                                     checkingProviderKeys: checkingProviderKeys)
    }

    /// The YAML text as a configuration tree.
    public static func parse(yaml: String, fileName: String = "sluice.yaml") throws(ConfigError) -> ConfigValue {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return .null }
            return convert(node)
        } catch {
            let detail = (error as? YamlError).map { String(describing: $0) } ?? String(describing: error)
            throw ConfigError(problems: [ConfigProblem(path: fileName, message: "is not valid YAML: \(detail)")])
        }
    }

    static func convert(_ node: Node) -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return .null }
            return .scalar(scalar.string)
        case .mapping(let mapping):
            return .map(mapping.map { pair in
                let key: String
                if case .scalar(let scalar) = pair.key { key = scalar.string } else { key = String(describing: pair.key) }
                return ConfigValue.Entry(key: key, value: convert(pair.value))
            })
        case .sequence(let sequence):
            return .list(sequence.map(convert))
        case .alias:
            return .null
        }
    }
}
