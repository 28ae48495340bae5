import HTTPTypes
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceProviders
import SluiceStore

/// The common case of a proxied call, served on the caller's event loop: no task, no thread hop,
/// no AsyncHTTPClient. A non-streamed request with a cached key, counters in this process's
/// memory, a credit book that can answer from memory, and a first deployment on an `http` or
/// `https` provider is decided here with the general path's own functions (`ProxyController`), sent
/// over `UpstreamConnectionPool`, and answered exactly as the general path would answer it.
///
/// Anything else goes to the general path untouched, before anything is counted: a request that
/// would be refused is refused there, once, with the error rendered in one place. A request
/// admitted here whose first attempt fails goes there with its admission and retry loop
/// (`FastLaneHandover`), so retries, fallbacks and the final error are the general path's too.
struct FastLane: Sendable {
    let controller: ProxyController
    let counters: MemoryCounterStore
    /// Each model's deployments in configured order, as the fast lane calls them; nil for one
    /// whose provider it cannot reach. Worked out once: looking up the model, the provider, its
    /// secret and its route for every call was four string hashes and a copy of the provider's
    /// configuration.
    let deployments: [String: [PreparedDeployment?]]
    let serverName: String

    /// Nil when the fast lane can serve nothing on this gateway (Redis counters, or no provider
    /// it can reach).
    init?(gateway: Gateway, serverName: String) {
        guard let counters = gateway.counters as? MemoryCounterStore else { return nil }
        var routes: [String: Route] = [:]
        for (name, provider) in gateway.config.providers {
            // Without a TLS context (it failed to load at start) https providers are the general path's.
            guard let origin = ProviderOrigin(baseURL: provider.baseURL), gateway.upstreamPools.canReach(origin) else { continue }
            let target = UpstreamTarget(providerName: name, provider: provider, apiKey: gateway.providerSecrets[name], model: "")
            let headers = target.baseRequestHeaders
            let heads = ProxyEndpoint.allCases.map {
                ($0, ProviderRequestHead(origin: origin, target: ProviderOrigin.requestTarget(of: target.url(for: $0.rawValue)), headers: headers))
            }
            routes[name] = Route(origin: origin, heads: heads)
        }
        guard !routes.isEmpty else { return nil }
        self.controller = ProxyController(gateway: gateway)
        self.counters = counters
        self.deployments = gateway.config.models.mapValues { model in
            model.deployments.map { deployment in
                guard let route = routes[deployment.provider], let target = gateway.target(for: deployment) else { return nil }
                return PreparedDeployment(target: target, route: route)
            }
        }
        self.serverName = serverName
    }

    var gateway: Gateway { controller.gateway }

    /// How the fast lane calls one provider, worked out once: where, and the head of a call to
    /// each endpoint, but for what each call adds.
    struct Route: Sendable {
        let origin: ProviderOrigin
        /// By endpoint; a few, searched in order (a dictionary hashed the endpoint's path).
        let heads: [(ProxyEndpoint, ProviderRequestHead)]

        func head(for endpoint: ProxyEndpoint) -> ProviderRequestHead? {
            heads.first { $0.0 == endpoint }?.1
        }
    }

    /// One deployment as the fast lane calls it: the target (for failures and handovers) and
    /// the provider's route.
    struct PreparedDeployment: Sendable {
        let target: UpstreamTarget
        let route: Route
    }

    /// A call under way: admitted, its first attempt sent. A class: it is captured by the
    /// pool's completion and carried to `finish`, and copying its many references was measurable.
    final class Call {
        /// The admission, and the usage row as the call goes on.
        var admitted: AdmittedRequest
        var loop: RetryLoop
        let deployment: DeploymentRef
        let target: UpstreamTarget
        let trace: RequestTrace
        let path: String
        let started: ContinuousClock.Instant

        init(admitted: AdmittedRequest, loop: RetryLoop, deployment: DeploymentRef, target: UpstreamTarget, trace: RequestTrace,
             path: String, started: ContinuousClock.Instant) {
            self.admitted = admitted
            self.loop = loop
            self.deployment = deployment
            self.target = target
            self.trace = trace
            self.path = path
            self.started = started
        }
    }

    /// How a call ends: an answer to write, its head's fields in `Head` (then, for a provider's
    /// answer, `account` for it), or the general path's turn.
    enum Outcome<Head: AnswerFields> {
        case respond(HTTPResponseStatus, Head, ByteBuffer, answered: Bool)
        case handOver(FastLaneHandover)
    }

    /// The endpoint of a request the fast lane may take, judged from its head alone.
    static func endpoint(of head: HTTPRequestHead) -> ProxyEndpoint? {
        guard head.method == .POST, let endpoint = ProxyEndpoint.allCases.first(where: { $0.path == head.uri }) else { return nil }
        // Connection management (HTTP/1.0, `Connection: close`) and expectations other than
        // `100-continue` (answered by the handler) stay with the server.
        guard head.version == .http1_1, head.isKeepAlive else { return nil }
        if let expect = head.headers.first(name: "expect"), expect.lowercased() != "100-continue" { return nil }
        return endpoint
    }

    /// Whether the head announces a body over `server.max_body_bytes`: the general path refuses
    /// it with 413 before reading it, so the fast lane does not start collecting it.
    static func announcesTooLong(_ head: HTTPRequestHead, maxBodyBytes: Int) -> Bool {
        guard let length = head.headers.first(name: "content-length") else { return false }
        return Int(length).map { $0 > maxBodyBytes } ?? true
    }

    /// Whether the caller waits for `100 Continue` before sending a body the gateway would read
    /// (one not announced as longer than `server.max_body_bytes`).
    static func expectsContinue(_ head: HTTPRequestHead, maxBodyBytes: Int) -> Bool {
        guard head.version == .http1_1, let expect = head.headers.first(name: "expect"), expect.lowercased() == "100-continue" else {
            return false
        }
        return !announcesTooLong(head, maxBodyBytes: maxBodyBytes)
    }

    /// The header a handed-over request carries its token in (`HTTPField.Name.fastLaneHandover`).
    static let handoverHeader = "Sluice-Fast-Lane-Handover"

    /// The caller a connection authenticated as last: most connections send one key, and
    /// hashing it and searching the cache for every request was a tenth of the fast lane's work.
    struct RecentCaller {
        let authorization: String
        let caller: Gateway.Caller
        /// The key cache's generation when it was looked up; any change to the cache forgets it.
        let generation: UInt64
        /// What the caller's last call was decided from, for the next call that asks the same.
        var decision: RecentDecision?
    }

    /// What a call's decision takes from its model, policy header and segments, kept for the
    /// next call on the connection that sends the same: most send the same key, model, policy
    /// header and user id call after call, and working out the plan, the retry chain, the parsed
    /// policies and the limit checks (their counter keys and names built and hashed) again was a
    /// twentieth of the fast lane's work. It goes with its `RecentCaller`, so a change of key or of
    /// the key cache forgets it; the configuration it follows from does not change while serving.
    /// A class: each call reads it, and copying its many arrays out was measurable.
    final class RecentDecision {
        let model: String
        let models: [String]?
        let policyValues: [String]
        let segments: RequestSegments
        let headerPolicies: [RateLimitPolicy]
        let plan: [String]
        /// The plan's retry loop before its first attempt.
        let loop: RetryLoop
        let prices: [Price]
        /// The checks as made for the call they were kept from; each call gets its own amounts.
        let checks: [LimitCheck]

        init(model: String, models: [String]?, policyValues: [String], segments: RequestSegments, headerPolicies: [RateLimitPolicy],
             plan: [String], loop: RetryLoop, prices: [Price], checks: [LimitCheck]) {
            self.model = model
            self.models = models
            self.policyValues = policyValues
            self.segments = segments
            self.headerPolicies = headerPolicies
            self.plan = plan
            self.loop = loop
            self.prices = prices
            self.checks = checks
        }

        func applies(to body: ClientRequestBody, policyValues: [String], segments: RequestSegments) -> Bool {
            model == body.model && models == body.models && self.policyValues == policyValues && self.segments == segments
        }
    }

    /// The caller for `authorization`, from `recent` when the key cache has not changed since.
    func caller(authorization: String?, recent: inout RecentCaller?, nowMs: Int64) -> Gateway.Caller? {
        guard let authorization else { return nil }
        let generation = gateway.keyCache.generation
        if let remembered = recent, remembered.generation == generation, remembered.authorization == authorization {
            // Expiry is a matter of time, not of the cache.
            return remembered.caller.key.isUsable(atMs: nowMs) ? remembered.caller : nil
        }
        guard case .found(let caller)? = try? gateway.cachedCaller(authorization: authorization) else { return nil }
        recent = RecentCaller(authorization: authorization, caller: caller, generation: generation)
        return caller
    }

    /// Checks and admits the request and builds its first attempt; nil when the general path
    /// must serve it (nothing has been counted then).
    func start(_ head: HTTPRequestHead, endpoint: ProxyEndpoint, body bytes: ByteBuffer, recent: inout RecentCaller?) -> (Call, UpstreamExchange)? {
        start(authorization: head.headers.first(name: "authorization"), helicone: HeliconeHeaders(head.headers), endpoint: endpoint,
              body: bytes, recent: &recent)
    }

    /// `start` from the parts of the request the decisions read (`FastLaneRequestHead` reads
    /// them straight from the bytes).
    func start(authorization: String?, helicone headers: HeliconeHeaders, endpoint: ProxyEndpoint, body bytes: ByteBuffer,
               recent: inout RecentCaller?) -> (Call, UpstreamExchange)? {
        let started = ContinuousClock.now
        // One reading of the wall clock for the whole decision.
        let nowMs = gateway.clock.nowMs()
        guard let caller = caller(authorization: authorization, recent: &recent, nowMs: nowMs),
              let body = try? ClientRequestBody(parsing: Array(bytes.readableBytesView), endpoint: endpoint), !body.stream,
              let segments = try? controller.readSegments(headers, body: body),
              let decision = decision(for: body, headers: headers, segments: segments, caller: caller, recent: &recent)
        else { return nil }
        let headerPolicies = decision.headerPolicies
        let plan = decision.plan
        var loop = decision.loop
        var random = SystemRandomNumberGenerator()
        let cooldowns = gateway.cooldowns.withLock { $0 }
        guard case .attempt(let deployment) = loop.next(nowMs: nowMs, cooldowns: cooldowns, random: &random) else { return nil }
        guard let prepared = deployments[deployment.model]?[deployment.index], let head = prepared.route.head(for: endpoint) else { return nil }
        let target = prepared.target
        let route = prepared.route
        let estimate = controller.estimate(body, prices: decision.prices)
        guard let (ticket, states) = controller.admitInMemory(estimate: estimate, checks: LimitPlanner.withAmounts(decision.checks, for: estimate),
                                                              caller: caller, counters: counters, nowMs: nowMs)
        else { return nil }

        let requestID = RequestID.make(nowMs: nowMs)
        var usage = UsageDraft(requestID: requestID, caller: caller, endpoint: endpoint, nowMs: nowMs)
        usage.row.requestedModel = body.model
        usage.row.userID = segments.userID
        usage.row.properties = segments.properties
        usage.row.attempts = loop.attempts
        let trace = RequestTrace(.init(requestID: requestID, keyID: caller.key.id, model: body.model, attempts: loop.attempts))
        let admitted = AdmittedRequest(body: body, plan: plan, ticket: ticket, states: states, headerPolicies: headerPolicies, usage: usage)
        let exchange = UpstreamExchange(
            origin: route.origin, head: head, adding: ["X-Request-Id": requestID],
            body: body.editedUpstreamBody(providerModel: target.model).map { ByteBuffer(bytes: $0) } ?? bytes,
            timeout: .seconds(Int64(gateway.config.retry.attemptTimeoutSeconds)), maxAnswerBytes: ProxyController.maxAnswerBytes)
        let call = Call(admitted: admitted, loop: loop, deployment: deployment, target: target, trace: trace,
                        path: endpoint.path, started: started)
        return (call, exchange)
    }

    /// The decision inputs of a call: the caller's last ones when the call asks the same
    /// (`RecentDecision`), else worked out and kept; nil when the general path must answer.
    private func decision(for body: ClientRequestBody, headers: HeliconeHeaders, segments: RequestSegments, caller: Gateway.Caller,
                          recent: inout RecentCaller?) -> RecentDecision? {
        if let kept = recent?.decision, kept.applies(to: body, policyValues: headers.policies, segments: segments) { return kept }
        guard let headerPolicies = try? controller.readPolicies(headers, caller: caller, segments: segments),
              let plan = try? controller.plan(for: body, caller: caller)
        else { return nil }
        let prices = controller.prices(of: plan)
        guard let checks = try? LimitPlanner.checks(keyID: caller.key.id, limits: caller.preset.keyLimits, headerPolicies: headerPolicies,
                                                    segments: segments, estimate: controller.estimate(body, prices: prices))
        else { return nil }
        let decision = RecentDecision(model: body.model, models: body.models, policyValues: headers.policies, segments: segments,
                                      headerPolicies: headerPolicies, plan: plan, loop: controller.makeRetryLoop(plan: plan), prices: prices,
                                      checks: checks)
        recent?.decision = decision
        return decision
    }

    /// What the first attempt's result comes to. A 2xx answer is settled (its usage read, the
    /// limits and credits settled to it, as the general path does before answering) and returned
    /// to write, then `account(_:status:)` records and logs it; anything else is the retry
    /// loop's next step, on the general path.
    /// `head` starts an answer's head for its status.
    func finish<Head: AnswerFields>(_ call: Call, result: UpstreamExchangeResult, head: (HTTPResponseStatus) -> Head) -> Outcome<Head> {
        let model = call.deployment.model
        var random = SystemRandomNumberGenerator()
        switch result {
        case .answered(let answer) where (200..<300).contains(answer.status):
            let served = controller.answered(by: call.deployment, loop: call.loop, plan: call.admitted.plan, usage: &call.admitted.usage, trace: call.trace)
            let status = HTTPResponseStatus(statusCode: answer.status)
            var headers = head(status)
            served.add(to: &headers)
            RateLimitHeaders.add(call.admitted.states, headerPolicies: call.admitted.headerPolicies, to: &headers)
            headers.add(name: "Content-Type", value: answer.contentType ?? "application/json")
            // Settled before the answer goes out: a caller holding its answer finds its
            // concurrency slot free and its tokens counted, on any connection.
            controller.recordAnswer(answer.body, status: answer.status, model: model, usage: &call.admitted.usage)
            // The row's figures, not a copy of the row (its strings would be retained and released).
            let tokens = call.admitted.usage.row.inputTokens + call.admitted.usage.row.outputTokens
            call.admitted.ticket.settleInMemory(tokens: tokens, cost: call.admitted.usage.row.cost, counters: counters)
            addServerHeaders(call, bodyLength: answer.body.readableBytes, to: &headers)
            return .respond(status, headers, answer.body, answered: true)
        case .answered(let answer):
            let (failure, callerError) = controller.providerFailure(status: answer.status, headers: answer.headers,
                                                                    body: Array(answer.body.readableBytesView), target: call.target, model: model)
            controller.attemptFailed(failure, deployment: call.deployment, loop: &call.loop, random: &random)
            return .handOver(handover(call, callerError: callerError))
        case .failed(let error):
            let failure = controller.unanswered(error, target: call.target, model: model)
            controller.attemptFailed(failure, deployment: call.deployment, loop: &call.loop, random: &random)
            return .handOver(handover(call, callerError: nil))
        case .tooLarge:
            // As the general path: a 2xx head was relayed, so the answer is lost, not retried.
            var error = GatewayError(status: 502, code: .upstreamError,
                                     message: "Provider \(call.target.providerName) broke off its answer: longer than \(ProxyController.maxAnswerBytes) bytes")
            call.admitted.ticket.settleInMemory(tokens: 0, cost: .zero, counters: counters)
            var usage = call.admitted.usage
            controller.recordFailure(&error, admitted: call.admitted, usage: &usage)
            let body = ByteBuffer(string: error.jsonBody)
            let status = HTTPResponseStatus(statusCode: error.status)
            var headers = head(status)
            for field in error.responseHeaders { headers.add(name: field.name.rawName, value: field.value) }
            addServerHeaders(call, bodyLength: body.readableBytes, to: &headers)
            log(call, status: error.status)
            return .respond(status, headers, body, answered: false)
        }
    }

    /// What is left of a provider's 2xx answer once it is on its way to the caller: its usage
    /// row queued for the ledger and its log line.
    func account(_ call: Call, status: Int) {
        log(call, status: status)
        // The call is over: its row is moved to the recorder, not copied (a copy retains and
        // then releases each of its strings).
        var row = UsageRow(requestID: "", keyID: "", account: "", environment: "", endpoint: "", status: 0, createdAtMs: 0)
        swap(&row, &call.admitted.usage.row)
        gateway.usage.record(row)
    }

    /// Registers `handover` for the general path and returns its token; nil when the caller has
    /// left (`callerActive` false): then it is abandoned. Counted either way.
    func register(_ handover: FastLaneHandover, callerActive: Bool) -> String? {
        gateway.metrics.fastLaneHandedOver.increment()
        guard callerActive else {
            abandon(handover)
            return nil
        }
        return gateway.handovers.register(handover, nowMs: gateway.clock.nowMs())
    }

    /// A handover nobody will take up: the caller left while the first attempt was failing.
    /// Nothing more is tried; the limits are settled as unused and the usage row says what
    /// happened, as the general path's row for a request whose caller left would.
    private func abandon(_ handover: FastLaneHandover) {
        var usage = handover.admitted.usage
        handover.admitted.ticket.settleInMemory(tokens: 0, cost: .zero, counters: counters)
        usage.fail(handover.callerError ?? GatewayError(status: 502, code: .upstreamError,
                                                        message: "The caller left after a failed attempt; nothing more was tried"))
        gateway.usage.record(usage.row)
    }

    private func handover(_ call: Call, callerError: GatewayError?) -> FastLaneHandover {
        FastLaneHandover(admitted: call.admitted, loop: call.loop, callerError: callerError, trace: call.trace.snapshot)
    }

    /// The rest of the answer's headers as the general path sends them (`Content-Length`, the
    /// edge middleware's `X-Request-Id`, the server's `Date` and `Server`), added in place.
    private func addServerHeaders(_ call: Call, bodyLength: Int, to headers: inout some AnswerFields) {
        headers.add(name: "Content-Length", value: String(bodyLength))
        headers.add(name: "X-Request-Id", value: call.admitted.usage.row.requestID)
        headers.add(name: "Date", value: HTTPDate.now)
        headers.add(name: "Server", value: serverName)
    }

    /// The request's log line.
    private func log(_ call: Call, status: Int) {
        RequestLogLine(requestID: call.admitted.usage.row.requestID, method: "POST", path: call.path, status: status,
                       elapsed: ContinuousClock.now - call.started, fields: call.trace.snapshot)
            .write(to: gateway.logger)
    }
}
