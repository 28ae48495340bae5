import NIOCore
import NIOPosix
import SluiceProviders
import Testing

@Suite("End of turn")
struct EndOfTurnTests {
    /// Touched on the loop only; read after the loop's last task completed.
    final class Log: @unchecked Sendable {
        var entries: [String] = []
    }

    final class Recorder: EndOfTurnWork, @unchecked Sendable {
        let name: String
        let log: Log
        var then: (() -> Void)?
        init(_ name: String, log: Log) {
            self.name = name
            self.log = log
        }
        func endOfTurn() {
            log.entries.append(name)
            then?()
        }
    }

    @Test("work registered during a turn runs after it, in order, once per registration; work registered then runs in a later turn")
    func order() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let turn = EndOfTurn(eventLoop: loop)
        let log = Log()
        let first = Recorder("first", log: log)
        let second = Recorder("second", log: log)
        let later = Recorder("later", log: log)
        first.then = { turn.register(later) }
        try await loop.submit {
            turn.register(first)
            turn.register(second)
            log.entries.append("turn")
        }.get()
        try await loop.submit {}.get()
        try await loop.submit {}.get()
        #expect(log.entries == ["turn", "first", "second", "later"])
    }
}
