import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceStore

/// The admin API (SPEC §8): accounts, credits, keys, usage and recent requests, as JSON, behind
/// `Authorization: Bearer <admin key>`.
struct AdminController {
    let operations: AdminOperations
    let counters: any CounterStore
    let clock: WallClock
    let adminKey: Secret?

    func addRoutes(to router: Router<SluiceRequestContext>) {
        let admin = router.group("admin").add(middleware: AdminAuthMiddleware(adminKey: adminKey))
        admin.get("accounts") { _, _ in try Self.json(.ok, await operations.accounts()) }
        admin.post("accounts") { request, _ in
            let body = try await Self.object(request)
            let name = try Self.string(body, "name")
            let unlimited = body["unlimited"] as? Bool ?? false
            let credits = try Self.optionalDollars(body, "credits_usd")
            guard unlimited != (credits != nil) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "give either \"credits_usd\" (a number of dollars) or \"unlimited\": true")
            }
            return try Self.json(.created, await operations.createAccount(name: name, credits: credits))
        }
        admin.post("accounts/{name}/credits") { request, context in
            let body = try await Self.object(request)
            guard let amount = try Self.optionalDollars(body, "usd") else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "\"usd\" is required: the dollars to add, e.g. {\"usd\": 25}")
            }
            return try Self.json(.ok, await operations.addCredits(account: context.parameters.get("name") ?? "", amount: amount))
        }
        admin.get("keys") { request, _ in
            try Self.json(.ok, await operations.keys(account: request.uri.queryParameters.get("account")))
        }
        admin.post("keys") { request, _ in
            let body = try await Self.object(request)
            let env = try Self.string(body, "env")
            guard let environment = KeyEnvironment(rawValue: env) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "\"env\" must be dev, staging or prod, not \"\(env)\"")
            }
            var expires: Int?
            if let text = body["expires_in"] as? String {
                guard let seconds = DurationText.seconds(text) else { throw GatewayError(status: 400, code: .invalidRequest, message: "\"expires_in\": \(DurationText.problem(text))") }
                expires = seconds
            }
            return try Self.json(.created, await operations.createKey(
                account: try Self.string(body, "account"), environment: environment, preset: try Self.string(body, "preset"),
                name: body["name"] as? String, expiresInSeconds: expires))
        }
        admin.delete("keys/{id}") { _, context in
            _ = try await operations.revokeKey(id: context.parameters.get("id") ?? "")
            return Response(status: .noContent)
        }
        admin.get("usage") { request, _ in
            let by = request.uri.queryParameters.get("by") ?? "key"
            let since = request.uri.queryParameters.get("since") ?? "24h"
            guard let grouping = UsageGrouping(parsing: by) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "by \(UsageGrouping.problem), not \"\(by)\"")
            }
            guard let seconds = DurationText.seconds(since) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "since: \(DurationText.problem(since))")
            }
            return try Self.json(.ok, await operations.usage(by: grouping, sinceSeconds: seconds))
        }
        admin.get("usage/timeline") { request, _ in
            let since = request.uri.queryParameters.get("since") ?? "1h"
            guard let seconds = DurationText.seconds(since) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "since: \(DurationText.problem(since))")
            }
            return try Self.json(.ok, await operations.usageTimeline(sinceSeconds: seconds))
        }
        admin.get("limits") { request, _ in
            let key: String? = request.uri.queryParameters.get("key")
            let live = try await counters.liveCounters(shard: key, nowMs: clock.nowMs())
            return try Self.json(.ok, live.map(LimitView.json))
        }
        admin.get("requests") { request, _ in
            let limitText = request.uri.queryParameters.get("limit") ?? "100"
            guard let limit = Int(limitText), (1...10_000).contains(limit) else {
                throw GatewayError(status: 400, code: .invalidRequest, message: "limit must be a whole number from 1 to 10000, not \"\(limitText)\"")
            }
            return try Self.json(.ok, await operations.recentRequests(limit: limit))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: Any) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func object(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw GatewayError(status: 400, code: .invalidRequest, message: "the body must be a JSON object")
        }
        return object
    }

    static func string(_ body: [String: Any], _ key: String) throws -> String {
        guard let value = body[key] as? String, !value.isEmpty else {
            throw GatewayError(status: 400, code: .invalidRequest, message: "\"\(key)\" is required and must be a non-empty string")
        }
        return value
    }

    /// A non-negative dollar amount given as a JSON number (or numeric string), exactly.
    static func optionalDollars(_ body: [String: Any], _ key: String) throws -> NanoDollars? {
        guard let raw = body[key], !(raw is NSNull) else { return nil }
        // Numbers arrive as NSNumber or Swift numbers depending on the platform; their text is
        // what the caller wrote closely enough to parse exactly ("25", "0.5", "1.0").
        // JSON true/false are NSNumbers too (objCType "c"); they are not amounts.
        if let number = raw as? NSNumber, String(cString: number.objCType) == "c" { return try invalidDollars(key) }
        let text = raw as? String ?? "\(raw)"
        guard let amount = NanoDollars(dollars: text) else { return try invalidDollars(key) }
        return amount
    }

    static func invalidDollars(_ key: String) throws -> NanoDollars {
        throw GatewayError(status: 400, code: .invalidRequest, message: "\"\(key)\" must be a non-negative number of dollars, e.g. 25 or 0.5")
    }
}

/// Admits only requests bearing the admin key; Sluice keys get 401 here.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = SluiceRequestContext
    let adminKey: Secret?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let adminKey else {
            throw GatewayError(status: 401, code: .invalidAdminKey, message: "The admin API is disabled: start the server with the admin key in the variable named by server.admin_key_env")
        }
        let presented = request.headers[.authorization].map { String($0.drop { $0 != " " }.dropFirst()) } ?? ""
        guard request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true,
              KeyDigest(of: presented).constantTimeEquals(KeyDigest(of: adminKey.value)) else {
            throw GatewayError(status: 401, code: .invalidAdminKey, message: "Invalid admin key: send `Authorization: Bearer <admin key>`")
        }
        return try await next(request, context)
    }
}
