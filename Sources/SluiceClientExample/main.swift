// sluice-client-example: pushes a batch of prompts through one key with SluiceClient and reports
// how many 429s reached the application. Against a key with `rpm: 60` the client learns the
// limit from the first answer's `RateLimit-Policy` and paces at 80% of it (48 a minute), so 500
// prompts take about 10.5 minutes and the application sees no 429 at all (docs/client.md).
import ArgumentParser
import Foundation
import SluiceClient

struct SluiceClientExample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-client-example",
        abstract: "Push a batch of chat prompts through one key with SluiceClient and count the 429s the application sees.")

    @Option(help: "The API root, including /v1.")
    var baseURL = "http://127.0.0.1:8080/v1"

    @Option(help: "The API key (default: $SLUICE_KEY).")
    var key: String?

    @Option(help: "The model to ask.")
    var model = "gpt-4o-mini"

    @Option(help: "How many prompts to send.")
    var count = 500

    @Option(help: "How many calls may run at once; the rest wait in the client's queue.")
    var concurrency = 8

    mutating func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard (key ?? ProcessInfo.processInfo.environment["SLUICE_KEY"]) != nil else {
            throw ValidationError("give --key or set SLUICE_KEY")
        }
    }

    /// Sends the batch and prints the tally.
    func push() async throws {
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_KEY"] ?? ""
        // Every prompt is queued at once: the queue must hold them all, the client paces them.
        let client = SluiceClient(baseURL: baseURL, apiKey: apiKey,
                                  configuration: SluiceClientConfiguration(maxConcurrent: concurrency, queueCapacity: count))
        let started = ContinuousClock.now
        let every = max(1, count / 20)
        var ok = 0, rateLimited = 0, failed = 0
        await withTaskGroup(of: SluiceClientError?.self) { group in
            for index in 0..<count {
                group.addTask { [model] in
                    let prompt = ChatCompletionRequest(model: model, messages: [ChatMessage(role: "user", content: "Prompt \(index + 1): say hello")])
                    do throws(SluiceClientError) {
                        _ = try await client.chat(prompt)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var done = 0
            for await error in group {
                done += 1
                switch error {
                case nil: ok += 1
                case let error? where error.status == 429: rateLimited += 1
                case let error?:
                    failed += 1
                    if failed <= 5 { print("error: \(error)") }
                }
                if done % every == 0 || done == count {
                    let elapsed = started.duration(to: .now).components.seconds
                    let pace = client.pacedRequestsPerMinute.map { "paced at \(Int($0 * client.configuration.targetFraction))/min of \(Int($0)) rpm" } ?? "not paced"
                    print("\(done)/\(count) done after \(elapsed) s, \(pace)")
                }
            }
        }
        try await client.shutdown()
        if failed > 0 { print("other errors: \(failed)") }
        print("sent \(count), ok \(ok), 429s seen by the application: \(rateLimited)")
        if ok != count { throw ExitCode.failure }
    }
}

// Top-level code (main.swift cannot hold `@main`): parse, run, and exit as ArgumentParser would.
do {
    let command = try SluiceClientExample.parse()
    try await command.push()
} catch {
    SluiceClientExample.exit(withError: error)
}
