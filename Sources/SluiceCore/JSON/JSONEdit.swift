/// Byte-level edits to the top-level members of a JSON object, so a body that needs one field
/// changed is not decoded and encoded again whole.
public struct JSONEdit: Sendable {
    private enum Change: Sendable {
        case replace(Range<Int>, [UInt8])
        case remove(Range<Int>)
    }

    private let view: JSONObjectView
    private var changes: [Change] = []
    private var appended: [(String, [UInt8])] = []

    public init(_ view: JSONObjectView) {
        self.view = view
    }

    /// Whether any edit was made.
    public var isEmpty: Bool { changes.isEmpty && appended.isEmpty }

    /// Sets member `key` to the raw JSON `value`, replacing every occurrence or adding it.
    public mutating func set(_ key: String, rawJSON value: String) {
        let matching = view.members.filter { view.hasKey($0, key) }
        if matching.isEmpty {
            appended.append((key, Array(value.utf8)))
        } else {
            for member in matching { changes.append(.replace(member.valueRange, Array(value.utf8))) }
        }
    }

    /// Removes every occurrence of member `key`.
    public mutating func remove(_ key: String) {
        for member in view.members where view.hasKey(member, key) {
            changes.append(.remove(member.range))
        }
    }

    /// The edited document; with `objectOnly`, just the edited object (for a nested one).
    public func apply(objectOnly: Bool = false) -> [UInt8] {
        if isEmpty { return objectOnly ? Array(view.bytes[view.range]) : view.bytes }
        let bytes = view.bytes
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var removedMembers = Set<Int>()
        var replacements: [Int: (end: Int, with: [UInt8])] = [:]
        for change in changes {
            switch change {
            case .replace(let range, let value): replacements[range.lowerBound] = (range.upperBound, value)
            case .remove(let range): removedMembers.insert(range.lowerBound)
            }
        }
        // Rebuild the object member by member, so removals never leave a stray comma.
        if !objectOnly { out.append(contentsOf: bytes[0..<view.range.lowerBound]) }
        out.append(UInt8(ascii: "{"))
        var first = true
        for member in view.members where !removedMembers.contains(member.range.lowerBound) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            let valueStart = member.valueRange.lowerBound
            out.append(contentsOf: bytes[member.range.lowerBound..<valueStart])
            if let replacement = replacements[valueStart] {
                out.append(contentsOf: replacement.with)
            } else {
                out.append(contentsOf: bytes[member.valueRange])
            }
        }
        for (key, value) in appended {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: Array(JSONText.quoted(key).utf8))
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: value)
        }
        out.append(UInt8(ascii: "}"))
        if !objectOnly { out.append(contentsOf: bytes[view.range.upperBound...]) }
        return out
    }
}
