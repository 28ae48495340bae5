import SluiceCore
import SQLKit

extension Ledger {
    static let usageColumns = [
        "request_id", "key_id", "account", "env", "user_id", "endpoint", "requested_model", "served_model", "status",
        "error_code", "input_tokens", "output_tokens", "cost_nanos", "latency_ms", "ttfb_ms", "attempts", "streamed",
        "estimated", "created_at",
    ]
    /// Rows per INSERT, well under the limits of bound parameters per statement (32,766 for
    /// SQLite, 65,535 for PostgreSQL).
    static let usageRowsPerStatement = 1000
    /// Properties per INSERT: three bound values each, under the same limits.
    static let propertiesPerStatement = 10_000

    /// Writes usage rows and debits their cost from their accounts, in one transaction, and
    /// returns each debited account's balance afterwards. A failed batch changes nothing, so it
    /// can be retried whole. A `leaseHolder` (an instance spending from balance leases) also
    /// has the debits taken off its leases, and gets each lease back.
    @discardableResult
    public func insertUsage(_ rows: [UsageRow], leaseHolder: String? = nil) async throws -> [AccountDebit] {
        guard !rows.isEmpty else { return [] }
        // A SQLite file has one write lock, taken whole by each batch: the rows' order does not matter.
        if let usageWriter {
            return try await asWriter { try await usageWriter.write(rows, leaseHolder: leaseHolder) }
        }
        // In request-id order, so two writers with overlapping batches (a retry racing its
        // original on another connection) lock the same rows in the same order, never a cycle.
        // Often already in order (request ids start with their time): then not copied.
        let inOrder = rows.indices.dropLast().allSatisfy { rows[$0].requestID <= rows[$0 + 1].requestID }
        let ordered = inOrder ? rows : rows.sorted { $0.requestID < $1.requestID }
        return try await inTransaction { database in
            // Only rows new to the ledger are debited, so a retried batch never charges twice.
            var newIDs: Set<String> = []
            for chunk in stride(from: 0, to: ordered.count, by: Self.usageRowsPerStatement).map({ ordered[$0..<min($0 + Self.usageRowsPerStatement, ordered.count)] }) {
                var insert = database.insert(into: "usage_rows").columns(Self.usageColumns)
                for row in chunk {
                    insert = insert.values([
                        row.requestID, row.keyID, row.account, row.environment, row.userID, row.endpoint, row.requestedModel,
                        row.servedModel, row.status, row.errorCode, row.inputTokens, row.outputTokens, row.cost.value, row.latencyMs,
                        row.timeToFirstByteMs, row.attempts, row.streamed ? 1 : 0, row.estimated ? 1 : 0, row.createdAtMs,
                    ] as [any Encodable & Sendable])
                }
                for row in try await insert.ignoringConflicts(with: ["request_id"]).returning("request_id").all() {
                    newIDs.insert(try row.decode(column: "request_id", as: String.self))
                }
                let properties = chunk.flatMap { row in row.properties.sorted { $0.key < $1.key }.map { (row.requestID, $0.key, $0.value) } }
                // Callers choose how many properties a request carries: split so that no statement
                // binds more values than PostgreSQL takes (65,535).
                for start in stride(from: 0, to: properties.count, by: Self.propertiesPerStatement) {
                    var propertyInsert = database.insert(into: "usage_properties").columns("request_id", "name", "value")
                    for (requestID, name, value) in properties[start..<min(start + Self.propertiesPerStatement, properties.count)] {
                        propertyInsert = propertyInsert.values(requestID, name, value)
                    }
                    try await propertyInsert.ignoringConflicts(with: ["request_id", "name"]).run()
                }
            }
            var costs: [String: Int64] = [:]
            // A request id twice in one batch is one call: debited once, as the row is written once.
            // (The id is taken off first: the first row with it is the one written, whatever it cost.)
            for row in ordered where newIDs.remove(row.requestID) != nil && row.cost.value != 0 { costs[row.account, default: 0] += row.cost.value }
            var debits: [AccountDebit] = []
            // Accounts in name order, then their leases: the same lock order as `leaseCredits`.
            for (account, cost) in costs.sorted(by: { $0.key < $1.key }) {
                guard let row = try await database.raw("""
                    UPDATE accounts SET balance_nanos = balance_nanos - \(bind: cost), balance_version = balance_version + 1
                    WHERE name = \(bind: account)
                    RETURNING *
                    """).first() else { continue }
                let after = try Self.account(from: row)
                var lease: CreditLease?
                if let leaseHolder, after.balance != nil {
                    // A call that cost more than its lease held leaves the lease at zero; the
                    // excess is the documented overshoot (real cost beyond the reservation).
                    lease = try await database.raw("""
                        UPDATE credit_leases SET amount_nanos = CASE WHEN amount_nanos > \(bind: cost) THEN amount_nanos - \(bind: cost) ELSE 0 END,
                            version = version + 1
                        WHERE account = \(bind: account) AND holder = \(bind: leaseHolder)
                        RETURNING amount_nanos, version, expires_at
                        """).first().map(Self.lease(from:))
                }
                debits.append(AccountDebit(account: account, amount: NanoDollars(cost), balanceAfter: after.balance, version: after.balanceVersion, lease: lease))
            }
            return debits
        }
    }

    /// Totals per group for rows created at or after `sinceMs`, largest request count first.
    /// Rows without a user id or property value form the group `(none)`, so groups always add up
    /// to the whole.
    public func usageReport(by grouping: UsageGrouping, sinceMs: Int64) async throws -> [UsageReportRow] {
        let groupExpression: String
        var join: SQLQueryString = ""
        switch grouping {
        case .key: groupExpression = "u.key_id"
        case .model: groupExpression = "COALESCE(u.served_model, u.requested_model, '(none)')"
        case .account: groupExpression = "u.account"
        case .environment: groupExpression = "u.env"
        case .user: groupExpression = "COALESCE(u.user_id, '(none)')"
        case .property(let name):
            groupExpression = "COALESCE(p.value, '(none)')"
            join = "LEFT JOIN usage_properties p ON p.request_id = u.request_id AND p.name = \(bind: name)"
        }
        let query: SQLQueryString = """
            SELECT \(unsafeRaw: groupExpression) AS grp,
                   COUNT(*) AS requests,
                   CAST(COALESCE(SUM(u.input_tokens), 0) AS BIGINT) AS input_tokens,
                   CAST(COALESCE(SUM(u.output_tokens), 0) AS BIGINT) AS output_tokens,
                   CAST(COALESCE(SUM(u.cost_nanos), 0) AS BIGINT) AS cost_nanos,
                   CAST(COALESCE(SUM(CASE WHEN u.status = 429 THEN 0 WHEN u.status >= 400 OR u.error_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS errors,
                   CAST(COALESCE(SUM(CASE WHEN u.status = 429 THEN 1 ELSE 0 END), 0) AS BIGINT) AS rate_limited
            FROM usage_rows u \(join)
            WHERE u.created_at >= \(bind: sinceMs)
            GROUP BY \(unsafeRaw: groupExpression)
            ORDER BY requests DESC, grp
            """
        return try await withConnection { database in
            try await database.raw(query).all().map { row in
                UsageReportRow(
                    group: try row.decode(column: "grp", as: String.self),
                    requests: try row.decode(column: "requests", as: Int.self),
                    inputTokens: try row.decode(column: "input_tokens", as: Int.self),
                    outputTokens: try row.decode(column: "output_tokens", as: Int.self),
                    cost: NanoDollars(try row.decode(column: "cost_nanos", as: Int64.self)),
                    errors: try row.decode(column: "errors", as: Int.self),
                    rateLimited: try row.decode(column: "rate_limited", as: Int.self)
                )
            }
        }
    }

    /// The most recent usage rows, newest first, with their properties.
    public func recentUsage(limit: Int) async throws -> [UsageRow] {
        try await withConnection { database in
            let rows = try await database.raw("SELECT * FROM usage_rows ORDER BY created_at DESC, request_id LIMIT \(bind: limit)").all()
            var usage = try rows.map(Self.usage(from:))
            guard !usage.isEmpty else { return usage }
            let ids = usage.map(\.requestID)
            let properties = try await database.select().columns("request_id", "name", "value").from("usage_properties")
                .where("request_id", .in, ids).all()
            var byRequest: [String: [String: String]] = [:]
            for row in properties {
                byRequest[try row.decode(column: "request_id", as: String.self), default: [:]][try row.decode(column: "name", as: String.self)] =
                    try row.decode(column: "value", as: String.self)
            }
            for index in usage.indices { usage[index].properties = byRequest[usage[index].requestID] ?? [:] }
            return usage
        }
    }

    static func usage(from row: any SQLRow) throws -> UsageRow {
        UsageRow(
            requestID: try row.decode(column: "request_id", as: String.self),
            keyID: try row.decode(column: "key_id", as: String.self),
            account: try row.decode(column: "account", as: String.self),
            environment: try row.decode(column: "env", as: String.self),
            userID: try row.decode(column: "user_id", as: String?.self),
            endpoint: try row.decode(column: "endpoint", as: String.self),
            requestedModel: try row.decode(column: "requested_model", as: String?.self),
            servedModel: try row.decode(column: "served_model", as: String?.self),
            status: try row.decode(column: "status", as: Int.self),
            errorCode: try row.decode(column: "error_code", as: String?.self),
            inputTokens: try row.decode(column: "input_tokens", as: Int.self),
            outputTokens: try row.decode(column: "output_tokens", as: Int.self),
            cost: NanoDollars(try row.decode(column: "cost_nanos", as: Int64.self)),
            latencyMs: try row.decode(column: "latency_ms", as: Int.self),
            timeToFirstByteMs: try row.decode(column: "ttfb_ms", as: Int?.self),
            attempts: try row.decode(column: "attempts", as: Int.self),
            streamed: try row.decode(column: "streamed", as: Int.self) != 0,
            estimated: try row.decode(column: "estimated", as: Int.self) != 0,
            createdAtMs: try row.decode(column: "created_at", as: Int64.self)
        )
    }
}

extension Ledger {
    /// Requests, errors, 429s, tokens and cost per minute since `sinceMs`, oldest first; minutes
    /// without requests are left out.
    public func usageTimeline(sinceMs: Int64, bucketMs: Int64 = 60_000) async throws -> [UsageTimelinePoint] {
        try await withConnection { database in
            try await database.raw("""
                SELECT (created_at / \(bind: bucketMs)) * \(bind: bucketMs) AS bucket,
                       COUNT(*) AS requests,
                       CAST(COALESCE(SUM(CASE WHEN status = 429 THEN 0 WHEN status >= 400 OR error_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS errors,
                       CAST(COALESCE(SUM(CASE WHEN status = 429 THEN 1 ELSE 0 END), 0) AS BIGINT) AS rate_limited,
                       CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT) AS tokens,
                       CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) AS cost_nanos
                FROM usage_rows WHERE created_at >= \(bind: sinceMs)
                GROUP BY bucket
                ORDER BY bucket
                """).all().map { row in
                UsageTimelinePoint(
                    startMs: try row.decode(column: "bucket", as: Int64.self),
                    requests: try row.decode(column: "requests", as: Int.self),
                    errors: try row.decode(column: "errors", as: Int.self),
                    rateLimited: try row.decode(column: "rate_limited", as: Int.self),
                    tokens: try row.decode(column: "tokens", as: Int.self),
                    cost: NanoDollars(try row.decode(column: "cost_nanos", as: Int64.self)))
            }
        }
    }
}

/// One minute of the usage timeline.
public struct UsageTimelinePoint: Sendable, Equatable {
    public var startMs: Int64
    public var requests: Int
    public var errors: Int
    public var rateLimited: Int
    public var tokens: Int
    public var cost: NanoDollars
}
