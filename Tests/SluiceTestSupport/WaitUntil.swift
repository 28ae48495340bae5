/// Polls `condition` every 10 ms until it holds or `timeout` passes, for tests that wait on
/// something another task or process does: a fixed sleep is either slow or, on a loaded
/// machine, too short. Returns whether it held; the caller asserts.
@discardableResult
public func waitUntil(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(10))
    }
}
