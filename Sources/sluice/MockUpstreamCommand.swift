import ArgumentParser
import Hummingbird
import Logging
import SluiceMockUpstream

struct MockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-upstream",
        abstract: "Run the fake OpenAI-compatible provider used by the demo, the tests and the benchmarks.",
        discussion: "Scripted failures per request: put tokens like mock.status=503 mock.retry_after=2 in the prompt (see docs/mock-upstream.md).")

    @Option(name: .long, help: "Port to listen on.") var port = 9001
    @Option(name: .long, help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .customLong("latency-ms"), help: "Delay before every answer.") var latencyMs = 0
    @Option(name: .customLong("fail-rate"), help: "Fraction (0...1) of requests answered with 500.") var failRate = 0.0
    @Option(name: .customLong("stream-chunk-ms"), help: "Pause between streamed chunks.") var streamChunkMs = 0

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if !(0...1).contains(failRate) { throw ValidationError("--fail-rate must be between 0 and 1, e.g. 0.1") }
        if latencyMs < 0 || streamChunkMs < 0 { throw ValidationError("--latency-ms and --stream-chunk-ms must not be negative") }
    }

    func run() async throws {
        var logger = Logger(label: "sluice.mock")
        logger.logLevel = .warning
        let options = MockUpstreamOptions(latencyMs: latencyMs, failRate: failRate, streamChunkMs: streamChunkMs)
        let host = host
        let app = MockUpstream.makeApplication(options: options, host: host, port: port, logger: logger) { port in
            print("mock provider listening on http://\(host):\(port)/v1")
        }
        try await app.runService()
    }
}
