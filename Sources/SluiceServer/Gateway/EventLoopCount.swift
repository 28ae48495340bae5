import Foundation

/// How many CPUs this process may run on: the event loops to start.
///
/// NIO counts the machine's online CPUs (and a cgroup quota), not the affinity mask, so a
/// gateway pinned to one core (`taskset -c 1`, a cpuset container) would run two or more event
/// loops on that core, switching between them on every request. Linux shows the mask in
/// /proc/self/status (`Cpus_allowed`, hex words separated by commas).
public enum EventLoopCount {
    public static func forThisProcess() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return allowedCPUs(status: status)
    }

    public static func allowedCPUs(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0 != " " && $0 != "\t" && $0 != "," }
        var count = 0
        for digit in mask {
            guard let value = digit.hexDigitValue else { return nil }
            count += value.nonzeroBitCount
        }
        return count > 0 ? count : nil
    }
}
