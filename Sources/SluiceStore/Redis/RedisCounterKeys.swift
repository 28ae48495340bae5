/// Where a counter lives in Redis: `<prefix>:{<shard>}:<counter key>`, e.g.
/// `sluice:{key_abc}:key_abc|rpm`.
///
/// The braces are a Redis Cluster hash tag: every counter of one key id hashes to one slot, so a
/// request's counters can be decided by one script on one node. A shard's `%`, `{` and `}` are
/// %-escaped so they cannot end the tag early; the counter key is kept as is after the tag.
struct RedisCounterKeys: Sendable {
    let prefix: String

    func key(shard: String, counterKey: String) -> String {
        "\(prefix):{\(Self.escape(shard))}:\(counterKey)"
    }

    /// The counter key a Redis key holds; nil for keys not laid out by this type.
    func counterKey(of redisKey: String) -> String? {
        let head = prefix + ":{"
        guard redisKey.hasPrefix(head), let close = redisKey[redisKey.index(redisKey.startIndex, offsetBy: head.count)...].range(of: "}:") else {
            return nil
        }
        return String(redisKey[close.upperBound...])
    }

    /// A SCAN pattern for every counter, or those of one shard.
    func pattern(shard: String?) -> String {
        let escapedPrefix = Self.globEscape(prefix)
        guard let shard else { return escapedPrefix + ":{*}:*" }
        return escapedPrefix + ":{" + Self.globEscape(Self.escape(shard)) + "}:*"
    }

    static func escape(_ shard: String) -> String {
        guard shard.contains(where: { $0 == "%" || $0 == "{" || $0 == "}" }) else { return shard }
        var escaped = ""
        for character in shard {
            switch character {
            case "%": escaped += "%25"
            case "{": escaped += "%7B"
            case "}": escaped += "%7D"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// SCAN MATCH treats `* ? [ ] \` as glob syntax.
    static func globEscape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
