import ArgumentParser
import SluiceCore
import SluiceServer
import SluiceStore

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
        let sinceMs = Ledger.nowMs() - Int64(DurationText.seconds(since)!) * 1000
        let rows = try await options.withLedger { ledger, _ in try await ledger.usageReport(by: grouping, sinceMs: sinceMs) }
        if options.json {
            printJSON(rows.map(UsageView.json))
            return
        }
        var table = TextTable(grouping.description.uppercased(), "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS", "COST", "ERRORS", "RATE LIMITED")
        for row in rows {
            table.add(row.group, String(row.requests), String(row.inputTokens), String(row.outputTokens), row.cost.formatted(decimals: 6),
                      String(row.errors), String(row.rateLimited))
        }
        print(rows.isEmpty ? "No usage in the last \(since)." : table.render())
    }
}
