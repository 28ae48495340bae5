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
    /// Walks the plan, one attempt per model, until a provider answers 2xx. A provider's own
    /// client error (400, 404, 409, 413, 422) ends the walk and goes back to the caller as is.
    func forward(_ body: ClientRequestBody, plan: [String], requestID: String, usage: inout UsageDraft,
                 context: SluiceRequestContext) async throws(GatewayError) -> UpstreamAnswer {
        var attempts = 0
        var lastError: GatewayError?
        for model in plan {
            guard let modelConfig = gateway.config.models[model], let target = gateway.target(for: pickDeployment(modelConfig.deployments)) else { continue }
            attempts += 1
            usage.row.attempts = attempts
            context.trace.update { $0.attempts = attempts }
            let response: HTTPClientResponse
            do {
                response = try await gateway.upstream.send(
                    path: body.endpoint.rawValue, body: ByteBuffer(bytes: body.upstreamBody(providerModel: target.model)), to: target,
                    requestID: requestID, headerTimeout: .seconds(Int64(gateway.config.retry.attemptTimeoutSeconds)), logger: context.logger)
            } catch {
                switch error {
                case .timeout:
                    lastError = GatewayError(status: 504, code: .upstreamTimeout,
                                             message: "Provider \(target.providerName) did not answer within \(gateway.config.retry.attemptTimeoutSeconds) s (model \(model))")
                case .connection(let detail):
                    lastError = GatewayError(status: 502, code: .upstreamError, message: "Could not reach provider for model \(model): \(detail)")
                }
                continue
            }
            let status = Int(response.status.code)
            if (200..<300).contains(status) {
                usage.row.servedModel = model
                context.trace.update { $0.servedModel = model }
                var headers: HTTPFields = [.servedModel: model, .attempts: String(attempts)]
                if model != plan[0] { headers[.fallbackFrom] = plan[0] }
                return UpstreamAnswer(response: response, model: model, target: target, headers: headers)
            }
            let error = await providerError(response, target: target, model: model)
            if Self.passedThroughStatuses.contains(status) { throw error }
            lastError = error
        }
        throw lastError ?? GatewayError(status: 502, code: .upstreamError, message: "No provider is configured for \(plan.joined(separator: ", "))")
    }

    /// Provider statuses returned to the caller unchanged (SPEC §3): the request itself is wrong.
    static let passedThroughStatuses: Set<Int> = [400, 404, 409, 413, 422]

    /// The provider's failure as the gateway's error: its own client errors keep their status
    /// and code; anything else is a 502 that names the provider and what it said.
    func providerError(_ response: HTTPClientResponse, target: UpstreamTarget, model: String) async -> GatewayError {
        let status = Int(response.status.code)
        let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
        let detail = ProviderErrorBody(parsing: bytes)
        let said = detail.message.map { ": \($0)" } ?? ""
        if Self.passedThroughStatuses.contains(status) {
            return GatewayError(status: status, code: detail.code ?? ErrorCode.invalidRequest.rawValue,
                                type: detail.type ?? GatewayError.type(forStatus: status),
                                message: detail.message ?? "Provider \(target.providerName) refused the request (\(status))", param: detail.param)
        }
        let retryAfter = response.headers.first(name: "retry-after").flatMap { Int($0.trimmingSpaces()) }
        if status == 401 || status == 403 {
            return GatewayError(status: 502, code: .upstreamError,
                                message: "Provider \(target.providerName) rejected Sluice's credentials (\(status))\(said); the operator must fix providers.\(target.providerName).api_key_env")
        }
        return GatewayError(status: 502, code: .upstreamError, message: "Provider \(target.providerName) failed for model \(model) with \(status)\(said)",
                            retryAfterSeconds: retryAfter)
    }

    /// One deployment of a model, chosen at random in proportion to the weights.
    func pickDeployment(_ deployments: [Deployment]) -> Deployment {
        guard deployments.count > 1 else { return deployments[0] }
        var draw = Int.random(in: 0..<deployments.reduce(0) { $0 + $1.weight })
        for deployment in deployments {
            if draw < deployment.weight { return deployment }
            draw -= deployment.weight
        }
        return deployments[deployments.count - 1]
    }
}

extension String {
    func trimmingSpaces() -> String {
        Substring(self).trimmingSpaces()
    }
}
