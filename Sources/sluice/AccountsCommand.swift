import ArgumentParser
import SluiceCore

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Create and list accounts.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account with a balance in USD, or unlimited.")

        @Argument(help: "Account name: letters, digits, '-', '_' or '.'.")
        var name: String
        @Option(name: .long, help: "Starting balance in USD, e.g. 10 or 0.50.")
        var credits: String?
        @Flag(name: .long, help: "No balance limit.")
        var unlimited = false
        @OptionGroup var options: LedgerOptions

        func validate() throws {
            if unlimited, credits != nil { throw ValidationError("give either --credits or --unlimited, not both") }
            if !unlimited, credits == nil { throw ValidationError("give --credits USD (e.g. --credits 10) or --unlimited") }
            if let credits, NanoDollars(dollars: credits) == nil {
                throw ValidationError("--credits \"\(credits)\" is not an amount of dollars; write e.g. 10 or 0.50")
            }
        }

        func run() async throws {
            let account = try await options.withBackend { try await $0.createAccount(name: name, credits: credits.flatMap(NanoDollars.init(dollars:))) }
            if options.json {
                printJSON(account)
            } else {
                print("Created account \(name) with \(balanceText(account["balance_usd"])).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts and their balances.")
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            let accounts = try await options.withBackend { try await $0.accounts() }
            if options.json {
                printJSON(accounts)
                return
            }
            var table = TextTable("NAME", "BALANCE")
            for account in accounts {
                table.add(account["name"] as? String ?? "", balanceText(account["balance_usd"]))
            }
            print(accounts.isEmpty ? "No accounts yet: sluice accounts create NAME --credits 10" : table.render())
        }
    }
}

struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credits", abstract: "Top up accounts.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add USD to an account's balance; takes effect at once.")
        @Argument(help: "Account name.") var account: String
        @Argument(help: "Amount in USD, e.g. 25 or 0.50.") var usd: String
        @OptionGroup var options: LedgerOptions

        func validate() throws {
            if NanoDollars(dollars: usd) == nil { throw ValidationError("\"\(usd)\" is not an amount of dollars; write e.g. 25 or 0.50") }
        }

        func run() async throws {
            let amount = NanoDollars(dollars: usd)!
            let name = account
            let result = try await options.withBackend { try await $0.addCredits(account: name, amount: amount) }
            if options.json {
                printJSON(result)
            } else {
                print("Added \(amount) to \(name): balance \(balanceText(result["balance_usd"])).")
            }
        }
    }
}

/// `$12.3400`, or `unlimited` for a null balance.
func balanceText(_ value: Any?) -> String {
    guard let dollars = value as? Double else { return "unlimited" }
    return NanoDollars(Int64((dollars * Double(NanoDollars.perDollar)).rounded())).description
}
