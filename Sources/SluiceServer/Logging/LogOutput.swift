#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// A file descriptor that log lines go to, with info-level lines held for up to `flushInterval`
/// (or `bufferLimit` bytes) and written together, as nginx's `access_log ... buffer= flush=`
/// does. A line above info (a warning, an error) is written at once, after whatever is held,
/// so lines keep their order. `flush()` writes what is held; `sluice serve` calls it when it
/// stops. A crash can lose at most the last `flushInterval` of info lines; usage rows are the
/// record of requests, not the log.
public final class LogOutput: Sendable {
    public static let standardError = LogOutput(fileDescriptor: 2)

    private let fileDescriptor: Int32
    private let held = Mutex<[UInt8]>([])
    private let flusherStarted = Atomic(false)
    let flushInterval: Duration
    let bufferLimit: Int

    public init(fileDescriptor: Int32, flushInterval: Duration = .milliseconds(100), bufferLimit: Int = 32 * 1024) {
        self.fileDescriptor = fileDescriptor
        self.flushInterval = flushInterval
        self.bufferLimit = bufferLimit
    }

    /// Writes the line `appendLine` appends to the held bytes: built in place, with no string of
    /// its own (the request line comes once per request).
    func write(urgent: Bool, _ appendLine: (inout [UInt8]) -> Void) {
        let ready: [UInt8]? = held.withLock { held in
            appendLine(&held)
            guard urgent || held.count >= bufferLimit else { return nil }
            defer { held.removeAll(keepingCapacity: true) }
            return held
        }
        if let ready {
            writeAll(ready)
        } else {
            startFlusherOnce()
        }
    }

    /// Writes whatever is held now.
    public func flush() {
        let ready = held.withLock { held -> [UInt8] in
            defer { held.removeAll(keepingCapacity: true) }
            return held
        }
        if !ready.isEmpty { writeAll(ready) }
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // Nowhere to report a failing log; the lines are dropped.
                }
                offset += written
            }
        }
    }

    /// A thread that flushes every `flushInterval`, started with the first held line (a
    /// thread, not a task, so a busy or blocked executor never delays the log).
    private func startFlusherOnce() {
        // Checked on every line; set once.
        guard !flusherStarted.load(ordering: .relaxed),
              flusherStarted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let interval = flushInterval
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
                flush()
            }
        }
        thread.name = "sluice-log-flush"
        thread.start()
    }
}
