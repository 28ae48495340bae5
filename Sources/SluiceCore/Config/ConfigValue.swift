/// A configuration document as a plain tree, independent of the file format it came from.
///
/// The YAML reader turns the file into this; the decoder walks it with paths so every problem
/// can be reported as `models.gpt-4o.price: missing`.
public indirect enum ConfigValue: Sendable, Equatable {
    /// One key and its value in a mapping.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: ConfigValue
        public init(key: String, value: ConfigValue) {
            self.key = key
            self.value = value
        }
    }

    /// A scalar's text exactly as written (numbers are kept as text so decimals stay exact).
    case scalar(String)
    case null
    case list([ConfigValue])
    /// A mapping in document order.
    case map([Entry])

    /// The value at `key` of a mapping.
    public subscript(key: String) -> ConfigValue? {
        guard case .map(let entries) = self else { return nil }
        return entries.last { $0.key == key }?.value
    }

    /// A copy with the mapping at `section` given `key: value`, creating what is missing.
    public func setting(section: String, key: String, to value: ConfigValue) -> ConfigValue {
        var entries: [Entry]
        switch self {
        case .map(let existing): entries = existing
        default: entries = []
        }
        var sectionEntries: [Entry] = []
        if let index = entries.lastIndex(where: { $0.key == section }), case .map(let existing) = entries[index].value {
            sectionEntries = existing
        }
        sectionEntries.removeAll { $0.key == key }
        sectionEntries.append(Entry(key: key, value: value))
        entries.removeAll { $0.key == section }
        entries.append(Entry(key: section, value: .map(sectionEntries)))
        return .map(entries)
    }
}
