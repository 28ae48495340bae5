/// A request body the mock cannot answer: rendered as a 400 `invalid_request_error`.
struct MockRequestError: Error, Sendable {
    var message: String
    var param: String?
    var code: String?

    /// The body was not a JSON object.
    static let invalidJSON = MockRequestError(
        message: "We could not parse the JSON body of your request.", param: nil, code: "invalid_json")
}
