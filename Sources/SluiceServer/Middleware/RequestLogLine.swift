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
        // In key order, so GatewayLogHandler can write them as they are.
        var metadata: [(String, String)] = []
        metadata.reserveCapacity(10)
        if let attempts = fields.attempts { metadata.append(("sluice.attempts", String(attempts))) }
        metadata.append(("sluice.duration_ms", String(elapsed.milliseconds)))
        if let keyID = fields.keyID { metadata.append(("sluice.key_id", keyID)) }
        metadata.append(("sluice.method", method))
        if let model = fields.model { metadata.append(("sluice.model", model)) }
        metadata.append(("sluice.path", path))
        metadata.append(("sluice.request_id", requestID))
        if let served = fields.servedModel { metadata.append(("sluice.served_model", served)) }
        metadata.append(("sluice.status", String(status)))
        if fields.streamed { metadata.append(("sluice.streamed", "true")) }
        if let handler = logger.handler as? GatewayLogHandler,
           handler.write(level: .info, message: "request", sortedMetadata: metadata, source: "SluiceServer") {
            return
        }
        logger.info("request", metadata: Logger.Metadata(uniqueKeysWithValues: metadata.map { ($0.0, .string($0.1)) }))
    }
}
