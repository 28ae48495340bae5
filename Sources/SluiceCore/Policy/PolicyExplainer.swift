/// Puts a policy into words, for `sluice policy explain` and the docs.
///
/// One style throughout: amount, window, who shares the counter, then `in a rolling window`:
///
///     1000 requests per 60 s (1 min), counted over all requests of the key, in a rolling window
///     10 cents of cost per 1000 s (16 min 40 s), counted separately for each user id taken from
///       the Helicone-User-Id header or the request's user field, in a rolling window
///     50000 tokens (prompt and completion) per 3600 s (1 h), counted separately for each value
///       of the Helicone-Property-Team header, in a rolling window
///
/// The amount is singular for 1 (`1 request`, `1 token`, `1 cent of cost`). The window is always
/// given in seconds and then, in parentheses, in words (`duration(seconds:)`). A property header
/// is named as the caller spelled it when that spelling has a capital letter, otherwise with
/// each `-`-separated word capitalised (`s=team` → `Helicone-Property-Team`).
public enum PolicyExplainer {
    /// What a policy does, in words (see the type's documentation for the style).
    public static func explain(_ policy: RateLimitPolicy) -> String {
        let window = "\(policy.windowSeconds) s (\(duration(seconds: policy.windowSeconds)))"
        return "\(amount(policy.quota, policy.unit)) per \(window), \(scope(policy)), in a rolling window"
    }

    /// The window in words: days, hours, minutes and seconds, largest first, zero parts left out:
    /// `16 min 40 s`, `1 h`, `1 day`, `2 days 1 h`, `1 min` (for 60), `45 s`. Zero or less is
    /// written as plain seconds (`0 s`).
    public static func duration(seconds: Int) -> String {
        guard seconds > 0 else { return "\(seconds) s" }
        let days = seconds / 86_400
        let hours = seconds % 86_400 / 3_600
        let minutes = seconds % 3_600 / 60
        let rest = seconds % 60
        var parts: [String] = []
        if days > 0 { parts.append(days == 1 ? "1 day" : "\(days) days") }
        if hours > 0 { parts.append("\(hours) h") }
        if minutes > 0 { parts.append("\(minutes) min") }
        if rest > 0 { parts.append("\(rest) s") }
        return parts.joined(separator: " ")
    }

    private static func amount(_ quota: Int, _ unit: RateLimitUnit) -> String {
        let one = quota == 1
        switch unit {
        case .request: return one ? "1 request" : "\(quota) requests"
        case .token: return one ? "1 token (prompt and completion)" : "\(quota) tokens (prompt and completion)"
        case .cents: return one ? "1 cent of cost" : "\(quota) cents of cost"
        }
    }

    private static func scope(_ policy: RateLimitPolicy) -> String {
        switch policy.segment {
        case .global:
            return "counted over all requests of the key"
        case .user:
            return "counted separately for each user id taken from the Helicone-User-Id header or the request's user field"
        case .property(let name):
            let header = "Helicone-Property-" + displayName(name, source: policy.source)
            return "counted separately for each value of the \(header) header"
        }
    }

    /// `name` as spelled in `source`'s `s=` parameter if that spelling has a capital letter, else
    /// with each `-`-separated word capitalised.
    static func displayName(_ name: String, source: String) -> String {
        for part in source.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let key = PolicyParser.trimmed(part[..<equals])
            let value = PolicyParser.trimmed(part[part.index(after: equals)...])
            if key.lowercased() == "s", value.lowercased() == name.lowercased(), value.contains(where: \.isUppercase) {
                return String(value)
            }
        }
        return name.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: "-")
    }
}
