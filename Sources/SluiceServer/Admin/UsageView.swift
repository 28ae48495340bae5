import Foundation
import SluiceCore

/// A usage report row as JSON (`usage --json`, `GET /admin/usage`).
public enum UsageView {
    public static func json(_ row: UsageReportRow) -> [String: Any] {
        [
            "group": row.group, "requests": row.requests, "input_tokens": row.inputTokens, "output_tokens": row.outputTokens,
            "cost_usd": row.cost.dollars, "errors": row.errors, "rate_limited": row.rateLimited,
        ]
    }
}

extension UsageView {
    /// A usage row as `GET /admin/requests` lists it; `estimated` marks guessed token counts.
    public static func json(_ row: UsageRow) -> [String: Any] {
        [
            "request_id": row.requestID, "key_id": row.keyID, "account": row.account, "env": row.environment,
            "user": row.userID as Any? ?? NSNull(), "properties": row.properties, "endpoint": row.endpoint,
            "requested_model": row.requestedModel as Any? ?? NSNull(), "served_model": row.servedModel as Any? ?? NSNull(),
            "status": row.status, "error_code": row.errorCode as Any? ?? NSNull(), "input_tokens": row.inputTokens,
            "output_tokens": row.outputTokens, "cost_usd": row.cost.dollars, "latency_ms": row.latencyMs,
            "ttfb_ms": row.timeToFirstByteMs as Any? ?? NSNull(), "attempts": row.attempts, "streamed": row.streamed,
            "estimated": row.estimated, "created_at_ms": row.createdAtMs,
        ]
    }
}
