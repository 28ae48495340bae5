import ArgumentParser
import SluiceCore
import SluiceServer
import SluiceStore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; the key is printed once and never again.")
        @Option(name: .long, help: "Account the key's usage is charged to.") var account: String
        @Option(name: .long, help: "dev, staging or prod.") var env: String
        @Option(name: .long, help: "Preset (from the configuration) with the key's limits.") var preset: String
        @Option(name: .long, help: "A name to recognise the key by.") var name: String?
        @Option(name: .long, help: "Lifetime, e.g. 30d, 12h, 15m.") var expires: String?
        @OptionGroup var options: LedgerOptions

        func validate() throws {
            if KeyEnvironment(rawValue: env) == nil { throw ValidationError("--env must be dev, staging or prod, not \"\(env)\"") }
            if let expires, DurationText.seconds(expires) == nil { throw ValidationError("--expires: \(DurationText.problem(expires))") }
        }

        func run() async throws {
            let (key, record) = try await options.withLedger { ledger, config in
                try await KeyIssuer(ledger: ledger, config: config).issue(
                    account: account, environment: KeyEnvironment(rawValue: env)!, preset: preset, name: name,
                    expiresInSeconds: expires.flatMap(DurationText.seconds), nowMs: Ledger.nowMs())
            }
            if options.json {
                printJSON(KeyView.created(key: key, record: record))
            } else {
                print("Created key \(record.id) for account \(record.account) (env \(record.environment.rawValue), preset \(record.preset)).")
                print("This is the only time the key is shown; store it now:")
                print("")
                print("    \(key)")
                print("")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the key text, only its prefix).")
        @Option(name: .long, help: "Only this account's keys.") var account: String?
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            let keys = try await options.withLedger { ledger, _ in try await ledger.keys(account: account) }
            let now = Ledger.nowMs()
            if options.json {
                printJSON(keys.map { KeyView.listed($0, nowMs: now) })
                return
            }
            var table = TextTable("ID", "PREFIX", "ACCOUNT", "ENV", "PRESET", "NAME", "CREATED", "EXPIRES", "STATUS")
            for key in keys {
                table.add(key.id, key.displayPrefix + "…", key.account, key.environment.rawValue, key.preset, key.name ?? "-",
                          formatTime(key.createdAtMs), formatTime(key.expiresAtMs), KeyView.status(key, nowMs: now))
            }
            print(keys.isEmpty ? "No keys yet: sluice keys create --account A --env dev --preset P" : table.render())
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; a running server refuses it within a second.")
        @Argument(help: "The key id (key_…), as `keys list` shows it.") var id: String
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            let record = try await options.withLedger { ledger, _ in try await ledger.revokeKey(id: id, atMs: Ledger.nowMs()) }
            if options.json {
                printJSON(KeyView.listed(record, nowMs: Ledger.nowMs()))
            } else {
                print("Revoked key \(record.id) (\(record.displayPrefix)…).")
            }
        }
    }
}
