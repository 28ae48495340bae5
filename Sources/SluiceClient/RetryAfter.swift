import Foundation

/// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
enum RetryAfter {
    /// How long to wait, from `value` read at `now`; nil when absent or unreadable. A date in the
    /// past is zero, not negative: the server means "now".
    static func parse(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.allSatisfy(\.isASCIIDigit) {
            // Absurdly long delays are clamped rather than overflowed; the retry policy compares
            // them with the caller's patience anyway.
            guard let seconds = Int64(value) else { return .seconds(Int64.max) }
            return .seconds(seconds)
        }
        guard let date = httpDate(value) else { return nil }
        let interval = date.timeIntervalSince(now)
        return interval > 0 ? .seconds(interval.rounded(.up)) : .zero
    }

    /// IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, the only form servers may send; the obsolete
    /// forms are rare enough to treat as "no Retry-After".
    static func httpDate(_ value: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: value)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
