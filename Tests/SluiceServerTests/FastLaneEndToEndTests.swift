import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import SluiceCore
import SluiceStore
import SluiceTestSupport
import Testing

/// The fast lane (plain calls served on the caller's event loop) against the general path: the
/// same answers and usage rows, the handover of a failed first attempt, a pipelining client, a
/// forged handover header, and a stop with fast-lane calls in flight.
@Suite("Fast lane end to end")
struct FastLaneEndToEndTests {
    /// Headers whose values differ from call to call by nature.
    static let perCall: Set<String> = ["x-request-id", "date"]

    @Test("a plain call gets the same answer, headers and usage row on the fast lane as on the general path")
    func sameAsGeneralPath() async throws {
        var answers: [(TestResponse, UsageRow, Int)] = []
        for fastLane in [true, false] {
            try await withGateway(fastLane: fastLane) { gateway in
                let key = try await Self.cachedKey(gateway)
                let response = try await gateway.send(
                    "/v1/chat/completions", key: key, body: chatBody(content: "hello mock.completion_tokens=7", extra: ",\"max_tokens\":50"),
                    headers: [("Helicone-RateLimit-Policy", "100;w=60;s=user"), ("Helicone-User-Id", "alice"),
                              ("Helicone-Property-Team", "search")])
                let requestID = try #require(response.requestID)
                let row = try #require(try await gateway.usageRow(requestID))
                answers.append((response, row, try await Self.fastLaneCount(gateway, outcome: "answered")))
            }
        }
        let (fast, fastRow, fastCount) = answers[0]
        let (general, generalRow, generalCount) = answers[1]
        #expect(fastCount == 1)
        #expect(generalCount == 0)
        #expect(fast.status == 200)
        #expect(fast.status == general.status)
        // The mock numbers its answers per process; everything else in the body is the same.
        #expect(Self.withoutID(fast.body) == Self.withoutID(general.body))
        #expect(Self.comparableHeaders(fast) == Self.comparableHeaders(general))
        #expect(fast.headers.first(name: "date") != nil)
        #expect(fastRow.requestID == fast.requestID)
        var comparable = fastRow
        comparable.requestID = generalRow.requestID
        comparable.keyID = generalRow.keyID
        comparable.createdAtMs = generalRow.createdAtMs
        comparable.latencyMs = generalRow.latencyMs
        comparable.timeToFirstByteMs = generalRow.timeToFirstByteMs
        #expect(comparable == generalRow)
        #expect(fastRow.outputTokens == 7)
        #expect(fastRow.userID == "alice")
        #expect(fastRow.properties == ["team": "search"])
    }

    @Test("an https provider is served on the fast lane too, with the same answer as the general path's")
    func httpsProvider() async throws {
        var answers: [(TestResponse, Int)] = []
        for fastLane in [true, false] {
            try await withGateway(fastLane: fastLane, httpsProvider: true) { gateway in
                let key = try await Self.cachedKey(gateway)
                let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "hello mock.completion_tokens=5"))
                let requestID = try #require(response.requestID)
                let row = try #require(try await gateway.usageRow(requestID))
                #expect(row.outputTokens == 5)
                answers.append((response, try await Self.fastLaneCount(gateway, outcome: "answered")))
            }
        }
        let (fast, fastCount) = answers[0]
        let (general, generalCount) = answers[1]
        #expect(fast.status == 200)
        #expect(fastCount == 1)
        #expect(generalCount == 0)
        #expect(Self.withoutID(fast.body) == Self.withoutID(general.body))
        #expect(Self.comparableHeaders(fast) == Self.comparableHeaders(general))
    }

    @Test("an https provider whose certificate is not trusted fails on both paths alike: handed over, then 502")
    func untrustedHTTPSProvider() async throws {
        // The tests' authority is not among the system's trust roots: refused by the fast lane and by AsyncHTTPClient.
        try await withGateway(httpsProvider: true, trustProvider: false, configure: { config in
            config.retry.maxAttempts = 2
            // AsyncHTTPClient tries to connect again until the attempt's deadline, then reports
            // the last failure: long enough for a loaded machine to finish one handshake.
            config.retry.attemptTimeoutSeconds = 3
        }) { gateway in
            let key = try await Self.cachedKey(gateway)
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: "hello"))
            #expect(response.status == 502)
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 1)
            let requestID = try #require(response.requestID)
            let row = try #require(try await gateway.usageRow(requestID))
            #expect(row.status == 502)
            #expect(row.attempts == 2)
            // Both paths name the reason, not BoringSSL's error stack with its source paths.
            #expect(response.body.contains("TLS handshake failed: CERTIFICATE_VERIFY_FAILED"), "\(response.body)")
            #expect(!response.body.contains(".cc:"), "\(response.body)")
        }
    }

    @Test("a first attempt that fails is retried by the general path under the same request id, counted once")
    func handoverRetries() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway, preset: "dev")
            let content = "x mock.status=503 mock.times=1 mock.id=\(UUID().uuidString)"
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "sluice-attempts") == "2")
            // rpm 60: the one request is counted once, whichever path counted it.
            #expect(response.headers.first(name: "ratelimit")?.contains("\"rpm\";r=59") == true)
            let requestID = try #require(response.requestID)
            let row = try #require(try await gateway.usageRow(requestID))
            #expect(row.attempts == 2)
            #expect(row.status == 200)
            #expect(try await gateway.ledger.recentUsage(limit: 100).count == 1)
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 1)
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 0)
            #expect(gateway.gateway.pendingHandovers == 0)
        }
    }

    @Test("the provider's own verdict on the request reaches the caller through a handover")
    func handoverKeepsProviderVerdict() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            let content = "x mock.status=400 mock.times=1 mock.id=\(UUID().uuidString) mock.message=bad_field"
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(content: content))
            #expect(response.status == 400)
            #expect(response.errorMessage == "bad field")
            #expect(response.headers.first(name: "sluice-attempts") == "1")
            #expect(response.headers.first(name: "ratelimit") != nil)
            let requestID = try #require(response.requestID)
            let row = try #require(try await gateway.usageRow(requestID))
            #expect(row.status == 400)
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 1)
        }
    }

    @Test("a caller that leaves while its first attempt fails gets nothing more tried, and a usage row")
    func callerLeavesDuringFailingAttempt() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            // The 503 comes after 2 s: the reset surely comes first, even on a loaded machine.
            let body = chatBody(content: "x mock.status=503 mock.first_byte_ms=2000")
            let wire = Self.wire(key: key, body: body)
            // Nothing comes back within 200 ms: the connection is reset with the attempt under way.
            let text = try await RawHTTPConnection.exchange(port: gateway.port, sending: wire, untilResponses: 0, quiet: .milliseconds(200),
                                                            resetOnClose: true)
            #expect(text.isEmpty)
            var rows: [UsageRow] = []
            try await waitUntil(timeout: .seconds(20)) {
                rows = try await gateway.ledger.recentUsage(limit: 10)
                return !rows.isEmpty
            }
            #expect(rows.count == 1)
            #expect(rows.first?.status == 502)
            #expect(rows.first?.errorCode == "upstream_error")
            #expect(rows.first?.attempts == 1)
            #expect(gateway.gateway.pendingHandovers == 0)
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 1)
            // The concurrency slot (the demo preset's max_concurrent) was given back.
            try await waitUntil { try await Self.concurrentInUse(gateway) == 0 }
            #expect(try await Self.concurrentInUse(gateway) == 0)
        }
    }

    @Test("requests that need the general path get its answers: a refusal, a stream, an unknown key")
    func generalPathCases() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway, preset: "dev")
            let notAllowed = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(model: "gpt-4o"))
            #expect(notAllowed.status == 403)
            let unknown = try await gateway.send("/v1/chat/completions", key: "sk-sluice-dev-" + String(repeating: "A", count: 32), body: chatBody())
            #expect(unknown.status == 401)
            let stream = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(stream: true))
            #expect(stream.status == 200)
            #expect(stream.events.last == "[DONE]")
            let badPolicy = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(),
                                                   headers: [("Helicone-RateLimit-Policy", "ten;w=60")])
            #expect(badPolicy.status == 400)
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 0)
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 0)
        }
    }

    @Test("a Sluice-Fast-Lane-Handover header from a client is dropped, not trusted")
    func forgedHandoverHeader() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            for fastLaneTakes in [true, false] {
                // A stream goes to the general path, where a forged token would be looked up.
                let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody(stream: !fastLaneTakes),
                                                      headers: [("Sluice-Fast-Lane-Handover", "0123456789abcdef")])
                #expect(response.status == 200)
            }
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 1)
        }
    }

    @Test("a pipelining client gets its answers in order, each once")
    func pipelinedRequests() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            var wire = ""
            // Fast, general (a stream), fast, an error: four paths through one connection.
            let bodies = [chatBody(content: "one"), chatBody(content: "two", stream: true), chatBody(content: "three"), "{"]
            for body in bodies {
                wire += Self.wire(key: key, body: body)
            }
            let text = try await RawHTTPConnection.exchange(port: gateway.port, sending: wire, untilResponses: 4)
            let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "200", "400"])
            let ids = text.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("x-request-id:") }
            #expect(Set(ids).count == 4)
            #expect(text.contains("chat.completion.chunk"))
            // The first is the fast lane's; the stream goes to the general path, and the two after
            // it follow it there (the general path still owed an answer when they were read).
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") >= 1)
        }
    }

    @Test("calls on one connection that change user, policy header or model are each decided by their own limits")
    func decisionsKeptPerConnection() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            func call(policy: String?, user: String, model: String = "gpt-4o-mini") -> String {
                let body = chatBody(model: model, content: "kept")
                var head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\n"
                if let policy { head += "Helicone-RateLimit-Policy: \(policy)\r\n" }
                return head + "Helicone-User-Id: \(user)\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            // One connection, served one call after the other: the connection keeps its last
            // decision's inputs, and a call that differs in any of them must not reuse them.
            let calls = [
                // Each differs from the one before it in one thing only.
                call(policy: "3;w=60;s=user", user: "alice"), call(policy: "3;w=60;s=user", user: "alice", model: "gpt-4o"),
                call(policy: "3;w=60;s=user", user: "bob", model: "gpt-4o"), call(policy: nil, user: "bob", model: "gpt-4o"),
                call(policy: "1;w=60;s=user", user: "bob", model: "gpt-4o"), call(policy: "3;w=60;s=user", user: "alice"),
                call(policy: "3;w=60;s=user", user: "alice"),
            ]
            let text = try await RawHTTPConnection.exchange(port: gateway.port, sending: calls.joined(), untilResponses: calls.count)
            let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.components(separatedBy: "\r\n") }
            #expect(answers.map { $0[0].prefix(3) } == ["200", "200", "200", "200", "200", "200", "429"])
            func field(_ name: String, _ lines: [String]) -> String? {
                lines.first { $0.lowercased().hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
            }
            #expect(answers.prefix(6).map { field("sluice-served-model", $0) } == ["gpt-4o-mini", "gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini"])
            let headerPolicyLeft = answers.map { lines in
                field("ratelimit", lines).flatMap { value in value.range(of: #""header-1";r=[0-9]+"#, options: .regularExpression).map { String(value[$0]) } }
            }
            #expect(headerPolicyLeft == [
                "\"header-1\";r=2",
                "\"header-1\";r=1",  // alice's counter, whatever the model
                "\"header-1\";r=2",  // bob's own
                nil,  // no policy header, no header limit
                "\"header-1\";r=0",  // another policy, its own counter
                "\"header-1\";r=0", "\"header-1\";r=0",  // alice's last one, then refused
            ])
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 6)
        }
    }

    @Test("requests that arrive in pieces are served on the fast lane, in order, on one connection")
    func requestsInPieces() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            let body = chatBody(content: "pieces")
            let request = Self.wire(key: key, body: body)
            // Cut inside the request line, the headers, at the end of the head and in the body;
            // the second request's start comes with the end of the first.
            let bytes = Array((request + request).utf8)
            let cuts = [3, 30, request.utf8.count - body.utf8.count, request.utf8.count - 5, request.utf8.count + 10, bytes.count]
            var pieces: [String] = []
            var start = 0
            for cut in cuts {
                pieces.append(String(decoding: bytes[start..<cut], as: UTF8.self))
                start = cut
            }
            let text = try await RawHTTPConnection.exchange(port: gateway.port, sendingPieces: pieces, untilResponses: 2)
            let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200"])
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 2)
        }
    }

    @Test("after a handover the connection goes on: its next requests are still served, and in order")
    func pipelinedHandover() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway, preset: "dev")
            let failOnce = "x mock.status=503 mock.times=1 mock.id=\(UUID().uuidString)"
            var wire = ""
            for content in ["one", failOnce, "three", "four"] {
                let body = chatBody(content: content)
                wire += Self.wire(key: key, body: body)
            }
            let last = chatBody(content: "five")
            let fifth = Self.wire(key: key, body: last)
            // The fifth comes once the four are answered.
            let text = try await RawHTTPConnection.exchange(port: gateway.port, sendingPieces: [wire, fifth], afterResponses: [0, 4], untilResponses: 5)
            let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(answers.map { $0.prefix(3) } == ["200", "200", "200", "200", "200"])
            #expect(answers.map { $0.lowercased().contains("sluice-attempts: 2") } == [false, true, false, false, false])
            #expect(try await Self.fastLaneCount(gateway, outcome: "handed_over") == 1)
            // The first, and the fifth; the third and fourth were read while the general path
            // still owed the second's answer, so they followed it there.
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 2)
            #expect(gateway.gateway.pendingHandovers == 0)
        }
    }

    @Test("a caller that closes its side after a request and part of the next gets its answer, then the connection is closed")
    func halfClosedMidRequest() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            let body = chatBody(content: "x mock.first_byte_ms=200")
            let wire = Self.wire(key: key, body: body) + "POST /v1/chat"
            let (text, closed) = try await RawHTTPConnection.halfClosing(port: gateway.port, sending: wire)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(closed, "the connection was left open")
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 1)
        }
    }

    @Test("requests pipelined behind a call are not sent on once the caller has left")
    func pipelinedAfterReset() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway, preset: "dev")
            var wire = ""
            for _ in 0..<5 {
                // Answered after a second: the reset surely comes first, even on a loaded machine.
                let body = chatBody(content: "x mock.first_byte_ms=1000")
                wire += Self.wire(key: key, body: body)
            }
            // Reset while the first is being answered.
            _ = try await RawHTTPConnection.exchange(port: gateway.port, sending: wire, untilResponses: 0, quiet: .milliseconds(100),
                                                     resetOnClose: true)
            // The first call's row, once its answer came; then time for a second call's, were
            // one wrongly sent on.
            try await waitUntil(timeout: .seconds(20)) { try await !gateway.ledger.recentUsage(limit: 10).isEmpty }
            try await Task.sleep(for: .milliseconds(2500))
            #expect(try await gateway.ledger.recentUsage(limit: 10).count == 1)
        }
    }

    @Test("Expect: 100-continue is answered at once; a body announced as too long gets its 413 instead")
    func expectContinue() async throws {
        try await withGateway { gateway in
            let key = try await Self.cachedKey(gateway)
            let body = chatBody()
            func head(length: Int) -> String {
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\n"
                    + "Expect: 100-continue\r\nContent-Length: \(length)\r\n\r\n"
            }
            // The head alone: the gateway invites the body.
            let invited = try await RawHTTPConnection.exchange(port: gateway.port, sending: head(length: body.utf8.count), untilResponses: 1,
                                                               quiet: .milliseconds(200), timeout: .seconds(5))
            #expect(invited.hasPrefix("HTTP/1.1 100 Continue\r\n"))
            // Head and body together (a client may send the body without waiting): 100, then the answer.
            let answered = try await RawHTTPConnection.exchange(port: gateway.port, sending: head(length: body.utf8.count) + body, untilResponses: 2)
            let statuses = answered.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["100", "200"])
            // Too long to read: no invitation, the 413.
            let refused = try await RawHTTPConnection.exchange(port: gateway.port, sending: head(length: 1 << 30), untilResponses: 1,
                                                               quiet: .milliseconds(200), timeout: .seconds(5))
            #expect(refused.hasPrefix("HTTP/1.1 413 "))
            #expect(try await Self.fastLaneCount(gateway, outcome: "answered") == 1)
        }
    }

    @Test("stopping with fast-lane calls in flight lets them finish and loses no usage row")
    func stopWhileInFlight() async throws {
        let gateway = try await TestGateway.start { $0.storage.flushIntervalMs = 60_000 }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let key = try await Self.cachedKey(gateway)
        let slow = chatBody(content: "x mock.first_byte_ms=800")
        // A failed call counts as status 0, so the client is always shut down below.
        let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    (try? await gateway.send("/v1/chat/completions", key: key, body: slow, client: client))
                        ?? TestResponse(status: 0, headers: [:], body: "")
                }
            }
            // Stop once all six are admitted (each holds a concurrency slot until it is answered).
            let deadline = ContinuousClock.now + .seconds(10)
            while try await Self.concurrentInUse(gateway) < 6, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await gateway.stop(keepFolder: true)
            var all: [TestResponse] = []
            for try await response in group { all.append(response) }
            return all
        }
        try await client.shutdown()
        #expect(responses.map(\.status) == Array(repeating: 200, count: 6))
        let reopened = try await Ledger.open(.sqlite(path: gateway.folder + "/sluice.db"), logger: .init(label: "test"))
        let rows = try await reopened.recentUsage(limit: 100)
        await reopened.close()
        try? FileManager.default.removeItem(atPath: gateway.folder)
        #expect(Set(rows.map(\.requestID)) == Set(responses.compactMap(\.requestID)))
    }

    /// A new key, already in the gateway's key cache (the fast lane never waits on the ledger; a
    /// key it does not know yet goes to the general path): `GET /v1/models` authenticates it
    /// without counting against a limit or writing a usage row.
    /// A chat completion request as its bytes, for the raw connection.
    static func wire(key: String, body: String) -> String {
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func cachedKey(_ gateway: TestGateway, preset: String = "demo") async throws -> String {
        let (key, _) = try await gateway.makeKey(preset: preset)
        let models = try await gateway.send("/v1/models", method: .GET, key: key)
        #expect(models.status == 200)
        return key
    }

    /// Requests holding a slot of the demo preset's `max_concurrent` now (`/admin/limits`).
    static func concurrentInUse(_ gateway: TestGateway) async throws -> Int {
        let limits = try await gateway.send("/admin/limits", method: .GET, key: TestGateway.adminKey)
        let counters = (try JSONSerialization.jsonObject(with: Data(limits.body.utf8))) as? [[String: Any]] ?? []
        // No counter is none in use: an idle one is swept away (every 10 s), as on a slow run.
        guard let counter = counters.first(where: { $0["limit"] as? String == "concurrent" }) else { return 0 }
        return counter["used"] as? Int ?? -1
    }

    /// `sluice_fast_lane_requests_total{outcome=...}` from `/metrics`.
    static func fastLaneCount(_ gateway: TestGateway, outcome: String) async throws -> Int {
        let metrics = try await gateway.send("/metrics", method: .GET, key: nil)
        let prefix = "sluice_fast_lane_requests_total{outcome=\"\(outcome)\"} "
        guard let line = metrics.body.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(line.dropFirst(prefix.count)) ?? -1
    }

    /// The body without what the mock makes anew for each answer (its id, the second it was made).
    static func withoutID(_ body: String) -> String {
        body.replacingOccurrences(of: #""id":"[^"]*""#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #""created":[0-9]+"#, with: "", options: .regularExpression)
    }

    /// The headers as sorted `name: value` lines, without those that differ by nature from one
    /// call to the next: the request id, the date, and the seconds until the UTC day ends (the
    /// two gateways answer a few seconds apart).
    static func comparableHeaders(_ response: TestResponse) -> [String] {
        response.headers.filter { !perCall.contains($0.name.lowercased()) }
            .map { "\($0.name.lowercased()): \($0.value)" }
            .map { $0.replacingOccurrences(of: #"("daily-tokens";r=[0-9]+);t=[0-9]+"#, with: "$1;t=*", options: .regularExpression) }
            .sorted()
    }
}
