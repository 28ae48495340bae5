extension RedisCounterStore {
    /// One PING, within the client's command timeout.
    public func checkReachable() async throws {
        _ = try await client.send(RedisCommand("PING"))
    }
}
