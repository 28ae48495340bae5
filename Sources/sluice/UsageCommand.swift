import ArgumentParser
import SluiceCore

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Requests, tokens, cost and errors, grouped.")

    @Option(name: .long, help: "key, model, account, env, user or property:NAME.") var by = "key"
    @Option(name: .long, help: "How far back, e.g. 1h, 24h, 7d (default 24h; 1h with --per-minute).") var since: String?
    @Flag(name: .customLong("per-minute"), help: "Request volume per minute instead of groups.") var perMinute = false
    @OptionGroup var options: LedgerOptions

    func validate() throws {
        if UsageGrouping(parsing: by) == nil { throw ValidationError("--by \(UsageGrouping.problem), not \"\(by)\"") }
        if let since, DurationText.seconds(since) == nil { throw ValidationError("--since: \(DurationText.problem(since))") }
    }

    func run() async throws {
        if perMinute { return try await runTimeline(since: since ?? "1h") }
        let since = since ?? "24h"
        let grouping = UsageGrouping(parsing: by)!
        let rows = try await options.withBackend { try await $0.usage(by: grouping, since: since) }
        if options.json {
            printJSON(rows)
            return
        }
        var table = TextTable(grouping.description.uppercased(), "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS", "COST", "ERRORS", "RATE LIMITED")
        for row in rows {
            func number(_ name: String) -> String { (row[name] as? any NSNumberConvertible).map { String($0.int64Value) } ?? "0" }
            let cost = NanoDollars(Int64((((row["cost_usd"] as? Double) ?? 0) * Double(NanoDollars.perDollar)).rounded()))
            table.add(row["group"] as? String ?? "", number("requests"), number("input_tokens"), number("output_tokens"),
                      cost.formatted(decimals: 6), number("errors"), number("rate_limited"))
        }
        print(rows.isEmpty ? "No usage in the last \(since)." : table.render())
    }

    func runTimeline(since: String) async throws {
        let points = try await options.withBackend { try await $0.timeline(since: since) }
        if options.json {
            printJSON(points)
            return
        }
        var table = TextTable("MINUTE (UTC)", "REQUESTS", "ERRORS", "RATE LIMITED", "TOKENS", "COST")
        for point in points {
            func number(_ name: String) -> String { (point[name] as? any NSNumberConvertible).map { String($0.int64Value) } ?? "0" }
            let cost = NanoDollars(Int64((((point["cost_usd"] as? Double) ?? 0) * Double(NanoDollars.perDollar)).rounded()))
            table.add(formatTime((point["minute_ms"] as? any NSNumberConvertible)?.int64Value), number("requests"), number("errors"),
                      number("rate_limited"), number("tokens"), cost.formatted(decimals: 6))
        }
        print(points.isEmpty ? "No requests in the last \(since)." : table.render())
    }
}
