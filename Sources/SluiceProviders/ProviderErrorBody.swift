import SluiceCore

/// The error a provider put in its body, in whichever of the common shapes it used:
/// `{"error": {"message", "type", "code", "param"}}`, `{"error": "text"}` or `{"message": "text"}`.
public struct ProviderErrorBody: Sendable, Equatable {
    public var message: String?
    public var type: String?
    public var code: String?
    public var param: String?

    public init(message: String?, type: String?, code: String?, param: String?) {
        self.message = message
        self.type = type
        self.code = code
        self.param = param
    }

    public init(parsing bytes: [UInt8]) {
        guard let object = try? JSONObjectView(parsing: bytes) else {
            let raw = String(decoding: bytes.prefix(500), as: UTF8.self)
            let text = String(raw.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
            message = text.isEmpty ? nil : text
            return
        }
        if let error = try? object.object("error") {
            message = Self.text(error, "message")
            type = Self.text(error, "type")
            code = Self.text(error, "code")
            param = Self.text(error, "param")
        } else {
            message = Self.text(object, "error") ?? Self.text(object, "message")
        }
    }

    /// A string member, or a number's digits (some providers send numeric codes).
    static func text(_ object: JSONObjectView, _ key: String) -> String? {
        if let value = try? object.string(key) { return value }
        if let value = try? object.integer(key) { return String(value) }
        return nil
    }
}
