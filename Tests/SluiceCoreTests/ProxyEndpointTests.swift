import SluiceCore
import Testing

@Suite("Proxy endpoints")
struct ProxyEndpointTests {
    @Test("every endpoint's path is /v1 and its raw value")
    func paths() {
        for endpoint in ProxyEndpoint.allCases { #expect(endpoint.path == "/v1" + endpoint.rawValue) }
    }
}
