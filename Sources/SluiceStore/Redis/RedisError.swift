/// What went wrong talking to Redis, worded for the person who has to fix it: each message names
/// the server and, where there is one, the next step.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL did not parse; the message names the bad part.
    case invalidURL(String)
    /// No TCP connection could be made (refused, unreachable, name not found, connect timeout).
    case connectionFailed(endpoint: String, reason: String)
    /// A recent connect failed and the client waits before trying again; nothing was sent.
    case backingOff(endpoint: String, reason: String, retryInMs: Int64)
    /// The server did not answer within the command timeout; the connection was dropped so a
    /// late answer cannot be taken for the next command's.
    case timeout(endpoint: String, ms: Int64)
    /// The connection closed before the answer came.
    case connectionClosed(endpoint: String)
    /// The server answered with an error (`NOAUTH ...`, `WRONGPASS ...`, `NOSCRIPT ...`, `ERR ...`).
    case server(endpoint: String, message: String)
    /// The bytes were not valid RESP, or a reply did not have the shape the command promises.
    case protocolViolation(endpoint: String, detail: String)
    /// The client was shut down.
    case shutDown

    public var description: String {
        switch self {
        case .invalidURL(let message):
            return message
        case .connectionFailed(let endpoint, let reason):
            return "could not connect to redis at \(endpoint): \(reason)"
        case .backingOff(let endpoint, let reason, let retryInMs):
            return "redis at \(endpoint) is unreachable (\(reason)); next attempt in \(retryInMs) ms"
        case .timeout(let endpoint, let ms):
            return "redis at \(endpoint) did not answer within \(ms) ms"
        case .connectionClosed(let endpoint):
            return "the connection to redis at \(endpoint) closed before it answered"
        case .server(let endpoint, let message):
            if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                return "redis at \(endpoint) refused us: \(message) (give the password in the URL: redis://:password@host or redis://user:password@host)"
            }
            return "redis at \(endpoint) answered: \(message)"
        case .protocolViolation(let endpoint, let detail):
            return "redis at \(endpoint) sent an unexpected reply: \(detail)"
        case .shutDown:
            return "the redis client has been shut down"
        }
    }

    /// Whether the error is about reaching Redis at all (rather than a command Redis refused):
    /// what the failover store treats as the store being down.
    public var isConnectivity: Bool {
        switch self {
        case .connectionFailed, .backingOff, .timeout, .connectionClosed, .shutDown, .protocolViolation: true
        case .invalidURL, .server: false
        }
    }
}
