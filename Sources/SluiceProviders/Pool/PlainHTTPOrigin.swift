/// A provider reachable over plain HTTP/1.1 (`http://host[:port][/prefix]`): what
/// `UpstreamConnectionPool` connects to. `https` base URLs have none; they go through
/// `UpstreamClient`.
public struct PlainHTTPOrigin: Hashable, Sendable {
    public let host: String
    public let port: Int
    /// The `Host` header: the host, and the port when it is not 80.
    public let authority: String

    /// Nil unless `baseURL` is `http://` with a host and, if any, a valid port.
    public init?(baseURL: String) {
        guard baseURL.lowercased().hasPrefix("http://") else { return nil }
        let rest = baseURL.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port = 80
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1] or [::1]:8080.
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
            host = authority[..<colon]
            port = parsed
        }
        guard !host.isEmpty else { return nil }
        self.host = String(host)
        self.port = port
        self.authority = String(authority)
    }

    /// The request target (path and query) of a full URL on this origin.
    public static func requestTarget(of url: String) -> String {
        let rest = url.dropFirst("http://".count)
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let target = rest[slash...]
        return target.hasPrefix("?") ? "/" + target : String(target)
    }
}
