/// A rolling window of 60 slots. A request is admitted only if the last 60 slots (the current
/// one included) leave quota for it, so no 60 consecutive slots ever hold more than the quota.
///
/// Only slots that hold something are stored, oldest first, so a counter for a user who made one
/// request costs one entry. Expired slots are skipped by moving `start`, and the storage is
/// compacted only once the skipped part is as large as the live part: a busy key expires a slot
/// every `windowSeconds / 60` s, and moving the whole array each time was most of a decision.
public struct RollingWindow: Sendable, Equatable {
    public static let slotCount: Int64 = 60
    public let slotMs: Int64
    /// Slots (slot index, amount), oldest first; those before `start` have expired.
    private var storage: [(index: Int64, amount: Int64)] = []
    private var start = 0
    /// Amount counted in the window (after `expire`): the sum of `slots`, kept as they change
    /// because every decision reads it.
    public private(set) var used: Int64 = 0

    public init(windowSeconds: Int) {
        slotMs = max(1, Int64(windowSeconds) * 1000 / Self.slotCount)
    }

    /// The non-empty slots still in the window (as of the last `expire`), oldest first.
    public var slots: ArraySlice<(index: Int64, amount: Int64)> { storage[start...] }

    public static func == (lhs: RollingWindow, rhs: RollingWindow) -> Bool {
        lhs.slotMs == rhs.slotMs && lhs.slots.elementsEqual(rhs.slots) { $0.index == $1.index && $0.amount == $1.amount }
    }

    var windowMs: Int64 { slotMs * Self.slotCount }

    func currentSlot(_ nowMs: Int64) -> Int64 { nowMs / slotMs }

    /// Whether some slot has left the window at `nowMs`, so `expire` has work to do.
    public func hasExpired(nowMs: Int64) -> Bool {
        start < storage.count && storage[start].index <= currentSlot(nowMs) - Self.slotCount
    }

    /// Drops slots that have left the window at `nowMs`.
    public mutating func expire(nowMs: Int64) {
        let oldestLive = currentSlot(nowMs) - Self.slotCount + 1
        while start < storage.count, storage[start].index < oldestLive {
            used -= storage[start].amount
            start += 1
        }
        if start == storage.count {
            storage.removeAll(keepingCapacity: true)
            start = 0
            used = 0
        } else if start >= storage.count - start {
            storage.removeFirst(start)
            start = 0
        }
    }

    /// Adds `amount` to the current slot; returns the slot index, for settling later.
    ///
    /// Callers read the clock before taking the store's lock, so `nowMs` may fall a slot behind
    /// one already counted (or the clock may step back); the slot goes in its place, keeping the
    /// oldest-first order that expiry, waits and idleness rely on.
    @discardableResult
    public mutating func add(_ amount: Int64, nowMs: Int64) -> Int64 {
        let slot = currentSlot(nowMs)
        var position = storage.endIndex
        while position > start, storage[position - 1].index > slot { position -= 1 }
        if position > start, storage[position - 1].index == slot {
            storage[position - 1].amount += amount
        } else {
            storage.insert((slot, amount), at: position)
        }
        used += amount
        return slot
    }

    /// Corrects the slot a reservation went into by `delta` (real − reserved). A slot that has
    /// left the window no longer matters and is not revived.
    public mutating func adjust(slot: Int64, by delta: Int64) {
        var position = storage.endIndex
        while position > start, storage[position - 1].index > slot { position -= 1 }
        guard position > start, storage[position - 1].index == slot else { return }
        let adjusted = max(0, storage[position - 1].amount + delta)
        used += adjusted - storage[position - 1].amount
        storage[position - 1].amount = adjusted
    }

    /// Milliseconds from `nowMs` until the earliest moment the window's total is at most
    /// `target`, as slots expire; 0 if it already is.
    public func msUntilUsed(atMost target: Int64, nowMs: Int64) -> Int64 {
        var remaining = used
        if remaining <= target { return 0 }
        for slot in slots {
            remaining -= slot.amount
            if remaining <= target {
                // Slot i leaves the window when slot i + 60 begins.
                return max(0, (slot.index + Self.slotCount) * slotMs - nowMs)
            }
        }
        return max(0, (currentSlot(nowMs) + Self.slotCount) * slotMs - nowMs)
    }

    /// Milliseconds until the oldest counted slot leaves the window; nil when nothing is counted.
    public func msUntilOldestExpires(nowMs: Int64) -> Int64? {
        guard let oldest = slots.first(where: { $0.amount > 0 }) else { return nil }
        return max(0, (oldest.index + Self.slotCount) * slotMs - nowMs)
    }

    /// Whether nothing is counted any more at `nowMs`, so the counter can be dropped.
    public func isIdle(nowMs: Int64) -> Bool {
        guard let newest = slots.last else { return true }
        return newest.index + Self.slotCount <= currentSlot(nowMs)
    }
}
