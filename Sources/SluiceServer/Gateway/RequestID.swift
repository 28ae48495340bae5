import SluiceCore
import Synchronization

/// Request ids: `req_`, 9 base62 characters of the time in milliseconds, then 15 random ones
/// (89 bits), made by Sluice (never taken from the caller, since usage rows are unique by request
/// id, across every instance sharing a ledger).
///
/// Time first, so ids sort by when they were made: usage rows are keyed by request id, and
/// random keys scattered each flush's inserts over the whole index (about 5 page writes per
/// request once the table held a few million rows); ids that grow put them side by side.
///
/// Every request needs one, and asking the kernel for randomness each time (a `getrandom` call)
/// cost more than the rest of making the id. The ids need to be unique, not secret, so they come
/// from a fast generator seeded once from the system's randomness.
enum RequestID {
    private static let generator = Mutex(Xoshiro256StarStar(seededBy: SystemRandomNumberGenerator()))
    static let timeDigits = 9
    static let randomDigits = 15

    static func make(nowMs: Int64 = WallClock.system.nowMs()) -> String {
        let (low, high) = generator.withLock { ($0.next(), $0.next()) }
        return make(nowMs: nowMs, random: (low, high))
    }

    /// The id for a time and two random words: deterministic, for tests.
    static func make(nowMs: Int64, random: (UInt64, UInt64)) -> String {
        let alphabet = APIKeyFormat.alphabet
        // Written straight into the string's storage: one allocation per id.
        return String(unsafeUninitializedCapacity: 4 + timeDigits + randomDigits) { bytes in
            _ = bytes.initialize(fromContentsOf: "req_".utf8)
            var time = UInt64(max(0, nowMs))
            for index in stride(from: 4 + timeDigits - 1, through: 4, by: -1) {
                bytes[index] = alphabet[Int(time % 62)]
                time /= 62
            }
            // 62^10 < 2^64: up to 10 digits from each word (a negligible bias; the ids are not secret).
            var words = random
            for offset in 0..<randomDigits {
                if offset < 10 {
                    bytes[4 + timeDigits + offset] = alphabet[Int(words.0 % 62)]
                    words.0 /= 62
                } else {
                    bytes[4 + timeDigits + offset] = alphabet[Int(words.1 % 62)]
                    words.1 /= 62
                }
            }
            return 4 + timeDigits + randomDigits
        }
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
