import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a plain TCP client saw of one HTTP/1.1 exchange: the bytes exactly as they came off the
/// socket, so tests can tell a clean end of stream from a dropped connection.
struct RawCapture: Sendable {
    /// Each `recv`, with the time since the request was sent.
    var reads: [(elapsed: Duration, bytes: [UInt8])] = []
    /// The server closed the connection (`recv` returned 0) rather than going quiet.
    var closedByServer = false

    var bytes: [UInt8] { reads.flatMap(\.bytes) }
}

/// A response head and chunked body decoded from a ``RawCapture``.
struct RawResponse {
    var statusCode: Int
    /// Header names lowercased.
    var headers: [String: String]
    var chunks: [String] = []
    /// The terminating zero-length chunk arrived.
    var sawLastChunk = false

    init(_ bytes: [UInt8]) throws {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = bytes.firstRange(of: separator) else { throw RawHTTPError.noHead }
        let lines = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        statusCode = Int(lines[0].split(separator: " ")[1]) ?? 0
        headers = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var rest = bytes[headEnd.upperBound...]
        let crlf: [UInt8] = Array("\r\n".utf8)
        while let lineEnd = rest.firstRange(of: crlf),
              let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) {
            if size == 0 {
                sawLastChunk = true
                break
            }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { break }
            let end = rest.index(start, offsetBy: size)
            chunks.append(String(decoding: rest[start..<end], as: UTF8.self))
            rest = rest[rest.index(end, offsetBy: 2)...]
        }
    }

    /// The chunked body, joined.
    var body: String { chunks.joined() }
}

enum RawHTTPError: Error {
    case noHead
    case connectFailed(String)
    case io(Int32)
}

enum RawHTTP {
    /// Sends `request` verbatim and records what comes back until the server closes the
    /// connection, `stop` says the capture is complete, or nothing arrives for `idleTimeout`.
    ///
    /// The blocking socket calls run on their own thread: the cooperative pool has 2 threads here
    /// and the server under test needs them.
    static func exchange(
        host: String, port: Int, request: String, idleTimeout: Duration = .seconds(5),
        stop: @escaping @Sendable ([UInt8]) -> Bool = { _ in false }
    ) async throws -> RawCapture {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    try blockingExchange(host: host, port: port, request: request, idleTimeout: idleTimeout, stop: stop)
                })
            }.start()
        }
    }

    /// A POST with a JSON body on a keep-alive connection.
    static func post(_ path: String, json: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\nConnection: keep-alive\r\n\r\n" + json
    }

    private static func blockingExchange(
        host: String, port: Int, request: String, idleTimeout: Duration, stop: ([UInt8]) -> Bool
    ) throws -> RawCapture {
        let fd = try openConnection(host: host, port: port)
        defer { close(fd) }
        func setReceiveTimeout(_ duration: Duration) {
            let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
            var timeout = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        // The first bytes may take a while on a loaded machine; `idleTimeout` is about silence
        // once the answer has begun.
        setReceiveTimeout(max(idleTimeout, .seconds(10)))

        let requestBytes = Array(request.utf8)
        guard send(fd, requestBytes, requestBytes.count, 0) == requestBytes.count else { throw RawHTTPError.io(errno) }
        let start = ContinuousClock.now
        var capture = RawCapture()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                if capture.reads.isEmpty { setReceiveTimeout(idleTimeout) }
                capture.reads.append((ContinuousClock.now - start, Array(buffer[0..<count])))
                if stop(capture.bytes) { return capture }
            } else if count == 0 {
                capture.closedByServer = true
                return capture
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return capture
            } else {
                throw RawHTTPError.io(errno)
            }
        }
    }

    private static func openConnection(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw RawHTTPError.connectFailed("cannot resolve \(host)")
        }
        defer { freeaddrinfo(first) }
        // "localhost" may resolve to ::1 first while the server listens on 127.0.0.1: try each.
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            candidate = info.pointee.ai_next
        }
        throw RawHTTPError.connectFailed("cannot connect to \(host):\(port)")
    }
}
