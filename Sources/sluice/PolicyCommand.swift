import ArgumentParser
import Foundation
import SluiceCore

/// `sluice policy`: the rate-limit policy language of `Helicone-RateLimit-Policy` (SPEC §4).
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Rate-limit policies: check and explain them.", subcommands: [Explain.self])

    /// `sluice policy explain 'POLICY'`: the policy (or comma-separated list) in words, one numbered
    /// line per policy when there are several; a malformed one is `error: …` on stderr and exit 1.
    /// Several arguments are read as one comma-separated list. Arguments that look like options
    /// (`-5;w=60`) are taken as policies too, so the parser, not ArgumentParser, explains them.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say what a rate-limit policy does, e.g. sluice policy explain '1000;w=60, 50000;w=3600;u=token;s=user'.")

        @Argument(parsing: .allUnrecognized,
                  help: "A policy or comma-separated list, as in the Helicone-RateLimit-Policy header: quota;w=SECONDS;u=UNIT;s=SEGMENT.")
        var policy: [String] = []

        @Flag(name: .long, help: "Print JSON instead of sentences.")
        var json = false

        func run() async throws {
            let policies: [RateLimitPolicy]
            do {
                policies = try PolicyParser.parseList(policy.joined(separator: ", "))
            } catch {
                if json {
                    printJSON(["error": error.message])
                } else {
                    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                }
                throw ExitCode(1)
            }
            if json {
                printJSON(policies.map(Self.jsonObject))
            } else if policies.count == 1 {
                print(PolicyExplainer.explain(policies[0]))
            } else {
                for (index, policy) in policies.enumerated() {
                    print("\(index + 1). \(PolicyExplainer.explain(policy))")
                }
            }
        }

        static func jsonObject(_ policy: RateLimitPolicy) -> [String: Any] {
            let segment: Any
            switch policy.segment {
            case .global: segment = NSNull()
            case .user: segment = "user"
            case .property(let name): segment = "property:\(name)"
            }
            return [
                "policy": policy.source,
                "normalized": policy.normalized,
                "quota": policy.quota,
                "window_seconds": policy.windowSeconds,
                "unit": policy.unit.rawValue,
                "segment": segment,
                "explanation": PolicyExplainer.explain(policy),
            ]
        }
    }
}
