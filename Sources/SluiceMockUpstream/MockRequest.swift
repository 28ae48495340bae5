import Foundation
import Hummingbird

/// What the mock reads from an OpenAI-shaped request body.
///
/// Prompt tokens follow ``MockUsage``: the words of every chat message content (string content or
/// the `text` of `{"type":"text"}` parts) plus 3 per message; the words of the completion
/// prompt(s); the words of the embedding input(s). Arrays of token integers count one token per
/// integer. Directive words are counted like any other word.
struct MockRequest: Sendable {
    /// The endpoint a body was sent to, which decides the fields read.
    enum Endpoint: Sendable {
        case chat, completion, embedding
    }

    /// `model`, echoed in the answer.
    var model: String
    var promptTokens = 0
    var directives = MockDirectives()
    /// `max_completion_tokens`, else `max_tokens`.
    var maxTokens: Int?
    var stream = false
    /// `stream_options.include_usage`.
    var includeUsage = false
    /// Embeddings only: the text each input vector is derived from, in input order.
    var embeddingInputs: [String] = []

    /// Parses `body` as sent to `endpoint`.
    /// - Throws: ``MockRequestError`` for a body that is not JSON or lacks what the endpoint needs.
    init(body: ByteBuffer, endpoint: Endpoint) throws(MockRequestError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        } catch {
            throw .invalidJSON
        }
        guard let json = object as? [String: Any] else { throw .invalidJSON }
        guard let model = json["model"] as? String else {
            throw MockRequestError(message: "you must provide a model parameter", param: "model")
        }
        self.model = model
        switch endpoint {
        case .chat: try readMessages(json["messages"])
        case .completion: try readInputs(json["prompt"], param: "prompt")
        case .embedding: try readInputs(json["input"], param: "input")
        }
        if endpoint != .embedding {
            maxTokens = (json["max_completion_tokens"] as? Int) ?? (json["max_tokens"] as? Int)
            stream = (json["stream"] as? Bool) ?? false
            let streamOptions = json["stream_options"] as? [String: Any]
            includeUsage = stream && ((streamOptions?["include_usage"] as? Bool) ?? false)
        }
    }

    private mutating func readMessages(_ value: Any?) throws(MockRequestError) {
        guard let messages = value as? [Any], !messages.isEmpty else {
            throw MockRequestError(message: "'messages' must be a non-empty array", param: "messages")
        }
        for case let message as [String: Any] in messages {
            promptTokens += MockUsage.chatMessageOverhead
            switch message["content"] {
            case let text as String:
                scan(text)
            case let parts as [Any]:
                for case let part as [String: Any] in parts where part["type"] as? String == "text" {
                    if let text = part["text"] as? String { scan(text) }
                }
            default:
                // null content (tool calls) or other parts: no words.
                break
            }
        }
    }

    /// Reads a completion `prompt` or an embedding `input`: a string, strings, token integers,
    /// or arrays of token integers.
    private mutating func readInputs(_ value: Any?, param: String) throws(MockRequestError) {
        let items: [Any]
        switch value {
        case let text as String: items = [text]
        case let array as [Any] where !array.isEmpty:
            // A flat array of integers is one tokenised input, not one input per integer.
            items = array.allSatisfy { $0 is String || $0 is [Any] } ? array : [array]
        default:
            throw MockRequestError(message: "'\(param)' must be a string or a non-empty array", param: param)
        }
        for item in items {
            if let text = item as? String {
                scan(text)
                embeddingInputs.append(text)
            } else if let tokens = item as? [Any], tokens.allSatisfy({ $0 is Int }) {
                promptTokens += tokens.count
                embeddingInputs.append(tokens.map { "\($0)" }.joined(separator: " "))
            } else {
                throw MockRequestError(message: "invalid '\(param)' entry", param: param)
            }
        }
    }

    /// Counts the words of `text` and picks up the directives among them.
    private mutating func scan(_ text: String) {
        for word in text.split(whereSeparator: \.isWhitespace) {
            promptTokens += 1
            directives.apply(word: word)
        }
    }
}
