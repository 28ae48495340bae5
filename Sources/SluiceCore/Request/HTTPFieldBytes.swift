#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte rules of HTTP/1.1 header fields (RFC 9110 §5) that the readers of raw heads share:
/// the fast lane's request heads, the upstream pool's answers and the `Helicone-*` headers.
public enum HTTPFieldBytes {
    /// RFC 9110 `tchar`: what a field name (a token) is made of.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// `bytes` without the optional whitespace (spaces and tabs) around a field value.
    @inlinable
    public static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return bytes[start..<end]
    }

    /// Whether `bytes` spell `lowercase` (ASCII, lowercase) in any case.
    @inlinable
    public static func equalsIgnoringCase(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var index = 0
        for byte in bytes {
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            guard lowered == lowercase.utf8Start[index] else { return false }
            index += 1
        }
        return true
    }

    /// The index of the first line feed in `raw` at or after `start` (`memchr`: the generic
    /// search was most of the time spent reading a head).
    @inlinable
    public static func newline(in raw: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < raw.count, let base = raw.baseAddress, let found = memchr(base + start, 0x0A, raw.count - start) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Calls `body` with each item of a comma-separated field value (`a, b,,c`), trimmed,
    /// empty items skipped.
    @inlinable
    public static func forEachListItem(_ value: Slice<UnsafeRawBufferPointer>, _ body: (Slice<UnsafeRawBufferPointer>) -> Void) {
        var start = value.startIndex
        while start <= value.endIndex {
            var end = start
            while end < value.endIndex, value[end] != UInt8(ascii: ",") { end += 1 }
            let item = trimmed(value[start..<end])
            if !item.isEmpty { body(item) }
            start = end + 1
        }
    }
}
