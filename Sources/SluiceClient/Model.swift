/// One entry of `GET /models`.
public struct Model: Codable, Sendable, Equatable {
    public var id: String
    public var created: Int?
    public var ownedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, created
        case ownedBy = "owned_by"
    }
}
