/// Per-request behaviour asked for by `mock.NAME=VALUE` words in the prompt text.
///
/// The gateway forwards request bodies untouched, so its tests script the upstream through the
/// prompt. Unknown names and unparsable values are ignored; when a name repeats, the last wins.
struct MockDirectives: Sendable, Equatable {
    /// `mock.status=503` or `mock.status=503,429`: statuses (400...599) to answer instead of
    /// success; in a list, a 2xx stands for a request answered normally.
    var statuses: [Int] = []
    /// `mock.code=...`: the `error.code` of the scripted failure.
    var code: String?
    /// `mock.message=...` with `_` read as spaces: the `error.message` of the scripted failure.
    var message: String?
    /// `mock.retry_after=N`: a `Retry-After` header on the scripted failure.
    var retryAfter: Int?
    /// `mock.times=K`: only the first K requests carrying ``id`` fail.
    var times: Int?
    /// `mock.id=ID`: the counter that ``times`` and a status list are kept against.
    var id: String?
    /// `mock.fail_model=NAME`: the scripted status applies only to requests for this model (as
    /// the provider sees it), so a fallback to another model succeeds.
    var failModel: String?
    /// `mock.first_byte_ms=N`: extra wait before the response head.
    var firstByteMs: Int?
    /// `mock.completion_tokens=N`: reply length instead of the default.
    var completionTokens: Int?
    /// `mock.break_after=N`: drop the connection after N content chunks of a stream.
    var breakAfter: Int?
    /// `mock.stall_after=N`: stop sending (without closing) after N content chunks of a stream.
    var stallAfter: Int?
    /// `mock.no_usage=1`: never send the usage chunk of a stream.
    var noUsage = false
    /// `mock.chunk_ms=N`: pause between SSE chunks, overriding the option.
    var chunkMs: Int?

    /// Reads one whitespace-free word; words that are not `mock.NAME=VALUE` are ignored.
    mutating func apply(word: Substring) {
        guard word.hasPrefix("mock."), let equals = word.firstIndex(of: "=") else { return }
        let name = word[word.index(word.startIndex, offsetBy: 5)..<equals]
        let value = word[word.index(after: equals)...]
        let number = Int(value).map { max(0, $0) }
        switch name {
        case "status":
            // A 2xx in a list is a request answered normally (`429,200`: refused once, then
            // answered); kept so that the list's positions stay the requests'.
            let parsed = value.split(separator: ",").compactMap { Int($0) }.filter { (200...599).contains($0) && !(300...399).contains($0) }
            if parsed.contains(where: { $0 >= 400 }) { statuses = parsed }
        case "code": code = String(value)
        case "message": message = String(value.map { $0 == "_" ? " " : $0 })
        case "retry_after": retryAfter = number ?? retryAfter
        case "times": times = number ?? times
        case "id": id = String(value)
        case "fail_model": failModel = String(value)
        case "first_byte_ms": firstByteMs = number ?? firstByteMs
        case "completion_tokens": completionTokens = number ?? completionTokens
        case "break_after": breakAfter = number ?? breakAfter
        case "stall_after": stallAfter = number ?? stallAfter
        case "no_usage": noUsage = value != "0" && value != "false"
        case "chunk_ms": chunkMs = number ?? chunkMs
        default: break
        }
    }

    /// The status this request must fail with, or nil to answer normally.
    ///
    /// With a ``id``, each call counts one more request for that id: a list of statuses gives
    /// the n-th request the n-th status, a single status fails the first ``times`` requests (all
    /// of them without `times`). Without an id there is nothing to count, so the first status
    /// always applies.
    func scriptedStatus(model: String, counters: MockCounters) -> Int? {
        guard let first = statuses.first else { return nil }
        if let failModel, failModel != model { return nil }
        guard let id else { return first >= 400 ? first : nil }
        let ordinal = counters.nextOrdinal(forScriptID: id)
        if statuses.count > 1 {
            guard ordinal <= statuses.count, statuses[ordinal - 1] >= 400 else { return nil }
            return statuses[ordinal - 1]
        }
        if let times {
            return ordinal <= times ? first : nil
        }
        return first
    }
}
