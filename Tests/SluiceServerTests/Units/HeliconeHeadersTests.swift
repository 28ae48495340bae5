import HTTPTypes
import NIOHTTP1
import SluiceCore
@testable import SluiceServer
import Testing

/// The general path reads `Helicone-*` from Hummingbird's `HTTPFields`, the fast lane from
/// NIO's `HTTPHeaders`; both must read the same request the same way.
@Suite("Helicone request headers")
struct HeliconeHeadersTests {
    static let heads: [[(String, String)]] = [
        [],
        [("Authorization", "Bearer sk"), ("Content-Type", "application/json")],
        [("Helicone-User-Id", "alice")],
        [("helicone-user-id", "alice"), ("HELICONE-USER-ID", "bob")],
        [("Helicone-RateLimit-Policy", "10;w=60"), ("x-other", "1"), ("helicone-ratelimit-policy", "5;w=1;s=user")],
        [("Helicone-Property-Team", "search"), ("helicone-property-TEAM", "ads"), ("Helicone-Property-", "empty name")],
        [("Helicone-Property-App-Name", "web"), ("Helicone-Auth", "Bearer x"), ("Helicone-Userid", "no dash")],
        [("Helicone-", "nothing after the prefix"), ("Helicone", "no dash"), ("X-Helicone-User-Id", "not ours")],
        [("Helicone-User-Id", ""), ("Helicone-Property-Env", "prod"), ("Helicone-RateLimit-Policy", "")],
    ]

    @Test("HTTPFields and HTTPHeaders give the same reading", arguments: heads.indices)
    func sameReading(_ index: Int) {
        let pairs = Self.heads[index]
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let headers = HTTPHeaders(pairs)
        #expect(HeliconeHeaders(fields) == HeliconeHeaders(headers))
    }

    @Test("what is read: joined user ids, each policy, properties by lowercased name")
    func reading() {
        let headers = HTTPHeaders([
            ("Helicone-User-Id", "alice"), ("helicone-user-id", "bob"),
            ("Helicone-RateLimit-Policy", "10;w=60"), ("Helicone-RateLimit-Policy", "5;w=1;s=user"),
            ("Helicone-Property-App-Name", "web"), ("Helicone-Property-", "ignored"), ("Helicone-Auth", "ignored"),
        ])
        let read = HeliconeHeaders(headers)
        #expect(read.userID == "alice, bob")
        #expect(read.policies == ["10;w=60", "5;w=1;s=user"])
        #expect(read.properties == [.init(rawName: "Helicone-Property-App-Name", name: "app-name", value: "web")])
    }

    @Test("a name HTTPFields would refuse is not read from NIO's head either")
    func invalidName() {
        // NIO's parser hands over what it was sent; the general path never sees such a field.
        let read = HeliconeHeaders(HTTPHeaders([("Helicone-Property-A B", "x"), ("Helicone-User-Id", "alice")]))
        #expect(read.userID == "alice")
        #expect(read.properties.isEmpty)
    }
}
