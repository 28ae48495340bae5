import Foundation
import Logging
@testable import SluiceServer
import Testing

@Suite("Gateway log handler")
struct GatewayLogHandlerTests {
    /// A pipe whose read end the test drains.
    final class Pipe: @unchecked Sendable {
        let read: Int32
        let write: Int32

        init() {
            var ends: [Int32] = [0, 0]
            _ = ends.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
            (read, write) = (ends[0], ends[1])
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
        }

        /// Everything written so far.
        func drain() -> String {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = Foundation.read(read, &buffer, buffer.count)
                guard count > 0 else { break }
                bytes += buffer[..<count]
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        deinit {
            close(read)
            close(write)
        }
    }

    /// A line without its timestamp (the first word).
    static func withoutTime(_ line: Substring) -> String {
        String(line.drop { $0 != " " }.dropFirst())
    }

    @Test("lines have StreamLogHandler's format: timestamp, level, label, sorted metadata, [source], message")
    func sameFormatAsStreamLogHandler() {
        let pipe = Pipe()
        let output = LogOutput(fileDescriptor: pipe.write)
        var logger = Logger(label: "sluice") { GatewayLogHandler(label: $0, output: output) }
        logger[metadataKey: "base"] = "b"
        let before = time(nil)
        logger.warning("deployment cooling down", metadata: ["sluice.z": "1", "sluice.a": "two words"])
        let after = time(nil)
        let line = pipe.drain()
        #expect(line.hasSuffix("\n"))
        #expect(Self.withoutTime(line.dropLast()) == "warning sluice: base=b sluice.a=two words sluice.z=1 [SluiceServerTests] deployment cooling down")
        let timestamp = line.prefix { $0 != " " }
        #expect(timestamp.count == "2026-11-30T12:28:40+0000".count)
        #expect((before...after).contains { timestamp == LogTimestamp.format($0) })
    }

    @Test("info lines wait for the flush; a warning writes them first, in order")
    func bufferingKeepsOrder() {
        let pipe = Pipe()
        let output = LogOutput(fileDescriptor: pipe.write, flushInterval: .seconds(3600))
        let logger = Logger(label: "sluice") { GatewayLogHandler(label: $0, output: output) }
        logger.info("first")
        logger.info("second")
        #expect(pipe.drain().isEmpty)
        logger.error("third")
        let lines = pipe.drain().split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) }
        #expect(lines == ["first", "second", "third"])
        logger.info("fourth")
        output.flush()
        #expect(pipe.drain().hasSuffix("fourth\n"))
    }

    @Test("held info lines are written within the flush interval, and at once past the buffer limit")
    func flushing() async throws {
        let pipe = Pipe()
        let output = LogOutput(fileDescriptor: pipe.write, flushInterval: .milliseconds(50), bufferLimit: 1024)
        let logger = Logger(label: "sluice") { GatewayLogHandler(label: $0, output: output) }
        logger.info("held")
        // Written by the flusher thread within its interval; a busy machine may delay it.
        var written = ""
        let deadline = ContinuousClock.now + .seconds(5)
        while written.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            written = pipe.drain()
        }
        #expect(written.hasSuffix("held\n"))
        let slow = LogOutput(fileDescriptor: pipe.write, flushInterval: .seconds(3600), bufferLimit: 1024)
        let big = Logger(label: "sluice") { GatewayLogHandler(label: $0, output: slow) }
        for index in 0..<20 { big.info("line \(index) \(String(repeating: "x", count: 80))") }
        #expect(pipe.drain().split(separator: "\n").count >= 10)
    }

    @Test("the request line is the same through the fast entry point as through the metadata dictionary")
    func requestLineBothWays() {
        let pipe = Pipe()
        let output = LogOutput(fileDescriptor: pipe.write)
        let fields = RequestTrace.Fields(requestID: nil, keyID: "key_1", model: "gpt-4o", servedModel: "gpt-4o-mini", attempts: 2, streamed: true)
        let line = RequestLogLine(requestID: "req_1", method: "POST", path: "/v1/chat/completions", status: 200, elapsed: .milliseconds(12), fields: fields)
        let fast = Logger(label: "sluice") { GatewayLogHandler(label: $0, output: output) }
        line.write(to: fast)
        output.flush()
        var withMetadata = fast
        withMetadata[metadataKey: "zz"] = "1"  // takes the dictionary path
        line.write(to: withMetadata)
        output.flush()
        let lines = pipe.drain().split(separator: "\n").map(Self.withoutTime)
        #expect(lines.count == 2)
        let expected = "info sluice: sluice.attempts=2 sluice.duration_ms=12 sluice.key_id=key_1 sluice.method=POST sluice.model=gpt-4o "
            + "sluice.path=/v1/chat/completions sluice.request_id=req_1 sluice.served_model=gpt-4o-mini sluice.status=200 sluice.streamed=true "
            + "[SluiceServer] request"
        #expect(lines.first == expected)
        #expect(lines.last == expected.replacingOccurrences(of: "sluice.streamed=true ", with: "sluice.streamed=true zz=1 "))
    }
}

@Suite("Request ids")
struct RequestIDTests {
    @Test("req_, 9 characters of time, 15 random; ids sort by the time they were made")
    func timeOrdered() {
        let first = RequestID.make(nowMs: 1_764_000_000_000, random: (.max, .max))
        let second = RequestID.make(nowMs: 1_764_000_000_001, random: (0, 0))
        #expect(first.hasPrefix("req_"))
        #expect(first.count == 4 + 9 + 15)
        #expect(first < second)
        #expect(first.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber })
        #expect(RequestID.make(nowMs: 0, random: (0, 0)) == "req_" + String(repeating: "0", count: 24))
        // Base62, time most significant first, then 10 digits of the first word and 5 of the second, least significant first.
        #expect(RequestID.make(nowMs: 1_764_000_000_123, random: (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210)) == "req_00V3U4ELDzBKRVDfU36GMxia")
    }

    @Test("ids made one after another are distinct and never decrease")
    func distinct() {
        let ids = (0..<10_000).map { _ in RequestID.make() }
        #expect(Set(ids).count == ids.count)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0.0.prefix(13) <= $0.1.prefix(13) })
    }
}

@Suite("Event loops per process")
struct EventLoopCountTests {
    @Test("the CPUs of the affinity mask in /proc/self/status")
    func affinityMask() {
        #expect(EventLoopCount.allowedCPUs(status: "Name:\tsluice\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n") == 1)
        #expect(EventLoopCount.allowedCPUs(status: "Cpus_allowed:\tff\n") == 8)
        #expect(EventLoopCount.allowedCPUs(status: "Cpus_allowed:\t00000000,0000000f\n") == 4)
        #expect(EventLoopCount.allowedCPUs(status: "Cpus_allowed:\t0\n") == nil)
        #expect(EventLoopCount.allowedCPUs(status: "Name:\tsluice\n") == nil)
        #expect(EventLoopCount.forThisProcess() ?? 1 >= 1)
    }
}
