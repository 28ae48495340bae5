/// Why an attempt at a provider produced no response head.
public enum UpstreamFailure: Error, Sendable, Equatable {
    /// No response head within the attempt timeout.
    case timeout
    /// The connection could not be made or broke before the head arrived.
    case connection(String)
}
