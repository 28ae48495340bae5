import Synchronization
import SluiceCore
import SluiceStore

/// Keys held in memory so authentication never waits on the database.
///
/// Lookups go by the digest's first 8 bytes and then compare the whole digest in constant
/// time. Digests the ledger does not know are remembered (boundedly) so a client hammering with
/// a bad key costs one query, not one per request; a key created later has a different digest,
/// so new keys still work at once.
final class KeyCache: Sendable {
    enum Lookup {
        case found(KeyRecord)
        case knownMissing
        case notCached
    }

    private struct State {
        var byBucket: [UInt64: [KeyRecord]] = [:]
        var missing: Set<UInt64> = []
    }

    /// Remembered unknown digests before the set is cleared.
    static let missingLimit = 10_000
    private let state = Mutex(State())
    private let changes = Atomic<UInt64>(0)

    /// Bumped by every change to the cached keys: a caller remembered at one generation is
    /// still what the cache would answer while the generation is the same.
    var generation: UInt64 { changes.load(ordering: .acquiring) }

    func lookup(_ digest: KeyDigest) -> Lookup {
        let bucket = digest.bucket
        return state.withLock { state in
            if let match = state.byBucket[bucket]?.first(where: { $0.digest.constantTimeEquals(digest) }) {
                return .found(match)
            }
            return state.missing.contains(bucket) ? .knownMissing : .notCached
        }
    }

    /// Adds or replaces keys (by id).
    func store(keys: [KeyRecord]) {
        guard !keys.isEmpty else { return }
        state.withLock { state in
            for key in keys {
                let bucket = key.digest.bucket
                var entries = state.byBucket[bucket] ?? []
                entries.removeAll { $0.id == key.id }
                entries.append(key)
                state.byBucket[bucket] = entries
                state.missing.remove(bucket)
            }
        }
        changes.add(1, ordering: .releasing)
    }

    func rememberMissing(_ digest: KeyDigest) {
        state.withLock { state in
            if state.missing.count >= Self.missingLimit { state.missing.removeAll() }
            state.missing.insert(digest.bucket)
        }
    }
}
