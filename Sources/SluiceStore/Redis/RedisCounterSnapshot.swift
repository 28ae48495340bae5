import SluiceCore

/// One counter's hash as `HGETALL` returns it, read back into the check and `LimitCounter` it
/// stands for (see `RedisCounterScripts` for the fields), for `/admin/limits`.
struct RedisCounterSnapshot: Sendable {
    var check: LimitCheck
    var fields: [String: String]

    /// nil when the hash lacks its name, quota, unit or window (not written by the script).
    init?(counterKey: String, fields: [String: String]) {
        guard let name = fields["n"], let quota = fields["q"].flatMap({ Int64($0) }),
              let unit = fields["u"].flatMap(Self.unit), let kind = fields["w"].flatMap(Self.kind) else { return nil }
        check = LimitCheck(counterKey: counterKey, name: name, kind: kind, mode: .whole, quota: quota, amount: 0, unit: unit, summary: "")
        self.fields = fields
    }

    /// The counter as it stands at `nowMs`: expired slots and leases left out.
    func counter(nowMs: Int64) -> LimitCounter {
        switch check.kind {
        case .rolling(let seconds):
            var window = RollingWindow(windowSeconds: seconds)
            let slots = fields.compactMap { name, value -> (Int64, Int64)? in
                guard name.hasPrefix("s"), let index = Int64(name.dropFirst()), let amount = Int64(value) else { return nil }
                return (index, amount)
            }
            for (index, amount) in slots.sorted(by: { $0.0 < $1.0 }) { window.add(amount, nowMs: index * window.slotMs) }
            var counter = LimitCounter.rolling(window)
            counter.refresh(nowMs: nowMs)
            return counter
        case .utcDay:
            var counter = LimitCounter.day(index: fields["d"].flatMap { Int64($0) } ?? 0, used: fields["v"].flatMap { Int64($0) } ?? 0)
            counter.refresh(nowMs: nowMs)
            return counter
        case .concurrency:
            var inFlight: Int64 = 0
            for (name, value) in fields where name.hasPrefix("l") {
                let parts = value.split(separator: ":")
                guard parts.count == 2, let amount = Int64(parts[0]), let expiry = Int64(parts[1]), expiry > nowMs else { continue }
                inFlight += amount
            }
            return .concurrency(inFlight: inFlight)
        }
    }

    /// The admin view; nil when the counter holds nothing any more (the memory store's `sweep`
    /// would drop it; Redis drops it by expiry).
    func liveCounter(nowMs: Int64) -> LiveCounter? {
        let counter = counter(nowMs: nowMs)
        guard !counter.isIdle(nowMs: nowMs) else { return nil }
        return LiveCounter(check: check, counter: counter, nowMs: nowMs)
    }

    static func unitCode(_ unit: LimitUnit) -> String {
        switch unit {
        case .requests: "r"
        case .tokens: "t"
        case .cents: "c"
        case .concurrentRequests: "n"
        }
    }

    static func unit(_ code: String) -> LimitUnit? {
        switch code {
        case "r": .requests
        case "t": .tokens
        case "c": .cents
        case "n": .concurrentRequests
        default: nil
        }
    }

    static func kindCode(_ kind: LimitCheck.Kind) -> String {
        switch kind {
        case .rolling(let seconds): String(seconds)
        case .utcDay: "d"
        case .concurrency: "c"
        }
    }

    static func kind(_ code: String) -> LimitCheck.Kind? {
        switch code {
        case "d": .utcDay
        case "c": .concurrency
        default: Int(code).map { .rolling(windowSeconds: $0) }
        }
    }
}
