import ArgumentParser
import SluiceCore

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
            let created = try await options.withBackend {
                try await $0.createKey(account: account, environment: KeyEnvironment(rawValue: env)!, preset: preset, name: name, expires: expires)
            }
            if options.json {
                printJSON(created)
            } else {
                print("Created key \(created["id"] as? String ?? "") for account \(account) (env \(env), preset \(preset)).")
                print("This is the only time the key is shown; store it now:")
                print("")
                print("    \(created["key"] as? String ?? "")")
                print("")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the key text, only its prefix).")
        @Option(name: .long, help: "Only this account's keys.") var account: String?
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            let keys = try await options.withBackend { try await $0.keys(account: account) }
            if options.json {
                printJSON(keys)
                return
            }
            var table = TextTable("ID", "PREFIX", "ACCOUNT", "ENV", "PRESET", "NAME", "CREATED", "EXPIRES", "STATUS")
            for key in keys {
                func text(_ name: String) -> String { key[name] as? String ?? "-" }
                func time(_ name: String) -> String { formatTime((key[name] as? any NSNumberConvertible)?.int64Value) }
                table.add(text("id"), text("prefix") + "…", text("account"), text("env"), text("preset"), text("name"),
                          time("created_at_ms"), time("expires_at_ms"), text("status"))
            }
            print(keys.isEmpty ? "No keys yet: sluice keys create --account A --env dev --preset P" : table.render())
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; a running server refuses it within a second.")
        @Argument(help: "The key id (key_…), as `keys list` shows it.") var id: String
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            try await options.withBackend { try await $0.revokeKey(id: id) }
            if options.json {
                printJSON(["id": id, "status": "revoked"])
            } else {
                print("Revoked key \(id).")
            }
        }
    }
}
