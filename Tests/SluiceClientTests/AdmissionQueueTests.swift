import SluiceClient
import Testing

@Suite("Admission queue")
struct AdmissionQueueTests {
    @Test("up to maxConcurrency start, up to capacity queue in order, the rest are refused")
    func bounds() {
        var queue = AdmissionQueue<Int>(capacity: 3, maxConcurrency: 2)
        let answers = (1...7).map { queue.enqueue($0) }
        #expect(answers == [.started, .started, .queued(position: 1), .queued(position: 2), .queued(position: 3), .full, .full])
        #expect(queue.running == 2)
        #expect(queue.waiting == [3, 4, 5])
    }

    @Test("finish promotes the oldest waiter into the freed slot")
    func finishPromotes() {
        var queue = AdmissionQueue<Int>(capacity: 3, maxConcurrency: 2)
        for ticket in 1...5 { _ = queue.enqueue(ticket) }
        #expect(queue.finish() == 3)
        #expect(queue.running == 2)
        #expect(queue.enqueue(6) == .queued(position: 3))
        #expect([queue.finish(), queue.finish(), queue.finish()] == [4, 5, 6])
        #expect(queue.finish() == nil)
        #expect(queue.running == 1)
        #expect(queue.finish() == nil)
        #expect(queue.running == 0)
        #expect(queue.finish() == nil)
        #expect(queue.running == 0)
    }

    @Test("a new call does not overtake waiters even when a slot is free")
    func fifo() {
        var queue = AdmissionQueue<String>(capacity: 1, maxConcurrency: 1)
        #expect(queue.enqueue("a") == .started)
        #expect(queue.enqueue("b") == .queued(position: 1))
        #expect(queue.finish() == "b")
        #expect(queue.enqueue("c") == .queued(position: 1))
    }

    @Test("a cancelled waiter leaves the queue and makes room")
    func cancel() {
        var queue = AdmissionQueue<Int>(capacity: 2, maxConcurrency: 1)
        for ticket in 1...3 { _ = queue.enqueue(ticket) }
        #expect(queue.enqueue(4) == .full)
        let cancelledWaiter = queue.cancel(2)
        let cancelledRunner = queue.cancel(1)
        #expect(cancelledWaiter)
        #expect(!cancelledRunner)
        #expect(queue.enqueue(4) == .queued(position: 2))
        #expect(queue.finish() == 3)
    }

    @Test("under a random mix of arrivals and finishes the bounds always hold")
    func boundsUnderChurn() {
        var queue = AdmissionQueue<Int>(capacity: 10, maxConcurrency: 4)
        var random = SeededRandom(seed: 42)
        var next = 0
        var order: [Int] = []
        for _ in 0..<5_000 {
            if Bool.random(using: &random) {
                next += 1
                if queue.enqueue(next) == .started { order.append(next) }
            } else if let promoted = queue.finish() {
                order.append(promoted)
            }
            #expect(queue.running <= 4 && queue.waiting.count <= 10)
            #expect(queue.running == 4 || queue.waiting.isEmpty)
        }
        #expect(order == order.sorted())
    }

    @Test("capacity zero refuses whenever every slot is busy")
    func noQueue() {
        var queue = AdmissionQueue<Int>(capacity: 0, maxConcurrency: 1)
        #expect(queue.enqueue(1) == .started)
        #expect(queue.enqueue(2) == .full)
    }
}
