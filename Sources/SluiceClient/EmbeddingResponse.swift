/// The answer of `POST /embeddings`: one vector per input, in input order by `index`.
public struct EmbeddingResponse: Codable, Sendable, Equatable {
    /// One input's vector.
    public struct Embedding: Codable, Sendable, Equatable {
        public var index: Int
        public var embedding: [Double]
    }

    public var data: [Embedding]
    public var model: String
    public var usage: Usage?
}
