/// The most starts that fall in any half-open 60 s window `[t, t + 60 s)`. The worst window
/// begins at a start, so only those need checking.
func mostStartsInAnyMinute(_ starts: [ContinuousClock.Instant]) -> Int {
    let sorted = starts.sorted()
    var most = 0
    var end = 0
    for (index, first) in sorted.enumerated() {
        while end < sorted.count && sorted[end] < first + .seconds(60) { end += 1 }
        most = max(most, end - index)
    }
    return most
}
