/// The few fields of a client's request body the gateway acts on, read without decoding the rest.
public struct ClientRequestBody: Sendable {
    public let endpoint: ProxyEndpoint
    /// The model asked for: `model`, or the first entry of `models`.
    public let model: String
    /// The body's own fallback chain (`"models": [...]`), when given.
    public let models: [String]?
    public let stream: Bool
    /// Whether the caller itself asked for the usage chunk (`stream_options.include_usage`).
    public let callerWantsUsageChunk: Bool
    /// `max_tokens` or `max_completion_tokens`.
    public let maxTokens: Int?
    /// The body's `user` field.
    public let user: String?
    let view: JSONObjectView

    /// Reads and checks a request body: 400 for broken JSON or a missing model, 422 for fields
    /// of the wrong type.
    public init(parsing bytes: [UInt8], endpoint: ProxyEndpoint) throws(GatewayError) {
        let view: JSONObjectView
        do {
            view = try JSONObjectView(parsing: bytes)
        } catch {
            throw .invalidJSON(error.description)
        }
        do {
            let models = try Self.stringList(view, "models")
            let model = try view.string("model")
            if let models {
                guard let first = models.first else {
                    throw GatewayError.invalidRequest("\"models\" must list at least one model", param: "models")
                }
                if let model, model != first {
                    throw GatewayError.invalidRequest("\"model\" (\"\(model)\") must be the first entry of \"models\" (\"\(first)\") when both are given", param: "model")
                }
            }
            guard let chosen = model ?? models?.first, !chosen.isEmpty else {
                throw GatewayError(status: 400, code: .missingModel, message: "The request body has no \"model\"; say which model to use, e.g. \"model\": \"gpt-4o-mini\"", param: "model")
            }
            let stream = try view.bool("stream") ?? false
            if stream, !endpoint.canStream {
                throw GatewayError.invalidRequest("\(endpoint.rawValue) does not stream; remove \"stream\"", param: "stream")
            }
            let streamOptions = try view.object("stream_options")
            let includeUsage = try streamOptions?.bool("include_usage") ?? false
            let maxTokens = try view.integer("max_completion_tokens") ?? view.integer("max_tokens")
            if let maxTokens, maxTokens < 0 {
                throw GatewayError.invalidRequest("\"max_tokens\" must not be negative", param: "max_tokens")
            }
            let user = try view.string("user")
            guard let prompt = view.member(endpoint.promptMember), prompt.kind != .null else {
                throw GatewayError.invalidRequest("The request body has no \"\(endpoint.promptMember)\", which \(endpoint.rawValue) requires", param: endpoint.promptMember)
            }
            try Self.checkPromptShape(prompt, in: view.bytes, endpoint: endpoint)
            self.endpoint = endpoint
            self.model = chosen
            self.models = models
            self.stream = stream
            self.callerWantsUsageChunk = includeUsage
            self.maxTokens = maxTokens
            self.user = user
            self.view = view
        } catch let error as GatewayError {
            throw error
        } catch let error as JSONTypeError {
            throw .invalidRequest("Invalid request body: \(error.description)", param: error.key)
        } catch {
            throw .invalidRequest("Invalid request body: \(error)")
        }
    }

    /// The body to send to a provider: `model` set to the provider's name for it, Sluice's own
    /// `models` removed, and for streams `stream_options.include_usage` switched on so usage can
    /// be recorded. Untouched bytes when nothing needs to change.
    public func upstreamBody(providerModel: String) -> [UInt8] {
        upstreamEdit(providerModel: providerModel).apply()
    }

    /// `upstreamBody`, or nil when it is the body exactly as received (the caller can then send
    /// the buffer it read instead of a copy).
    public func editedUpstreamBody(providerModel: String) -> [UInt8]? {
        let edit = upstreamEdit(providerModel: providerModel)
        return edit.isEmpty ? nil : edit.apply()
    }

    private func upstreamEdit(providerModel: String) -> JSONEdit {
        var edit = JSONEdit(view)
        if (try? view.string("model")) != providerModel {
            edit.set("model", rawJSON: JSONText.quoted(providerModel))
        }
        if view.member("models") != nil {
            edit.remove("models")
        }
        if stream, !callerWantsUsageChunk {
            if let options = try? view.object("stream_options") {
                var nested = JSONEdit(options)
                nested.set("include_usage", rawJSON: "true")
                edit.set("stream_options", rawJSON: String(decoding: nested.apply(objectOnly: true), as: UTF8.self))
            } else {
                edit.set("stream_options", rawJSON: "{\"include_usage\":true}")
            }
        }
        return edit
    }

    static func stringList(_ view: JSONObjectView, _ key: String) throws -> [String]? {
        guard let elements = try view.array(key) else { return nil }
        return try elements.map { element in
            guard element.kind == .string else {
                throw GatewayError.invalidRequest("\"\(key)\" must be a list of model names", param: key)
            }
            return view.decodeString(at: element.range)
        }
    }
}
