/// Consecutive failures per deployment, and which deployments are cooling down (SPEC §6): a
/// deployment that failed `afterFailures` times in a row is skipped for `cooldownMs`; a success
/// resets it. When the cooldown ends the deployment is tried again; as its failure count is still
/// at the threshold, one more failure cools it down again at once.
///
/// Pure: the gateway keeps one book behind a lock, shared by every request.
public struct CooldownBook: Sendable, Equatable {
    struct Health: Sendable, Equatable {
        var consecutiveFailures = 0
        var coolingUntilMs: Int64?
    }

    public let afterFailures: Int
    public let cooldownMs: Int64
    private var health: [DeploymentRef: Health] = [:]

    public init(afterFailures: Int, cooldownMs: Int64) {
        self.afterFailures = max(1, afterFailures)
        self.cooldownMs = max(0, cooldownMs)
    }

    /// When the deployment's cooldown ends, if it is cooling down at `nowMs`.
    public func coolingUntil(_ deployment: DeploymentRef, nowMs: Int64) -> Int64? {
        guard let until = health[deployment]?.coolingUntilMs, until > nowMs else { return nil }
        return until
    }

    /// Counts a failed attempt; returns true when it starts a cooldown.
    @discardableResult
    public mutating func recordFailure(_ deployment: DeploymentRef, nowMs: Int64) -> Bool {
        var state = health[deployment] ?? Health()
        state.consecutiveFailures += 1
        let trips = state.consecutiveFailures >= afterFailures && cooldownMs > 0
        if trips { state.coolingUntilMs = nowMs + cooldownMs }
        health[deployment] = state
        return trips
    }

    /// A deployment that answered is healthy again.
    public mutating func recordSuccess(_ deployment: DeploymentRef) {
        if health[deployment] != nil { health[deployment] = nil }
    }

    /// Consecutive failures counted for the deployment.
    public func consecutiveFailures(_ deployment: DeploymentRef) -> Int {
        health[deployment]?.consecutiveFailures ?? 0
    }
}
