/// One thing wrong with a configuration, located by its path (`models.gpt-4o.price`).
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in a configuration, reported together.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String {
        let header = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return "invalid configuration (\(header)):\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
