extension Duration {
    /// Whole nanoseconds, saturating at `Int64` (≈292 years) instead of trapping: the policies
    /// draw random waits in this unit, and a caller's `.seconds(.max)` must not crash them.
    var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }
}
