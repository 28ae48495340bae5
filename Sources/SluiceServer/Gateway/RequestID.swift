import SluiceCore

/// Request ids: `req_` and 24 base62 characters, made by Sluice (never taken from the caller,
/// since usage rows are unique by request id).
enum RequestID {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return "req_" + APIKeyFormat.randomBase62(count: 24, using: &generator)
    }
}
