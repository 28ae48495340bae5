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
