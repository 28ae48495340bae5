/// A tolerant reader of the RFC 9651 lists in Sluice's `RateLimit-Policy` and `RateLimit`
/// answer headers: `"rpm";q=60;w=60, "tpm";q=1000;qu="token";w=60`.
///
/// Tolerant on purpose: the client also talks to other servers, and an answer header it cannot
/// read must only cost it the learned pacing, never the call. So names may be tokens instead of
/// strings, spaces may surround `,`, `;` and `=`, unknown parameters are kept, and an item it
/// cannot read is skipped rather than failing the list. Inner lists are skipped.
struct StructuredFieldList: Equatable {
    /// One list item: its name (string or token) and its parameters in order.
    struct Item: Equatable {
        var name: String
        var parameters: [(key: String, value: Value)]

        static func == (lhs: Item, rhs: Item) -> Bool {
            lhs.name == rhs.name && lhs.parameters.map(\.key) == rhs.parameters.map(\.key)
                && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
        }

        /// The value of the first parameter named `key`.
        subscript(key: String) -> Value? { parameters.first { $0.key == key }?.value }
    }

    /// A parameter value; decimals and byte sequences are kept only as text.
    enum Value: Equatable {
        case integer(Int64)
        case string(String)
        case boolean(Bool)
        case other(String)

        var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
        /// A string or a token, both read as text.
        var text: String? { if case .string(let value) = self { value } else { nil } }
    }

    var items: [Item]

    /// Reads `field`; never fails, at worst yields no items.
    init(_ field: String) {
        items = Self.splitItems(field).compactMap(Self.item)
    }

    /// Splits on commas outside quoted strings (a `\"` inside a string does not end it).
    static func splitItems(_ field: String) -> [Substring] {
        var parts: [Substring] = []
        var start = field.startIndex
        var inString = false
        var escaped = false
        var index = field.startIndex
        while index < field.endIndex {
            let character = field[index]
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == "," {
                parts.append(field[start..<index])
                start = field.index(after: index)
            }
            index = field.index(after: index)
        }
        parts.append(field[start...])
        return parts
    }

    /// One item, or nil when its name cannot be read.
    static func item(_ text: Substring) -> Item? {
        var scanner = Scanner(text)
        scanner.skipSpaces()
        guard let name = scanner.string() ?? scanner.token(), !name.isEmpty else { return nil }
        var parameters: [(key: String, value: Value)] = []
        while true {
            scanner.skipSpaces()
            guard scanner.consume(";") else { break }
            scanner.skipSpaces()
            guard let key = scanner.token()?.lowercased(), !key.isEmpty else { break }
            scanner.skipSpaces()
            if scanner.consume("=") {
                scanner.skipSpaces()
                guard let value = scanner.value() else { break }
                parameters.append((key, value))
            } else {
                parameters.append((key, .boolean(true)))
            }
        }
        return Item(name: name, parameters: parameters)
    }

    /// A cursor over one item's text.
    struct Scanner {
        var rest: Substring

        init(_ text: Substring) { rest = text }

        mutating func skipSpaces() { rest = rest.drop { $0 == " " || $0 == "\t" } }

        mutating func consume(_ character: Character) -> Bool {
            guard rest.first == character else { return false }
            rest = rest.dropFirst()
            return true
        }

        /// A quoted string with `\"` and `\\` escapes; nil (consuming nothing) when unterminated.
        mutating func string() -> String? {
            guard rest.first == "\"" else { return nil }
            var result = ""
            var index = rest.index(after: rest.startIndex)
            while index < rest.endIndex {
                let character = rest[index]
                if character == "\"" {
                    rest = rest[rest.index(after: index)...]
                    return result
                }
                if character == "\\" {
                    index = rest.index(after: index)
                    guard index < rest.endIndex else { return nil }
                }
                result.append(rest[index])
                index = rest.index(after: index)
            }
            return nil
        }

        /// A token: letters, digits and the token punctuation; nil when there is none.
        mutating func token() -> String? {
            let token = rest.prefix { $0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~:/".contains($0) }
            guard !token.isEmpty else { return nil }
            rest = rest.dropFirst(token.count)
            return String(token)
        }

        /// An integer, string, boolean (`?1`/`?0`) or anything else up to the next `;`.
        mutating func value() -> Value? {
            if let string = string() { return .string(string) }
            if consume("?") {
                if consume("1") { return .boolean(true) }
                if consume("0") { return .boolean(false) }
                return nil
            }
            guard let token = token() else { return nil }
            if let integer = Int64(token) { return .integer(integer) }
            if token.first?.isLetter == true || token.first == "*" { return .string(token) }
            return .other(token)
        }
    }
}
