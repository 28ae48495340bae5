import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
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
    func forward(_ body: ClientRequestBody, plan: [String], requestID: String, usage: inout UsageDraft,
                 context: SluiceRequestContext) async throws(GatewayError) -> UpstreamAnswer {
        let models = gateway.config.models
        var loop = RetryLoop(chain: plan.map { RetryLoop.Model(name: $0, weights: models[$0]!.deployments.map(\.weight)) },
                             policy: gateway.retryPolicy)
        var random = SystemRandomNumberGenerator()
        var callerError: GatewayError?
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
                context.trace.update { $0.attempts = loop.attempts }
                let result = await attempt(body, deployment: deployment, requestID: requestID, context: context)
                switch result {
                case .answered(let response, let target):
                    gateway.cooldowns.withLock { $0.recordSuccess(deployment) }
                    usage.row.servedModel = deployment.model
                    context.trace.update { $0.servedModel = deployment.model }
                    var headers: HTTPFields = [.servedModel: deployment.model, .attempts: String(loop.attempts)]
                    if deployment.model != plan[0] { headers[.fallbackFrom] = plan[0] }
                    return UpstreamAnswer(response: response, model: deployment.model, target: target, headers: headers)
                case .failed(let failure, let asCallerError):
                    callerError = asCallerError
                    if failure.countsTowardCooldown {
                        let nowMs = gateway.clock.nowMs()
                        if gateway.cooldowns.withLock({ $0.recordFailure(deployment, nowMs: nowMs) }) {
                            context.logger.warning("deployment cooling down", metadata: [
                                "sluice.deployment": "\(deployment)", "sluice.cooldown_s": "\(gateway.config.retry.cooldownSeconds)",
                                "sluice.error": "\(failure.detail)",
                            ])
                        }
                    }
                    loop.failed(failure, random: &random)
                }
            case .finished(let outcome):
                var error = finalError(outcome, plan: plan, callerError: callerError)
                if loop.attempts > 0 { error.headers.append((HTTPField.Name.attempts.rawName, String(loop.attempts))) }
                throw error
            }
        }
    }

    /// What one attempt came to: a 2xx head to relay, or a failure for the retry loop (with the
    /// error the caller gets if the loop stops on it).
    enum AttemptResult {
        case answered(HTTPClientResponse, UpstreamTarget)
        case failed(AttemptFailure, callerError: GatewayError?)
    }

    func attempt(_ body: ClientRequestBody, deployment: DeploymentRef, requestID: String, context: SluiceRequestContext) async -> AttemptResult {
        let configured = gateway.config.models[deployment.model]!.deployments[deployment.index]
        guard let target = gateway.target(for: configured) else {
            return .failed(AttemptFailure(kind: .connection, detail: "provider \(configured.provider) of model \(deployment.model) is not configured"), callerError: nil)
        }
        let timeout = gateway.config.retry.attemptTimeoutSeconds
        let response: HTTPClientResponse
        do {
            response = try await gateway.upstream.send(
                path: body.endpoint.rawValue, body: ByteBuffer(bytes: body.upstreamBody(providerModel: target.model)), to: target,
                requestID: requestID, headerTimeout: .seconds(Int64(timeout)), logger: context.logger)
        } catch {
            switch error {
            case .timeout:
                return .failed(AttemptFailure(kind: .timeout, detail: "provider \(target.providerName) did not answer within \(timeout) s (model \(deployment.model))"), callerError: nil)
            case .connection(let detail):
                return .failed(AttemptFailure(kind: .connection, detail: "could not reach provider for model \(deployment.model): \(detail)"), callerError: nil)
            }
        }
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return .answered(response, target) }
        return await providerFailure(response, target: target, model: deployment.model)
    }

    /// A provider's non-2xx answer as a failed attempt. Its own verdict on the request keeps the
    /// provider's status, code and message for the caller (SPEC §3).
    func providerFailure(_ response: HTTPClientResponse, target: UpstreamTarget, model: String) async -> AttemptResult {
        let status = Int(response.status.code)
        let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
        let detail = ProviderErrorBody(parsing: bytes)
        let said = detail.message.map { ": \($0)" } ?? ""
        let retryAfterMs = response.headers.first(name: "retry-after").flatMap { RetryAfterValue.milliseconds($0, nowMs: gateway.clock.nowMs()) }
        var failure = AttemptFailure(kind: .status(status), retryAfterMs: retryAfterMs,
                                     detail: "provider \(target.providerName) answered \(status) for model \(model)\(said)")
        if status == 401 || status == 403 {
            failure.detail = "provider \(target.providerName) rejected Sluice's credentials (\(status))\(said); the operator must fix providers.\(target.providerName).api_key_env"
        }
        guard failure.handling == .returnToCaller else { return .failed(failure, callerError: nil) }
        var callerError = GatewayError(status: status, code: detail.code ?? ErrorCode.invalidRequest.rawValue,
                                       type: detail.type ?? GatewayError.type(forStatus: status),
                                       message: detail.message ?? "Provider \(target.providerName) refused the request (\(status))", param: detail.param)
        callerError.retryAfterSeconds = retryAfterMs.map(Self.wholeSeconds)
        return .failed(failure, callerError: callerError)
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
            return GatewayError(status: timedOut ? 504 : 502, code: timedOut ? .upstreamTimeout : .upstreamError,
                                message: "\(attempts) upstream \(noun) for \(plan.joined(separator: ", ")) failed; the last: \(last.detail)",
                                retryAfterSeconds: retryAfterMs.map(Self.wholeSeconds))
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
