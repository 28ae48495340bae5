import SluiceCore
import Synchronization

/// Parsed `Helicone-RateLimit-Policy` values by their text. A client sends the same few policies
/// on every request, and parsing them each time was a measurable part of a request's CPU time.
/// Bounded: when full it starts over, so a client sending ever new texts costs a re-parse, never
/// memory. Errors are not cached (they are rare, and their messages are cheap to rebuild).
final class PolicyHeaderCache: Sendable {
    private let entries = Mutex<[String: [RateLimitPolicy]]>([:])
    private let capacity: Int

    init(capacity: Int = 512) {
        self.capacity = capacity
    }

    func policies(for text: String) throws(PolicyParseError) -> [RateLimitPolicy] {
        if let cached = entries.withLock({ $0[text] }) { return cached }
        let parsed = try PolicyParser.parseList(text)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = parsed
        }
        return parsed
    }
}
