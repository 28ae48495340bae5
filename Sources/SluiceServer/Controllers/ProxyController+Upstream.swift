import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceProviders

/// A provider's successful response head, and which model and deployment gave it.
struct UpstreamAnswer {
    let response: HTTPClientResponse
    /// The Sluice model that answered.
    let model: String
    let target: UpstreamTarget
    /// `Sluice-Served-Model`, `Sluice-Attempts`, after a fallback `Sluice-Fallback-From`, and
    /// the rate-limit headers.
    var headers: HTTPFields
}

extension ProxyController {
    /// Sends the request along its chain until a provider answers 2xx, driven by `RetryLoop`:
    /// retries with backoff or the provider's Retry-After, fallbacks, deployments picked by
    /// weight, cooldowns. A provider's verdict on the request itself (a 4xx other than 401, 403,
    /// 429) goes back to the caller as is; exhaustion is a 502 or 504 naming the last failure;
    /// a chain that is all cooling down is a 503.
    func forward(_ body: ClientRequestBody, plan: [String], loop: RetryLoop, callerError: GatewayError?, usage: inout UsageDraft,
                 trace: RequestTrace) async throws(GatewayError) -> UpstreamAnswer {
        var loop = loop
        var random = SystemRandomNumberGenerator()
        var callerError = callerError
        while true {
            let book = gateway.cooldowns.withLock { $0 }
            switch loop.next(nowMs: gateway.clock.nowMs(), cooldowns: book, random: &random) {
            case .wait(let ms):
                do {
                    try await Task.sleep(for: .milliseconds(ms))
                } catch {
                    throw GatewayError(status: 502, code: .upstreamError, message: "The request was cancelled while waiting to retry")
                }
            case .attempt(let deployment):
                usage.row.attempts = loop.attempts
                trace.update { $0.attempts = loop.attempts }
                let result = await attempt(body, deployment: deployment, requestID: usage.row.requestID)
                switch result {
                case .answered(let response, let target):
                    let served = answered(by: deployment, loop: loop, plan: plan, usage: &usage, trace: trace)
                    return UpstreamAnswer(response: response, model: deployment.model, target: target, headers: served.fields)
                case .failed(let failure, let asCallerError):
                    callerError = asCallerError
                    attemptFailed(failure, deployment: deployment, loop: &loop, random: &random)
                }
            case .finished(let outcome):
                var error = finalError(outcome, plan: plan, callerError: callerError)
                if loop.attempts > 0 { error.headers.append((HTTPField.Name.attempts.rawName, String(loop.attempts))) }
                throw error
            }
        }
    }

    /// The retry loop for a plan: its models and their deployments' weights.
    func makeRetryLoop(plan: [String]) -> RetryLoop {
        let models = gateway.config.models
        return RetryLoop(chain: plan.map { RetryLoop.Model(name: $0, weights: models[$0]!.deployments.map(\.weight)) }, policy: gateway.retryPolicy)
    }

    /// A deployment answered 2xx: its failure count is reset, the usage row and the log line
    /// name it; the answer's headers say who answered, after how many attempts.
    func answered(by deployment: DeploymentRef, loop: RetryLoop, plan: [String], usage: inout UsageDraft, trace: RequestTrace) -> ServedBy {
        gateway.cooldowns.withLock { $0.recordSuccess(deployment) }
        usage.row.servedModel = deployment.model
        trace.update { $0.servedModel = deployment.model }
        return ServedBy(model: deployment.model, attempts: loop.attempts, fallbackFrom: deployment.model != plan[0] ? plan[0] : nil)
    }

    /// Who answered a call: `Sluice-Served-Model`, `Sluice-Attempts` and, after a fallback,
    /// `Sluice-Fallback-From`, for either kind of head.
    struct ServedBy {
        let model: String
        let attempts: Int
        let fallbackFrom: String?

        var fields: HTTPFields {
            var fields: HTTPFields = [.servedModel: model, .attempts: String(attempts)]
            if let fallbackFrom { fields[.fallbackFrom] = fallbackFrom }
            return fields
        }

        func add(to headers: inout some AnswerFields) {
            headers.add(name: HTTPField.Name.servedModel.rawName, value: model)
            headers.add(name: HTTPField.Name.attempts.rawName, value: String(attempts))
            if let fallbackFrom { headers.add(name: HTTPField.Name.fallbackFrom.rawName, value: fallbackFrom) }
        }
    }

    /// An attempt failed: it counts toward the deployment's cooldown (logged when one starts)
    /// and the loop learns what to do next.
    func attemptFailed(_ failure: AttemptFailure, deployment: DeploymentRef, loop: inout RetryLoop, random: inout some RandomNumberGenerator) {
        if failure.countsTowardCooldown {
            let nowMs = gateway.clock.nowMs()
            if gateway.cooldowns.withLock({ $0.recordFailure(deployment, nowMs: nowMs) }) {
                gateway.logger.warning("deployment cooling down", metadata: [
                    "sluice.deployment": "\(deployment)", "sluice.cooldown_s": "\(gateway.config.retry.cooldownSeconds)",
                    "sluice.error": "\(failure.detail)",
                ])
            }
        }
        loop.failed(failure, random: &random)
    }

    /// What one attempt came to: a 2xx head to relay, or a failure for the retry loop (with the
    /// error the caller gets if the loop stops on it).
    enum AttemptResult {
        case answered(HTTPClientResponse, UpstreamTarget)
        case failed(AttemptFailure, callerError: GatewayError?)
    }

    func attempt(_ body: ClientRequestBody, deployment: DeploymentRef, requestID: String) async -> AttemptResult {
        let configured = gateway.config.models[deployment.model]!.deployments[deployment.index]
        guard let target = gateway.target(for: configured) else {
            return .failed(unconfiguredProvider(deployment), callerError: nil)
        }
        let timeout = gateway.config.retry.attemptTimeoutSeconds
        let response: HTTPClientResponse
        do {
            response = try await gateway.upstream.send(
                path: body.endpoint.rawValue, body: ByteBuffer(bytes: body.upstreamBody(providerModel: target.model)), to: target,
                requestID: requestID, headerTimeout: .seconds(Int64(timeout)), logger: gateway.logger)
        } catch {
            return .failed(unanswered(error, target: target, model: deployment.model), callerError: nil)
        }
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return .answered(response, target) }
        let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
        let (failure, callerError) = providerFailure(status: status, headers: response.headers, body: bytes, target: target, model: deployment.model)
        return .failed(failure, callerError: callerError)
    }

    /// A deployment whose provider is not in the configuration.
    func unconfiguredProvider(_ deployment: DeploymentRef) -> AttemptFailure {
        let configured = gateway.config.models[deployment.model]!.deployments[deployment.index]
        return AttemptFailure(kind: .connection, detail: "provider \(configured.provider) of model \(deployment.model) is not configured")
    }

    /// An attempt that got no answer: the attempt timeout passed, or the connection failed.
    func unanswered(_ error: UpstreamFailure, target: UpstreamTarget, model: String) -> AttemptFailure {
        switch error {
        case .timeout:
            let timeout = gateway.config.retry.attemptTimeoutSeconds
            return AttemptFailure(kind: .timeout, detail: "provider \(target.providerName) did not answer within \(timeout) s (model \(model))")
        case .connection(let detail):
            return AttemptFailure(kind: .connection, detail: "could not reach provider for model \(model): \(detail)")
        }
    }

    /// A provider's non-2xx answer as a failed attempt. Its own verdict on the request keeps the
    /// provider's status, code and message for the caller (SPEC §3).
    func providerFailure(status: Int, headers: HTTPHeaders, body: [UInt8], target: UpstreamTarget, model: String) -> (AttemptFailure, GatewayError?) {
        let detail = ProviderErrorBody(parsing: body)
        let said = detail.message.map { ": \($0)" } ?? ""
        let retryAfterMs = headers.first(name: "retry-after").flatMap { RetryAfterValue.milliseconds($0, nowMs: gateway.clock.nowMs()) }
        var failure = AttemptFailure(kind: .status(status), retryAfterMs: retryAfterMs,
                                     detail: "provider \(target.providerName) answered \(status) for model \(model)\(said)")
        if status == 401 || status == 403 {
            failure.detail = "provider \(target.providerName) rejected Sluice's credentials (\(status))\(said); the operator must fix providers.\(target.providerName).api_key_env"
        }
        guard failure.handling == .returnToCaller else { return (failure, nil) }
        var callerError = GatewayError(status: status, code: detail.code ?? ErrorCode.invalidRequest.rawValue,
                                       type: detail.type ?? GatewayError.type(forStatus: status),
                                       message: detail.message ?? "Provider \(target.providerName) refused the request (\(status))", param: detail.param)
        callerError.retryAfterSeconds = retryAfterMs.map(Self.wholeSeconds)
        return (failure, callerError)
    }

    /// The error that ends a request whose attempts all failed.
    func finalError(_ outcome: RetryLoop.Outcome, plan: [String], callerError: GatewayError?) -> GatewayError {
        switch outcome {
        case .returnToCaller(let failure):
            return callerError ?? GatewayError(status: 502, code: .upstreamError, message: failure.detail.capitalizedFirst)
        case .allCoolingDown(let retryAfterMs):
            return GatewayError(status: 503, code: .upstreamUnavailable,
                                message: "Every deployment of \(plan.joined(separator: ", ")) is cooling down after repeated failures; retry after the cooldown",
                                retryAfterSeconds: Self.wholeSeconds(retryAfterMs))
        case .exhausted(let last, let attempts, let retryAfterMs):
            let timedOut = last.kind == .timeout
            let noun = attempts == 1 ? "attempt" : "attempts"
            // SPEC §3: a 504 carries no Retry-After (a provider that said nothing gave none to
            // pass on; a cooldown the timeouts started is not a time the provider named).
            return GatewayError(status: timedOut ? 504 : 502, code: timedOut ? .upstreamTimeout : .upstreamError,
                                message: "\(attempts) upstream \(noun) for \(plan.joined(separator: ", ")) failed; the last: \(last.detail)",
                                retryAfterSeconds: timedOut ? nil : retryAfterMs.map(Self.wholeSeconds))
        }
    }

    /// Milliseconds as a Retry-After in whole seconds, rounded up, at least 1.
    static func wholeSeconds(_ ms: Int64) -> Int {
        Int(max(1, (ms + 999) / 1000))
    }
}

extension String {
    var capitalizedFirst: String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}
