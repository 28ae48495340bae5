/// Splits a streamed body into lines and picks out the SSE `data:` payloads (SPEC §9). Bytes
/// arrive in arbitrary pieces, so a line split across two buffers is kept until its end comes.
struct ServerSentEventLines: Sendable {
    private var pending: [UInt8] = []

    /// Appends `bytes` and returns the `data:` payloads of the lines they completed, in order,
    /// without the `data:` prefix and its optional space. Comments, `event:` and `id:` lines and
    /// blank separators are skipped.
    mutating func append(_ bytes: some Sequence<UInt8>) -> [String] {
        pending.append(contentsOf: bytes)
        var payloads: [String] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var end = newline
            if end > start, pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = String(decoding: pending[start..<end], as: UTF8.self)
            start = newline + 1
            guard line.hasPrefix("data:") else { continue }
            var payload = line.dropFirst(5)
            if payload.first == " " { payload = payload.dropFirst() }
            payloads.append(String(payload))
        }
        pending.removeFirst(start)
        return payloads
    }
}
