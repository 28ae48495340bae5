/// Where Redis is and how to log in: `redis://[:password@ | user:password@]host[:port][/db]`.
///
/// The password prints as `*****`, so a URL can go into logs and error messages.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public static let defaultPort = 6379

    public init(host: String, port: Int = RedisURL.defaultPort, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` URL; the error says which part is wrong.
    public init(_ text: String) throws(RedisError) {
        func bad(_ why: String) -> RedisError { .invalidURL("invalid redis URL \"\(Self.redacted(text))\": \(why)") }
        guard let schemeEnd = text.range(of: "://") else { throw bad("expected redis://host[:port][/db]") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        if scheme == "rediss" { throw bad("TLS (rediss://) is not supported; use redis:// on a trusted network") }
        guard scheme == "redis" else { throw bad("the scheme must be redis://, not \(scheme)://") }
        var rest = Substring(text[schemeEnd.upperBound...])
        if rest.contains("?") || rest.contains("#") { throw bad("query and fragment parameters are not supported") }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user, part: "user name", text: text)
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], part: "password", text: text)
            } else if !credentials.isEmpty {
                // `redis://secret@host` is how some tools spell a password alone.
                password = try Self.percentDecoded(credentials, part: "password", text: text)
            }
        }

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0, number <= 65_535 else { throw bad("the database must be a number 0 or more, not \"\(path)\"") }
                database = number
            }
        }

        var host = rest
        var port = Self.defaultPort
        if rest.hasPrefix("[") {
            // An IPv6 address: [::1]:6379.
            guard let close = rest.firstIndex(of: "]") else { throw bad("missing ] after the IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("expected :port after the IPv6 address") }
                port = try Self.port(after.dropFirst(), bad: bad)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...], bad: bad)
        }
        guard !host.isEmpty else { throw bad("the host is missing") }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    private static func port(_ text: Substring, bad: (String) -> RedisError) throws(RedisError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else { throw bad("the port must be 1 to 65535, not \"\(text)\"") }
        return port
    }

    private static func percentDecoded(_ text: Substring, part: String, text whole: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidURL("invalid redis URL \"\(redacted(whole))\": bad %-escape in the \(part)")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The URL text with any password replaced, for error messages about a URL that did not parse.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text[..<schemeEnd.upperBound] + "*****" + text[at...] }
        return text[..<text.index(after: colon)] + "*****" + text[at...]
    }

    /// `host:port`, as error messages name the server.
    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL with the password replaced by `*****`.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = (username ?? "") + ":*****@" } else if let username { credentials = username + "@" }
        return "redis://\(credentials)\(endpoint)" + (database == 0 ? "" : "/\(database)")
    }
}
