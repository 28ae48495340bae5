import ArgumentParser
import SluiceCore
import SluiceServer
import SluiceStore

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
            let account = try await options.withLedger { ledger, _ in
                try await ledger.createAccount(name: name, balance: credits.flatMap(NanoDollars.init(dollars:)), atMs: Ledger.nowMs())
            }
            if options.json {
                printJSON(AccountView.json(account))
            } else {
                print("Created account \(account.name) with \(account.balance.map(\.description) ?? "unlimited credits").")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts and their balances.")
        @OptionGroup var options: LedgerOptions

        func run() async throws {
            let accounts = try await options.withLedger { ledger, _ in try await ledger.accounts() }
            if options.json {
                printJSON(accounts.map(AccountView.json))
                return
            }
            var table = TextTable("NAME", "BALANCE", "CREATED")
            for account in accounts {
                table.add(account.name, account.balance.map(\.description) ?? "unlimited", formatTime(account.createdAtMs))
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
            let account = try await options.withLedger { ledger, _ in
                try await ledger.addCredits(account: name, amount: amount, atMs: Ledger.nowMs())
            }
            if options.json {
                printJSON(AccountView.json(account))
            } else {
                print("Added \(amount) to \(account.name): balance \(account.balance.map(\.description) ?? "unlimited").")
            }
        }
    }
}
