/// Durations as people write them on the command line and in the admin API: `30s`, `15m`,
/// `12h`, `30d`.
public enum DurationText {
    /// Seconds in `text`, or nil when it is not a positive whole number followed by s, m, h or d.
    public static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let amount = Int(text.dropLast()), amount > 0 else { return nil }
        let multiplier: Int
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86400
        default: return nil
        }
        let (seconds, overflow) = amount.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : seconds
    }

    /// The error message for a duration that did not parse.
    public static func problem(_ text: String) -> String {
        "\"\(text)\" is not a duration; write a whole number and a unit, such as 30s, 15m, 12h or 30d"
    }
}
