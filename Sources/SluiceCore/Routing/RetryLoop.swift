/// The attempts one client request makes (SPEC §6), as a state machine the proxy drives: ask
/// `next` what to do (wait, attempt a deployment, or stop), do it, report a failure with
/// `failed`, and ask again. Time, the random source and the shared cooldowns come in as
/// arguments, so every path is tested without a network or a clock.
///
/// The chain is walked in order. Each model gets up to `maxAttempts` attempts, each on one of its
/// deployments picked by weight among those not cooling down and not refused for this request.
/// A retryable failure waits (backoff with full jitter, or the provider's Retry-After) and tries
/// the same model again; a Retry-After above the policy's maximum, spent attempts, or a model with
/// no usable deployment move on to the next model at once. A caller's own error stops the loop.
public struct RetryLoop: Sendable {
    /// A model of the chain and the weights of its deployments, in configuration order.
    public struct Model: Sendable, Equatable {
        public var name: String
        public var weights: [Int]

        public init(name: String, weights: [Int]) {
            self.name = name
            self.weights = weights
        }
    }

    public enum Step: Sendable, Equatable {
        /// Sleep this long, then ask again.
        case wait(ms: Int64)
        /// Send the request to this deployment.
        case attempt(DeploymentRef)
        /// No more attempts: how the request ends.
        case finished(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        /// The last failure was the caller's own error: return the provider's answer.
        case returnToCaller(AttemptFailure)
        /// Every attempt failed. `retryAfterMs` is the last provider's Retry-After, else the
        /// earliest end of a cooldown met on the way, when known.
        case exhausted(last: AttemptFailure, attempts: Int, retryAfterMs: Int64?)
        /// No attempt could be made: every deployment of the chain is cooling down.
        case allCoolingDown(retryAfterMs: Int64)
    }

    public let chain: [Model]
    public let policy: RetryPolicy
    /// Attempts made so far, the first included (`Sluice-Attempts`).
    public private(set) var attempts = 0
    /// The deployment of the latest attempt.
    public private(set) var current: DeploymentRef?
    private var modelIndex = 0
    private var attemptsOnModel = 0
    private var pendingWaitMs: Int64 = 0
    private var skipped: Set<DeploymentRef> = []
    private var lastFailure: AttemptFailure?
    private var stopped = false
    private var earliestCooldownEndMs: Int64?

    public init(chain: [Model], policy: RetryPolicy) {
        self.chain = chain
        self.policy = policy
    }

    /// What to do now.
    public mutating func next(nowMs: Int64, cooldowns: CooldownBook, random: inout some RandomNumberGenerator) -> Step {
        if stopped, let lastFailure { return .finished(.returnToCaller(lastFailure)) }
        while modelIndex < chain.count {
            let model = chain[modelIndex]
            let usable = usableDeployments(of: model, nowMs: nowMs, cooldowns: cooldowns)
            guard attemptsOnModel < policy.maxAttempts, !usable.isEmpty else {
                moveToNextModel()
                continue
            }
            if pendingWaitMs > 0 {
                let wait = pendingWaitMs
                pendingWaitMs = 0
                return .wait(ms: wait)
            }
            let index = Self.pick(usable, weights: model.weights, random: &random)
            let deployment = DeploymentRef(model: model.name, index: index)
            attempts += 1
            attemptsOnModel += 1
            current = deployment
            return .attempt(deployment)
        }
        guard let lastFailure else {
            return .finished(.allCoolingDown(retryAfterMs: max(1, (earliestCooldownEndMs ?? nowMs) - nowMs)))
        }
        let cooldownWait = earliestCooldownEndMs.flatMap { $0 > nowMs ? $0 - nowMs : nil }
        return .finished(.exhausted(last: lastFailure, attempts: attempts, retryAfterMs: lastFailure.retryAfterMs ?? cooldownWait))
    }

    /// Reports that the latest attempt failed.
    public mutating func failed(_ failure: AttemptFailure, random: inout some RandomNumberGenerator) {
        lastFailure = failure
        switch failure.handling {
        case .returnToCaller:
            stopped = true
        case .skipDeployment:
            // The deployment is out for this request; the model's other deployments still get
            // its full number of attempts.
            if let current { skipped.insert(current) }
            attemptsOnModel -= 1
        case .retry:
            if let retryAfter = failure.retryAfterMs {
                if retryAfter > policy.maxRetryAfterMs {
                    moveToNextModel()
                } else {
                    pendingWaitMs = retryAfter
                }
            } else if attemptsOnModel < policy.maxAttempts {
                pendingWaitMs = policy.backoffMs(retry: attemptsOnModel - 1, using: &random)
            }
        }
    }

    /// The deployments of `model` this request may still use at `nowMs`, noting when the
    /// earliest cooldown among the others ends.
    private mutating func usableDeployments(of model: Model, nowMs: Int64, cooldowns: CooldownBook) -> [Int] {
        var usable: [Int] = []
        for index in model.weights.indices {
            let deployment = DeploymentRef(model: model.name, index: index)
            if skipped.contains(deployment) { continue }
            if let until = cooldowns.coolingUntil(deployment, nowMs: nowMs) {
                earliestCooldownEndMs = min(earliestCooldownEndMs ?? until, until)
                continue
            }
            usable.append(index)
        }
        return usable
    }

    private mutating func moveToNextModel() {
        modelIndex += 1
        attemptsOnModel = 0
        pendingWaitMs = 0
    }

    /// One of `candidates`, drawn in proportion to its weight (weights below 1 count as 1).
    static func pick(_ candidates: [Int], weights: [Int], random: inout some RandomNumberGenerator) -> Int {
        guard candidates.count > 1 else { return candidates[0] }
        let total = candidates.reduce(0) { $0 + max(1, weights[$1]) }
        var draw = Int.random(in: 0..<total, using: &random)
        for candidate in candidates {
            let weight = max(1, weights[candidate])
            if draw < weight { return candidate }
            draw -= weight
        }
        return candidates[candidates.count - 1]
    }
}
