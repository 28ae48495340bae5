import NIOCore
import NIOHTTP1

/// The part of a provider request's head that is the same for every call to one endpoint of one
/// provider: the request line, the configured headers and `Host`, written as bytes once.
///
/// Per call only the request's own fields and `Content-Length` are appended
/// (`UpstreamExchange`): building the head from `HTTPHeaders` for every call was 1% of a proxied
/// call's CPU time. The headers come from the configuration (checked at start) and the gateway,
/// so they are written as they are.
public struct ProviderRequestHead: Sendable {
    /// `POST <target> HTTP/1.1`, the constant fields and `Host`, each line ended.
    let prefix: ByteBuffer

    public init(origin: ProviderOrigin, target: String, headers: HTTPHeaders) {
        var size = target.utf8.count + origin.authority.utf8.count + 24
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        var bytes = ByteBuffer()
        bytes.reserveCapacity(size)
        bytes.writeStaticString("POST ")
        bytes.writeString(target)
        bytes.writeStaticString(" HTTP/1.1\r\n")
        for (name, value) in headers { bytes.writeHeaderField(name: name, value: value) }
        bytes.writeHeaderField(name: "Host", value: origin.authority)
        prefix = bytes
    }

    /// The whole head of a call: the prefix, `fields`, `Content-Length: bodyLength` and the empty
    /// line that ends it.
    func complete(adding fields: KeyValuePairs<String, String>, bodyLength: Int) -> ByteBuffer {
        var size = prefix.readableBytes + 40
        for (name, value) in fields { size += name.utf8.count + value.utf8.count + 4 }
        var head = ByteBuffer()
        head.reserveCapacity(size)
        head.writeImmutableBuffer(prefix)
        for (name, value) in fields { head.writeHeaderField(name: name, value: value) }
        head.writeStaticString("Content-Length: ")
        head.writeDecimal(Int64(bodyLength))
        head.writeStaticString("\r\n\r\n")
        return head
    }
}
