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
}
