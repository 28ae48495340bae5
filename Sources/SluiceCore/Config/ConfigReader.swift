/// Collects problems while a configuration tree is decoded, so all of them are reported at once.
public final class ConfigProblems {
    public private(set) var all: [ConfigProblem] = []
    public init() {}
    public func add(_ path: String, _ message: String) { all.append(ConfigProblem(path: path, message: message)) }
}

/// A position in the configuration tree: its value, its path, and where problems go.
///
/// Accessors never throw; they record a problem and return nil, so decoding carries on and
/// the user sees every mistake in one run.
public struct ConfigReader {
    public let value: ConfigValue?
    public let path: String
    public let problems: ConfigProblems

    public init(_ value: ConfigValue?, path: String = "", problems: ConfigProblems) {
        self.value = value
        self.path = path
        self.problems = problems
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Whether the value is absent or null.
    public var isMissing: Bool {
        switch value {
        case nil, .null?: return true
        default: return false
        }
    }

    /// The entries of a mapping, reporting any key outside `allowed` as unknown.
    /// Absent or null is an empty mapping.
    public func mapping(allowed: Set<String>? = nil) -> [(String, ConfigReader)] {
        switch value {
        case nil, .null?: return []
        case .map(let entries)?:
            var seen = Set<String>()
            var result: [(String, ConfigReader)] = []
            for entry in entries {
                let entryPath = child(entry.key)
                if !seen.insert(entry.key).inserted {
                    problems.add(entryPath, "appears more than once")
                    continue
                }
                if let allowed, !allowed.contains(entry.key) {
                    problems.add(entryPath, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                    continue
                }
                result.append((entry.key, ConfigReader(entry.value, path: entryPath, problems: problems)))
            }
            return result
        default:
            problems.add(path, "must be a mapping of keys to values")
            return []
        }
    }

    /// The member `key` of a mapping already checked with `mapping(allowed:)`.
    public subscript(key: String) -> ConfigReader {
        ConfigReader(value?[key], path: child(key), problems: problems)
    }

    /// The elements of a list; absent or null is an empty list.
    public func list() -> [ConfigReader] {
        switch value {
        case nil, .null?: return []
        case .list(let items)?:
            return items.enumerated().map { ConfigReader($1, path: "\(path)[\($0)]", problems: problems) }
        default:
            problems.add(path, "must be a list")
            return []
        }
    }

    /// A scalar's text; reports `missing` when required and absent.
    public func text(required: Bool = false) -> String? {
        switch value {
        case nil, .null?:
            if required { problems.add(path, "missing") }
            return nil
        case .scalar(let text)?: return text
        default:
            problems.add(path, "must be a single value, not a list or mapping")
            return nil
        }
    }

    /// A non-empty string.
    public func string(required: Bool = false) -> String? {
        guard let text = text(required: required) else { return nil }
        if text.isEmpty { problems.add(path, "must not be empty"); return nil }
        return text
    }

    /// A whole number within `range`.
    public func integer(required: Bool = false, in range: ClosedRange<Int>) -> Int? {
        guard let text = text(required: required) else { return nil }
        guard let number = Int(text.replacingUnderscores()) else {
            problems.add(path, "must be a whole number, not \"\(text)\"")
            return nil
        }
        guard range.contains(number) else {
            problems.add(path, "must be between \(range.lowerBound) and \(range.upperBound), not \(number)")
            return nil
        }
        return number
    }

    /// A boolean (`true`/`false`).
    public func bool() -> Bool? {
        guard let text = text() else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problems.add(path, "must be true or false, not \"\(text)\"")
            return nil
        }
    }

    /// One of a fixed set of words.
    public func choice<T: RawRepresentable>(_ type: T.Type) -> T? where T.RawValue == String, T: CaseIterable {
        guard let text = string() else { return nil }
        guard let value = T(rawValue: text) else {
            problems.add(path, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(text)\"")
            return nil
        }
        return value
    }

    /// A list of non-empty strings.
    public func strings() -> [String] {
        list().compactMap { $0.string(required: true) }
    }

    /// Records a problem at this path.
    public func report(_ message: String) {
        problems.add(path, message)
    }
}

extension String {
    /// YAML allows `33_554_432`; so do we.
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
