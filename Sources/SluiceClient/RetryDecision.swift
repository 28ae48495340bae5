/// What to do after a failed attempt, as ``ClientRetryPolicy`` decides it; the client performs it.
public enum RetryDecision: Sendable, Equatable {
    /// Sleep `after`, then send the same request again.
    case retry(after: Duration)
    /// Give up and throw the error to the caller now.
    case throwNow
}
