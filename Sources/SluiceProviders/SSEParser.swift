/// One server-sent event as it came from the provider.
public struct SSEEvent: Sendable, Equatable {
    /// The event's bytes exactly as received, the terminating blank line included, so it can be
    /// relayed untouched.
    public var raw: [UInt8]
    /// The `data:` lines joined with newlines; nil for events without data (comments, pings).
    public var data: [UInt8]?

    /// Whether this is OpenAI's end-of-stream marker `data: [DONE]`.
    public var isDone: Bool { data.map { $0 == Array("[DONE]".utf8) } ?? false }
}

/// Splits a byte stream into server-sent events as the bytes arrive (WHATWG EventSource
/// framing: lines end in LF, CRLF or CR; a blank line ends an event).
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    /// Where the event being assembled starts in `buffer`.
    private var eventStart = 0
    /// Where scanning for the next line resumes.
    private var lineStart = 0
    private var data: [UInt8]? = nil

    public init() {}

    /// Adds received bytes and returns the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [SSEEvent] {
        buffer.append(contentsOf: bytes)
        var events: [SSEEvent] = []
        var index = lineStart
        while index < buffer.count {
            let byte = buffer[index]
            guard byte == 0x0A || byte == 0x0D else { index += 1; continue }
            // A CR at the very end may be the first half of CRLF: wait for the next byte.
            if byte == 0x0D, index + 1 == buffer.count { break }
            let lineEnd = index
            index += (byte == 0x0D && buffer[index + 1] == 0x0A) ? 2 : 1
            if lineEnd == lineStart {
                events.append(SSEEvent(raw: Array(buffer[eventStart..<index]), data: data))
                data = nil
                eventStart = index
            } else {
                field(buffer[lineStart..<lineEnd])
            }
            lineStart = index
        }
        // Drop what has been emitted so the buffer holds at most one partial event.
        if eventStart > 0 {
            buffer.removeFirst(eventStart)
            lineStart -= eventStart
            eventStart = 0
        }
        return events
    }

    /// The bytes of an event the stream ended in the middle of, if any.
    public var pendingBytes: Int { buffer.count }

    private mutating func field(_ line: ArraySlice<UInt8>) {
        let prefix = Array("data".utf8)
        guard line.count >= prefix.count, line.prefix(prefix.count).elementsEqual(prefix) else { return }
        var value = line.dropFirst(prefix.count)
        if let first = value.first {
            guard first == UInt8(ascii: ":") else { return }
            value = value.dropFirst()
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        if data == nil {
            data = Array(value)
        } else {
            data!.append(0x0A)
            data!.append(contentsOf: value)
        }
    }
}
