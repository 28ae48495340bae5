/// Behaviour applied by the mock provider to every request it answers.
///
/// Per-request behaviour (scripted failures, dropped streams, …) is asked for with
/// `mock.NAME=VALUE` directives in the prompt text instead; see ``MockUpstream``.
public struct MockUpstreamOptions: Sendable {
    /// Milliseconds waited before answering, that is before the first byte of the response head.
    public var latencyMs: Int
    /// Fraction (0...1) of requests answered with a 500 and an OpenAI-shaped `server_error` body.
    public var failRate: Double
    /// Milliseconds paused between two SSE chunks of a streamed answer.
    public var streamChunkMs: Int

    /// Creates options; the defaults answer at once, never fail at random and stream without pauses.
    public init(latencyMs: Int = 0, failRate: Double = 0, streamChunkMs: Int = 0) {
        self.latencyMs = latencyMs
        self.failRate = failRate
        self.streamChunkMs = streamChunkMs
    }
}
