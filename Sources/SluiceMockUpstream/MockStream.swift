import Hummingbird
// For `Task.isShuttingDownGracefully`; Hummingbird runs its server in a ServiceGroup.
import ServiceLifecycle

/// Writes one streamed reply as Server-Sent Events, event by event, with the scripted faults.
///
/// Each event is its own body write, which Hummingbird flushes at once, so a client sees every
/// chunk when it is produced. The sequence is: the role chunk (chat only), one chunk per word,
/// the finish chunk, the usage chunk (only when asked for and not `mock.no_usage`), `[DONE]`.
struct MockStream: Sendable {
    var reply: MockReply
    /// `stream_options.include_usage`: chunks carry `"usage":null` and a usage chunk is due.
    var includeUsage: Bool
    /// `mock.no_usage`: leave out the usage chunk even when it is due.
    var suppressUsage: Bool
    /// Pause between two events.
    var chunkMs: Int
    /// `mock.break_after`: content chunks written before the connection is dropped.
    var breakAfter: Int?
    /// `mock.stall_after`: content chunks written before the stream goes silent.
    var stallAfter: Int?
    /// How long a stall lasts at most before the connection is dropped (sooner on graceful shutdown).
    var stallLimit: Duration = .seconds(600)

    /// The response body that plays this stream.
    func responseBody() -> ResponseBody {
        ResponseBody { writer in
            try await self.write(to: &writer)
        }
    }

    /// Writes the whole stream, or throws ``MockStreamDropped`` where a fault was scripted.
    func write(to writer: inout any ResponseBodyWriter) async throws {
        var written = 0
        if reply.kind == .chat {
            try await emit(reply.roleEvent(usageNull: includeUsage), to: &writer, written: &written)
        }
        for index in reply.words.indices {
            try await interruptIfScripted(contentChunks: index, isLast: false)
            try await emit(reply.contentEvent(index: index, usageNull: includeUsage), to: &writer, written: &written)
        }
        // A fault scripted past the last word still happens, before the finish chunk.
        try await interruptIfScripted(contentChunks: reply.words.count, isLast: true)
        try await emit(reply.finishEvent(usageNull: includeUsage), to: &writer, written: &written)
        if includeUsage && !suppressUsage {
            try await emit(reply.usageEvent(), to: &writer, written: &written)
        }
        try await emit(MockReply.done, to: &writer, written: &written)
        try await writer.finish(nil)
    }

    private func emit(_ event: String, to writer: inout any ResponseBodyWriter, written: inout Int) async throws {
        if written > 0 && chunkMs > 0 {
            try await Task.sleep(for: .milliseconds(chunkMs))
        }
        try await writer.write(ByteBuffer(string: event))
        written += 1
    }

    private func interruptIfScripted(contentChunks: Int, isLast: Bool) async throws {
        if let breakAfter, breakAfter == contentChunks || (isLast && breakAfter > contentChunks) {
            // Throwing out of the body writer makes Hummingbird close the connection without
            // the terminating zero-length chunk: the client sees a truncated chunked body. The
            // pause first lets the chunks already written reach the client, so an abrupt close
            // cannot discard them and every run shows the same N chunks.
            try await Task.sleep(for: .milliseconds(50))
            throw MockStreamDropped()
        }
        if let stallAfter, stallAfter == contentChunks || (isLast && stallAfter > contentChunks) {
            try await stall()
        }
    }

    /// Sends nothing until the stall limit or the server's graceful shutdown, then drops the
    /// connection.
    ///
    /// Hummingbird allows remote half-closure and gives handlers no view of the connection, so
    /// a client that hangs up is not noticed here; polling for graceful shutdown instead keeps a
    /// stall from holding the server's shutdown (which waits for open connections) for 10 minutes.
    private func stall() async throws {
        let deadline = ContinuousClock.now + stallLimit
        while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
            try await Task.sleep(for: .milliseconds(50))
        }
        throw MockStreamDropped()
    }
}

/// Thrown from a stream's body writer to drop the connection mid-stream on purpose.
struct MockStreamDropped: Error, Sendable {}
