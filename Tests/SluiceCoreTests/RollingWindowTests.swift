import SluiceCore
import Testing

/// 2026-01-01T00:00:00Z, a start that is aligned to every slot length used here.
private let start: Int64 = 1_767_225_600_000

@Suite("Rolling window")
struct RollingWindowTests {
    @Test("a window of w seconds is kept as 60 slots of w/60 seconds", arguments: [(60, Int64(1_000)), (90, 1_500), (3600, 60_000), (120, 2_000)])
    func slotLength(windowSeconds: Int, slotMs: Int64) {
        #expect(RollingWindow(windowSeconds: windowSeconds).slotMs == slotMs)
        #expect(RollingWindow.slotCount == 60)
    }

    @Test("amounts added in one slot share one entry; a new slot gets its own, oldest first")
    func addingFillsSlots() {
        var window = RollingWindow(windowSeconds: 60)
        #expect(window.add(2, nowMs: start) == start / 1000)
        #expect(window.add(3, nowMs: start + 999) == start / 1000)
        #expect(window.add(4, nowMs: start + 1000) == start / 1000 + 1)
        #expect(window.slots.map(\.index) == [start / 1000, start / 1000 + 1])
        #expect(window.slots.map(\.amount) == [5, 4])
        #expect(window.used == 9)
    }

    @Test("a slot counts until the slot 60 after it begins, then leaves the window", arguments: [60, 90, 3600])
    func slotLeavesAfterSixtySlots(windowSeconds: Int) {
        var window = RollingWindow(windowSeconds: windowSeconds)
        let slotMs = window.slotMs
        window.add(7, nowMs: start + slotMs / 2)
        window.add(1, nowMs: start + 10 * slotMs)

        var stillThere = window
        stillThere.expire(nowMs: start + 60 * slotMs - 1)
        #expect(stillThere.used == 8)

        var gone = window
        gone.expire(nowMs: start + 60 * slotMs)
        #expect(gone.used == 1)

        var allGone = window
        allGone.expire(nowMs: start + 70 * slotMs)
        #expect(allGone.used == 0)
        #expect(allGone.slots.isEmpty)
    }

    @Test("the wait until the total is at most a target is measured to the slot that must leave")
    func waitForTarget() {
        var window = RollingWindow(windowSeconds: 60)
        window.add(3, nowMs: start)              // slot 0, leaves at 60 s
        window.add(2, nowMs: start + 20_500)     // slot 20, leaves at 80 s
        window.add(5, nowMs: start + 40_000)     // slot 40, leaves at 100 s
        let now = start + 45_250
        #expect(window.msUntilUsed(atMost: 10, nowMs: now) == 0)
        #expect(window.msUntilUsed(atMost: 9, nowMs: now) == 60_000 - 45_250)
        #expect(window.msUntilUsed(atMost: 7, nowMs: now) == 60_000 - 45_250)
        #expect(window.msUntilUsed(atMost: 5, nowMs: now) == 80_000 - 45_250)
        #expect(window.msUntilUsed(atMost: 4, nowMs: now) == 100_000 - 45_250)
        #expect(window.msUntilUsed(atMost: 0, nowMs: now) == 100_000 - 45_250)
    }

    @Test("a correction changes only the slot it names, never below zero")
    func adjustTargetsItsSlot() {
        var window = RollingWindow(windowSeconds: 60)
        let first = window.add(100, nowMs: start)
        let second = window.add(50, nowMs: start + 5_000)
        window.adjust(slot: first, by: -60)
        #expect(window.slots.map(\.amount) == [40, 50])
        window.adjust(slot: second, by: 30)
        #expect(window.slots.map(\.amount) == [40, 80])
        window.adjust(slot: first, by: -1_000)
        #expect(window.slots.map(\.amount) == [0, 80])
        #expect(window.used == 80)
    }

    @Test("a correction for a slot that has left the window is not revived")
    func adjustExpiredSlot() {
        var window = RollingWindow(windowSeconds: 60)
        let old = window.add(100, nowMs: start)
        window.add(1, nowMs: start + 30_000)
        window.expire(nowMs: start + 60_000)
        window.adjust(slot: old, by: 5_000)
        #expect(window.used == 1)
        #expect(window.slots.count == 1)
    }

    @Test("the reset is measured to the oldest slot that holds something; nothing counted has none")
    func oldestExpiry() {
        var window = RollingWindow(windowSeconds: 90)
        #expect(window.msUntilOldestExpires(nowMs: start) == nil)
        let first = window.add(10, nowMs: start + 100)       // slot 0 of 1.5 s, leaves at 90 s
        window.add(10, nowMs: start + 3_000)                // slot 2, leaves at 93 s
        #expect(window.msUntilOldestExpires(nowMs: start + 40_000) == 50_000)
        window.adjust(slot: first, by: -10)
        #expect(window.msUntilOldestExpires(nowMs: start + 40_000) == 53_000)
    }

    @Test("a window is idle once its newest slot has left, and not a millisecond earlier")
    func idleness() {
        var window = RollingWindow(windowSeconds: 60)
        #expect(window.isIdle(nowMs: start))
        window.add(1, nowMs: start)
        window.add(1, nowMs: start + 12_345)
        #expect(!window.isIdle(nowMs: start + 71_999))
        #expect(window.isIdle(nowMs: start + 72_000))
    }

    @Test("an amount counted with a clock reading a slot behind the newest keeps the slots in order")
    func lateClockReading() {
        // Callers read the clock before they take the store's lock, so near a slot boundary a
        // decision can arrive with a time just before one already counted (or the clock steps back).
        var window = RollingWindow(windowSeconds: 60)
        window.add(1, nowMs: start + 1_000)
        #expect(window.add(2, nowMs: start + 999) == start / 1000)
        window.add(4, nowMs: start + 999)
        #expect(window.slots.map(\.index) == [start / 1000, start / 1000 + 1])
        #expect(window.slots.map(\.amount) == [6, 1])
        // Slot 1 counts until 61 s: the window is not idle, and not emptied, before then.
        #expect(!window.isIdle(nowMs: start + 60_999))
        #expect(window.isIdle(nowMs: start + 61_000))
        var expired = window
        expired.expire(nowMs: start + 60_000)
        #expect(expired.used == 1)
        #expect(window.msUntilUsed(atMost: 1, nowMs: start + 30_000) == 30_000)
        #expect(window.msUntilOldestExpires(nowMs: start + 30_000) == 30_000)
    }

    @Test("windows are equal when their slot length and slots are")
    func equality() {
        var a = RollingWindow(windowSeconds: 60)
        var b = RollingWindow(windowSeconds: 60)
        #expect(a == b)
        #expect(a != RollingWindow(windowSeconds: 90))
        a.add(1, nowMs: start)
        #expect(a != b)
        b.add(1, nowMs: start + 500)
        #expect(a == b)
        b.add(1, nowMs: start + 500)
        #expect(a != b)
    }

    @Test("a window that slides for a long time keeps exactly its last 60 slots and their total, through every compaction")
    func longSlide() {
        var window = RollingWindow(windowSeconds: 60)
        for second in 0..<500 {
            let now = start + Int64(second) * 1_000
            window.expire(nowMs: now)
            window.add(Int64(second % 7 + 1), nowMs: now)
            let live = max(0, second - 59)...second
            #expect(window.slots.map(\.index) == live.map { start / 1_000 + Int64($0) })
            #expect(window.used == live.reduce(0) { $0 + Int64($1 % 7 + 1) })
        }
        window.adjust(slot: start / 1_000 + 499, by: -3)
        #expect(window.slots.last?.amount == Int64(499 % 7 + 1) - 3)
        window.expire(nowMs: start + 600_000)
        #expect(window.slots.isEmpty && window.used == 0)
    }
}
