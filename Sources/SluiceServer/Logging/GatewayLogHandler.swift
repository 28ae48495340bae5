import Logging

/// The gateway's log lines, in swift-log's `StreamLogHandler` format (what scripts and operators
/// already parse): `2026-11-30T12:28:40+0000 info sluice: k=v k=v [Module] message`, metadata
/// sorted by key. Written through `LogOutput`, which buffers info-level lines briefly.
///
/// Cheaper than `StreamLogHandler` on the request path, which logs one line per request: the
/// timestamp is formatted once per second (StreamLogHandler calls `localtime`, which reads
/// /etc/localtime, on every line) and lines are written in batches, not one `write` each.
public struct GatewayLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: LogOutput

    public init(label: String, output: LogOutput = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes a line whose metadata is already in key order, without a dictionary: the request
    /// line, once per request. False (nothing written) when this handler's own metadata would
    /// have to be merged in; the caller then logs the usual way.
    func write(level: Logger.Level, message: String, source: String, sortedFields: ((String, String) -> Void) -> Void) -> Bool {
        guard metadata.isEmpty, metadataProvider == nil else { return false }
        emit(level: level, message: message, source: source, sortedFields: sortedFields)
        return true
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        // Described before the output's lock is taken: a value's description may itself log.
        let sorted = merged.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value.description) }
        emit(level: event.level, message: event.message.description, source: event.source) { field in
            for (key, value) in sorted { field(key, value) }
        }
    }

    /// `2026-11-30T12:28:40+0000 info sluice: k=v k=v [Module] message`, appended straight to
    /// what the output holds.
    private func emit(level: Logger.Level, message: String, source: String, sortedFields: ((String, String) -> Void) -> Void) {
        let timestamp = LogTimestamp.now
        output.write(urgent: level > .info) { bytes in
            bytes += timestamp.utf8
            bytes.append(UInt8(ascii: " "))
            bytes += level.rawValue.utf8
            if !label.isEmpty {
                bytes.append(UInt8(ascii: " "))
                bytes += label.utf8
            }
            bytes.append(UInt8(ascii: ":"))
            sortedFields { key, value in
                bytes.append(UInt8(ascii: " "))
                bytes += key.utf8
                bytes.append(UInt8(ascii: "="))
                bytes += value.utf8
            }
            bytes += " [".utf8
            bytes += source.utf8
            bytes += "] ".utf8
            bytes += message.utf8
            bytes.append(UInt8(ascii: "\n"))
        }
    }
}
