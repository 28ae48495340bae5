import Logging
import ServiceLifecycle
import SluiceStore

/// Writes recorded usage rows to the ledger in batches, at most `interval` late.
///
/// It is the first service to start and the last to stop: after the HTTP server has drained
/// its in-flight requests on SIGTERM, the final flush writes every row that is left.
struct UsageFlusher: Service {
    let recorder: UsageRecorder
    let ledger: Ledger
    let credits: CreditGate
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Sleep between flushes until graceful shutdown begins; then fall through to the final flush.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await gracefulSleep(interval)
            await flush()
            await credits.keepLeases(logger: logger)
        }
        await finalFlush()
        // Leases given back, so other instances can spend the money at once rather than after
        // the leases lapse.
        await credits.keepLeases(all: true, logger: logger)
    }

    private func gracefulSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }

    /// Writes what is waiting; on failure puts it back for the next round.
    @discardableResult
    func flush() async -> Bool {
        let rows = recorder.takeAll()
        guard !rows.isEmpty else { return true }
        do {
            credits.written(try await ledger.insertUsage(rows, leaseHolder: credits.leaseHolder))
            return true
        } catch {
            recorder.putBack(rows)
            logger.error("writing usage rows failed; will retry", metadata: ["sluice.rows": "\(rows.count)", "sluice.error": "\(error)"])
            return false
        }
    }

    /// Keeps trying for a while so a database hiccup at shutdown does not lose rows.
    private func finalFlush() async {
        for attempt in 0..<20 {
            if await flush(), recorder.count == 0 { return }
            try? await Task.sleep(for: .milliseconds(min(100 * (attempt + 1), 1000)))
        }
        logger.critical("usage rows could not be written before shutdown", metadata: ["sluice.rows": "\(recorder.count)"])
    }
}
