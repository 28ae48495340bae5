import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceProviders

/// The client API: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`.
///
/// The request path, one step per function, each failing with the status of SPEC §3 in the
/// order 401 → 413 → 400/422 → 404 → 403 → 429:
/// `authenticate` → `readBody` → `ClientRequestBody(parsing:)` → `readSegments` / `readPolicies`
/// → `plan` → `admit` (all limits, one counter-store call) → `forward`
/// → `respond` (plain) or `relayStream` (SSE) → limits settled and usage recorded.
///
/// This is the general path. The common call (cached key, not streamed, memory counters, a
/// provider over HTTP/1.1) is served by `FastLane` on the caller's event loop with these same
/// functions; a request it admitted and whose first attempt failed comes back here through
/// `resume` (docs/fast-lane.md).
struct ProxyController {
    let gateway: Gateway

    func addRoutes(to router: Router<SluiceRequestContext>) {
        for endpoint in ProxyEndpoint.allCases {
            router.post(RouterPath(endpoint.path)) { request, context in
                try await proxy(endpoint, request: request, context: context)
            }
        }
        router.get("/v1/models") { request, context in
            try await models(request: request, context: context)
        }
        router.get("/v1/models/{id}") { request, context in
            try await model(request: request, context: context)
        }
    }

    func proxy(_ endpoint: ProxyEndpoint, request: Request, context: SluiceRequestContext) async throws -> Response {
        if let handover = gateway.handovers.claim(request.headers[.fastLaneHandover]) {
            return try await resume(handover, context: context)
        }
        let caller = try await gateway.authenticate(authorization: request.headers[.authorization])
        context.trace.update { $0.keyID = caller.key.id }
        var usage = UsageDraft(requestID: context.requestID, caller: caller, endpoint: endpoint, nowMs: gateway.clock.nowMs())
        let admitted: AdmittedRequest
        do {
            let bytes = try await readBody(request)
            let body = try ClientRequestBody(parsing: bytes, endpoint: endpoint)
            usage.row.requestedModel = body.model
            usage.row.streamed = body.stream
            context.trace.update { $0.model = body.model; $0.streamed = body.stream }
            let helicone = HeliconeHeaders(request.headers)
            let segments = try readSegments(helicone, body: body)
            usage.row.userID = segments.userID
            usage.row.properties = segments.properties
            let headerPolicies = try readPolicies(helicone, caller: caller, segments: segments)
            let plan = try plan(for: body, caller: caller)
            let (ticket, states) = try await admit(body, plan: plan, caller: caller, headerPolicies: headerPolicies, segments: segments)
            admitted = AdmittedRequest(body: body, plan: plan, ticket: ticket, states: states, headerPolicies: headerPolicies, usage: usage)
        } catch {
            usage.fail(error)
            gateway.usage.record(usage.row)
            throw error
        }
        return try await complete(admitted, loop: makeRetryLoop(plan: admitted.plan), callerError: nil, trace: context.trace)
    }

    /// An admitted request from here on: the attempts along `loop`, then the answer relayed
    /// (plain or SSE); the limits settled and the usage recorded whichever way it ends.
    func complete(_ admitted: AdmittedRequest, loop: RetryLoop, callerError: GatewayError?, trace: RequestTrace) async throws -> Response {
        var usage = admitted.usage
        do {
            var answer = try await forward(admitted.body, plan: admitted.plan, loop: loop, callerError: callerError, usage: &usage, trace: trace)
            RateLimitHeaders.add(admitted.states, headerPolicies: admitted.headerPolicies, to: &answer.headers)
            if admitted.body.stream {
                return relayStream(answer, body: admitted.body, usage: usage, ticket: admitted.ticket)
            }
            return try await respond(answer, usage: &usage, ticket: admitted.ticket)
        } catch var error as GatewayError {
            // A call that failed after admission used nothing; its answer still says where the limits stand.
            await admitted.ticket.settle(tokens: usage.row.inputTokens + usage.row.outputTokens, cost: usage.row.cost)
            recordFailure(&error, admitted: admitted, usage: &usage)
            throw error
        }
    }

    /// An admitted request that failed: its error gets the rate-limit headers (where the limits
    /// stand), its usage row the error, and the row is recorded. The ticket is the caller's to
    /// settle (the fast lane does it without suspending).
    func recordFailure(_ error: inout GatewayError, admitted: AdmittedRequest, usage: inout UsageDraft) {
        var fields = HTTPFields()
        RateLimitHeaders.add(admitted.states, headerPolicies: admitted.headerPolicies, to: &fields)
        error.headers += fields.map { ($0.name.rawName, $0.value) }
        usage.fail(error)
        gateway.usage.record(usage.row)
    }

    /// A request the fast lane admitted and tried once: its retries, fallbacks and answer, here.
    func resume(_ handover: FastLaneHandover, context: SluiceRequestContext) async throws -> Response {
        context.trace.update { $0 = handover.trace }
        return try await complete(handover.admitted, loop: handover.loop, callerError: handover.callerError, trace: context.trace)
    }

    /// The body, refused with 413 above `server.max_body_bytes` (before reading it when the
    /// client announced its length).
    func readBody(_ request: Request) async throws(GatewayError) -> [UInt8] {
        let limit = gateway.config.server.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .requestTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw .requestTooLarge(limit: limit)
        } catch {
            throw .invalidJSON("the request body could not be read (\(error))")
        }
    }

    /// The models to try, in order: the model asked for (404 when unknown, 403 when the key's
    /// preset does not allow it) and its configured `fallbacks` that the key may use; or a body
    /// `models` list, which is then the whole chain and every entry of which must be allowed.
    func plan(for body: ClientRequestBody, caller: Gateway.Caller) throws(GatewayError) -> [String] {
        let models = gateway.config.models
        let asked = body.models ?? [body.model]
        for model in asked where models[model] == nil {
            throw .modelNotFound(model)
        }
        for model in asked where !caller.preset.allows(model) {
            throw .modelNotAllowed(model, preset: caller.key.preset)
        }
        var chain: [String] = []
        for model in asked where !chain.contains(model) { chain.append(model) }
        if body.models == nil {
            for fallback in models[body.model]!.fallbacks where models[fallback] != nil && caller.preset.allows(fallback) && !chain.contains(fallback) {
                chain.append(fallback)
            }
        }
        return chain
    }

    /// A non-streamed answer: the provider's body, untouched, with usage and cost recorded.
    func respond(_ answer: UpstreamAnswer, usage: inout UsageDraft, ticket: AdmissionTicket) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await answer.response.body.collect(upTo: Self.maxAnswerBytes)
        } catch {
            throw GatewayError(status: 502, code: .upstreamError, message: "Provider \(answer.target.providerName) broke off its answer: \(error)")
        }
        recordAnswer(buffer, status: Int(answer.response.status.code), model: answer.model, usage: &usage)
        await ticket.settle(tokens: usage.row.inputTokens + usage.row.outputTokens, cost: usage.row.cost)
        gateway.usage.record(usage.row)
        var headers = answer.headers
        headers[.contentType] = answer.response.headers.first(name: "content-type") ?? "application/json"
        return Response(status: .init(code: Int(answer.response.status.code)), headers: headers, body: .init(byteBuffer: buffer))
    }

    /// A plain answer's usage: tokens from its `usage` object (none: estimated as 0), their
    /// cost at the model's price, the status and timings.
    func recordAnswer(_ body: ByteBuffer, status: Int, model: String, usage: inout UsageDraft) {
        let tokens = TokenUsage.from(body: Array(body.readableBytesView))
        let price = gateway.config.models[model]!.price
        usage.settle(input: tokens?.inputTokens ?? 0, output: tokens?.outputTokens ?? 0, price: price, estimated: tokens == nil)
        usage.row.status = status
        usage.markFirstByte()
        usage.row.latencyMs = usage.elapsedMs
    }

    /// `GET /v1/models`: the models this key may use. Counts against no limit, writes no usage row.
    func models(request: Request, context: SluiceRequestContext) async throws -> Response {
        let caller = try await gateway.authenticate(authorization: request.headers[.authorization])
        context.trace.update { $0.keyID = caller.key.id }
        let objects = gateway.config.modelNames.filter(caller.preset.allows).map(Self.modelObject)
        let json = "{\"object\":\"list\",\"data\":[" + objects.joined(separator: ",") + "]}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// `GET /v1/models/{id}`: one model, 404 when it is not configured or not allowed for the key.
    func model(request: Request, context: SluiceRequestContext) async throws -> Response {
        let caller = try await gateway.authenticate(authorization: request.headers[.authorization])
        context.trace.update { $0.keyID = caller.key.id }
        let id = context.parameters.get("id") ?? ""
        guard gateway.config.models[id] != nil, caller.preset.allows(id) else { throw GatewayError.modelNotFound(id) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: Self.modelObject(id))))
    }

    static func modelObject(_ name: String) -> String {
        "{\"id\":" + JSONText.quoted(name) + ",\"object\":\"model\",\"created\":0,\"owned_by\":\"sluice\"}"
    }

    /// Largest non-streamed answer relayed (embeddings of big batches can be tens of MiB).
    static let maxAnswerBytes = 256 * 1024 * 1024
}
