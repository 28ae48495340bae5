import SluiceCore
import Synchronization

/// Request ids: `req_` and 24 base62 characters, made by Sluice (never taken from the caller,
/// since usage rows are unique by request id, across every instance sharing a ledger).
///
/// Every request needs one, and asking the kernel for randomness each time (a `getrandom` call)
/// cost more than the rest of making the id. The ids need to be unique, not secret, so they come
/// from a fast generator seeded once from the system's randomness: 143 random bits per id.
enum RequestID {
    private static let generator = Mutex(Xoshiro256StarStar(seededBy: SystemRandomNumberGenerator()))

    static func make() -> String {
        generator.withLock { "req_" + APIKeyFormat.randomBase62(count: 24, using: &$0) }
    }
}

/// xoshiro256** (Blackman and Vigna): a small, fast, well-distributed generator. Not for secrets.
struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seededBy seed: some RandomNumberGenerator) {
        var seed = seed
        repeat {
            state = (seed.next(), seed.next(), seed.next(), seed.next())
        } while state == (0, 0, 0, 0)
    }

    mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = state.3.rotatedLeft(by: 45)
        return result
    }
}

private extension UInt64 {
    func rotatedLeft(by count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
