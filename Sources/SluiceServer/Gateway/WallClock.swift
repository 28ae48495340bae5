import Foundation

/// Where the server reads the time; tests replace it to pin the clock.
public struct WallClock: Sendable {
    /// Milliseconds since 1970 (UTC).
    public let nowMs: @Sendable () -> Int64

    public init(nowMs: @escaping @Sendable () -> Int64) {
        self.nowMs = nowMs
    }

    /// The system clock.
    public static let system = WallClock { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
