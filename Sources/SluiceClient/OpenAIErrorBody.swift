import Foundation

/// The fields of an OpenAI-shaped error body, `{"error": {"message", "type", "code", "param"}}`,
/// read tolerantly: providers behind a gateway send integer codes, bare-string errors, extra
/// fields or HTML from a proxy, and none of that may hide the status the caller acts on.
struct OpenAIErrorBody: Equatable {
    var message: String?
    var type: String?
    var code: String?
    var param: String?

    /// The longest non-JSON body quoted as the message: enough to recognise an HTML error page,
    /// not so much that it floods a log line.
    static let maxQuotedBody = 200

    /// Reads `body`; never throws. A body that is not JSON is quoted (trimmed, shortened) as the
    /// message so the caller still sees what came back.
    init(_ body: [UInt8]) {
        guard !body.isEmpty else { return }
        if let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
           let dictionary = object as? [String: Any] {
            if let error = dictionary["error"] as? [String: Any] {
                message = Self.text(error["message"])
                type = Self.text(error["type"])
                code = Self.text(error["code"])
                param = Self.text(error["param"])
            } else if let error = Self.text(dictionary["error"]) {
                // `{"error": "..."}`, as some OpenAI-compatible servers answer.
                message = error
            } else {
                message = Self.text(dictionary["message"])
            }
            return
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return }
        message = text.count > Self.maxQuotedBody ? String(text.prefix(Self.maxQuotedBody)) + "…" : text
    }

    /// A JSON string as is, a JSON number as its decimal text (some providers send `"code": 429`),
    /// anything else (null, objects, arrays) as nil.
    private static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}
