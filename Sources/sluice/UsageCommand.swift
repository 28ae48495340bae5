import ArgumentParser
import SluiceCore

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Requests, tokens, cost and errors, grouped.")

    @Option(name: .long, help: "key, model, account, env, user or property:NAME.") var by = "key"
    @Option(name: .long, help: "How far back, e.g. 1h, 24h, 7d.") var since = "24h"
    @OptionGroup var options: LedgerOptions

    func validate() throws {
        if UsageGrouping(parsing: by) == nil { throw ValidationError("--by \(UsageGrouping.problem), not \"\(by)\"") }
        if DurationText.seconds(since) == nil { throw ValidationError("--since: \(DurationText.problem(since))") }
    }

    func run() async throws {
        let grouping = UsageGrouping(parsing: by)!
        let rows = try await options.withBackend { try await $0.usage(by: grouping, since: since) }
        if options.json {
            printJSON(rows)
            return
        }
        var table = TextTable(grouping.description.uppercased(), "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS", "COST", "ERRORS", "RATE LIMITED")
        for row in rows {
            func number(_ name: String) -> String { (row[name] as? NSNumberConvertible).map { String($0.int64Value) } ?? "0" }
            let cost = NanoDollars(Int64((((row["cost_usd"] as? Double) ?? 0) * Double(NanoDollars.perDollar)).rounded()))
            table.add(row["group"] as? String ?? "", number("requests"), number("input_tokens"), number("output_tokens"),
                      cost.formatted(decimals: 6), number("errors"), number("rate_limited"))
        }
        print(rows.isEmpty ? "No usage in the last \(since)." : table.render())
    }
}
