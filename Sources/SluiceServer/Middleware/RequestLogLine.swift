import Logging

/// The one log line every request gets, whichever way it was served (the edge middleware or the
/// fast lane): id, method, path, status, duration, and what the handler learned.
struct RequestLogLine {
    let requestID: String
    let method: String
    let path: String
    let status: Int
    let elapsed: Duration
    let fields: RequestTrace.Fields

    func write(to logger: Logger) {
        guard logger.logLevel <= .info else { return }
        if let handler = logger.handler as? GatewayLogHandler,
           handler.write(level: .info, message: "request", source: "SluiceServer", sortedFields: forEachField) {
            return
        }
        var metadata = Logger.Metadata()
        forEachField { key, value in metadata[key] = .string(value) }
        logger.info("request", metadata: metadata)
    }

    /// Each field of the line, in key order (so GatewayLogHandler writes them as they come).
    func forEachField(_ body: (String, String) -> Void) {
        if let attempts = fields.attempts { body("sluice.attempts", String(attempts)) }
        body("sluice.duration_ms", String(elapsed.milliseconds))
        if let keyID = fields.keyID { body("sluice.key_id", keyID) }
        body("sluice.method", method)
        if let model = fields.model { body("sluice.model", model) }
        body("sluice.path", path)
        body("sluice.request_id", requestID)
        if let served = fields.servedModel { body("sluice.served_model", served) }
        body("sluice.status", String(status))
        if fields.streamed { body("sluice.streamed", "true") }
    }
}
