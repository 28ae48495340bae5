import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import SluiceServer

// Swift concurrency's jobs run on NIO's event loops rather than on a second pool of threads: a
// request handler then resumes on the thread its connection lives on instead of hopping to
// another thread and back at every await, which was the largest share of the gateway's CPU time
// per request (context switches, see docs/benchmarks.md). Done first, before any task starts.
if let cpus = EventLoopCount.forThisProcess() {
    NIOSingletons.groupLoopCountSuggestion = cpus
}
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

// One line per request: see GatewayLogHandler for why not swift-log's StreamLogHandler.
LoggingSystem.bootstrap { GatewayLogHandler(label: $0) }

// What `AsyncParsableCommand`'s own `main()` does. Spelled out, because top-level code resolves
// `main()` and `run()` to the synchronous `ParsableCommand` versions, which only print help;
// inside a function the async ones are chosen.
func runCommand() async {
    do {
        var command = try await SluiceCommand.asyncParseAsRoot(nil)
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    } catch {
        LogOutput.standardError.flush()
        SluiceCommand.exit(withError: error)
    }
}
await runCommand()
LogOutput.standardError.flush()
