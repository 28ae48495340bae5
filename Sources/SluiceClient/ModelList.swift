/// The answer of `GET /models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var data: [Model]
}
