/// Hand-written JSON for the mock's answers.
///
/// The shapes are fixed and small, so string building is cheaper than an encoder on the
/// benchmark path, and it keeps OpenAI's key order, which makes captured traffic easy to read.
enum MockJSON {
    /// `value` as a JSON string literal, quotes included.
    static func quote(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// `value` quoted, or `null`.
    static func quote(_ value: String?) -> String {
        value.map { quote($0) } ?? "null"
    }

    /// An OpenAI error body: `{"error":{"message","type","param","code"}}`.
    static func error(message: String, type: String, param: String? = nil, code: String? = nil) -> String {
        #"{"error":{"message":\#(quote(message)),"type":\#(quote(type)),"param":\#(quote(param)),"code":\#(quote(code))}}"#
    }

    /// The `usage` object of chat and text completions.
    static func usage(prompt: Int, completion: Int) -> String {
        #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}"#
    }

    /// The body of `GET /v1/models`.
    static let models: String = {
        let entries = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"].map {
            #"{"id":\#(quote($0)),"object":"model","created":0,"owned_by":"sluice-mock"}"#
        }
        return #"{"object":"list","data":[\#(entries.joined(separator: ","))]}"#
    }()
}
