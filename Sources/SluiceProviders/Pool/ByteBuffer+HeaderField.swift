import NIOCore

extension ByteBuffer {
    /// Writes the header line `name: value` and its CRLF with one capacity check: the heads the
    /// fast lane writes itself have a dozen lines, and writing each line in four pieces showed.
    /// The caller vouches for the bytes (names and values the gateway made or checked).
    public mutating func writeHeaderField(name: String, value: String) {
        var name = name
        var value = value
        let length = name.utf8.count + value.utf8.count + 4
        name.withUTF8 { name in
            value.withUTF8 { value in
                _ = writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                    var offset = 0
                    func put(_ bytes: UnsafeRawBufferPointer) {
                        UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
                        offset += bytes.count
                    }
                    put(UnsafeRawBufferPointer(name))
                    out[offset] = UInt8(ascii: ":")
                    out[offset + 1] = UInt8(ascii: " ")
                    offset += 2
                    put(UnsafeRawBufferPointer(value))
                    out[offset] = UInt8(ascii: "\r")
                    out[offset + 1] = UInt8(ascii: "\n")
                    return length
                }
            }
        }
    }

    /// Writes `value` in decimal ASCII, without a string of its own.
    public mutating func writeDecimal(_ value: Int64) {
        if value < 0 { writeStaticString("-") }
        var magnitude = value.magnitude
        // At most 20 digits for a UInt64, written from the last.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            writeBytes(UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }
}
