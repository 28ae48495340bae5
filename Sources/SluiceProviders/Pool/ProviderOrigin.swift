/// Where `UpstreamConnectionPool` connects for a provider: the scheme, host and port of its
/// `base_url` (`http://` or `https://`, `host[:port]`, an optional path prefix).
public struct ProviderOrigin: Hashable, Sendable {
    public let host: String
    public let port: Int
    /// `https`: the connection is TLS, verified against `host`.
    public let usesTLS: Bool
    /// The `Host` header: the host, and the port when it is not the scheme's default.
    public let authority: String

    /// The authority stands for host and port (equal origins have equal authorities): hashing
    /// one string instead of two, for the pool's lookup on every call.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(authority)
        hasher.combine(usesTLS)
    }

    /// Nil unless `baseURL` is `http://` or `https://` with a host and, if any, a valid port
    /// (no user info).
    public init?(baseURL: String) {
        let lowercased = baseURL.lowercased()
        let usesTLS: Bool
        if lowercased.hasPrefix("http://") {
            usesTLS = false
        } else if lowercased.hasPrefix("https://") {
            usesTLS = true
        } else {
            return nil
        }
        let rest = baseURL.dropFirst(usesTLS ? "https://".count : "http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port = usesTLS ? 443 : 80
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
        self.usesTLS = usesTLS
        self.authority = String(authority)
    }

    /// The name sent for TLS server name indication and checked against the certificate; nil
    /// for an IP address, which SNI cannot carry (the certificate's IP addresses are checked).
    public var serverHostname: String? {
        Self.isIPAddress(host) ? nil : host
    }

    static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }  // IPv6; host names have no colons
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part)! <= 255
        }
    }

    /// The request target (path and query) of a full URL on this origin.
    public static func requestTarget(of url: String) -> String {
        let lowercased = url.lowercased()
        let rest = url.dropFirst(lowercased.hasPrefix("https://") ? "https://".count : lowercased.hasPrefix("http://") ? "http://".count : 0)
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let target = rest[slash...]
        return target.hasPrefix("?") ? "/" + target : String(target)
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
