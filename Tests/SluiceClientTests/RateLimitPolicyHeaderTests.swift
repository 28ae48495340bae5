import SluiceClient
import Testing

@Suite("RateLimit-Policy answer header")
struct RateLimitPolicyHeaderTests {
    @Test("Sluice's headers: the request policy's quota, remaining and reset")
    func sluiceHeaders() {
        let header = RateLimitPolicyHeader(
            policy: #""rpm";q=60;w=60, "tpm";q=1000;qu="token";w=60"#,
            rateLimit: #""rpm";r=59;t=1, "tpm";r=700;t=60"#)
        #expect(header.policies == [
            .init(name: "rpm", quota: 60, windowSeconds: 60),
            .init(name: "tpm", quota: 1000, windowSeconds: 60, unit: "token"),
        ])
        #expect(header.requestsPerMinute == 60)
        #expect(header.pacingState == .init(name: "rpm", remaining: 59, resetSeconds: 1))
    }

    @Test("the smallest request policy normalised to 60 s wins; token, cents and concurrency never pace")
    func smallestRequestPolicy() {
        let header = RateLimitPolicyHeader(
            policy: #""rpm";q=600;w=60, "concurrent";q=2;qu="concurrent-requests", "header-1";q=120;w=300, "tpm";q=1;qu="token";w=60, "preset-1";q=5;w=60;qu="cents""#,
            rateLimit: #""header-1";r=3;t=250"#)
        #expect(header.pacingPolicy?.name == "header-1")
        #expect(header.requestsPerMinute == 24)
        #expect(header.pacingState == .init(name: "header-1", remaining: 3, resetSeconds: 250))
    }

    @Test("tolerant: tokens for names, spaces, unknown and boolean parameters, qu=\"request\"")
    func tolerant() {
        let header = RateLimitPolicyHeader(
            policy: #"  rpm ; q = 30 ; w = 60 ; pk=:abc=: ; x ,"day";q=100000;w=86400;qu="request";future="yes""#,
            rateLimit: "rpm;r=4")
        #expect(header.policies.map(\.name) == ["rpm", "day"])
        #expect(header.requestsPerMinute == 30)
        #expect(header.pacingState == .init(name: "rpm", remaining: 4, resetSeconds: nil))
    }

    @Test("never crashes on garbage; unreadable items are skipped", arguments: [
        "", ",,,", "\"", "\"rpm;q=60;w=60", ";;;", "rpm;q=", "rpm;q=abc;w=60", "rpm;q=60;w=0", "rpm;q=1.5;w=60",
        "rpm;q=99999999999999999999;w=60", "(\"a\" \"b\");q=1;w=60", "=;=,=", "\u{0}\u{7F}ü;q=1;w=60", "rpm;q=60;w=-60",
    ])
    func garbage(value: String) {
        let header = RateLimitPolicyHeader(policy: value, rateLimit: value)
        #expect(header.requestsPerMinute == nil)
    }

    @Test("one unreadable item does not cost the others")
    func partialGarbage() {
        let header = RateLimitPolicyHeader(policy: #"rpm;q=abc;w=60, "x" ;;; , "rpm";q=60;w=60"#, rateLimit: nil)
        #expect(header.policies.map(\.name) == ["rpm"])
        #expect(header.requestsPerMinute == 60)
    }

    @Test("absent headers learn nothing")
    func absent() {
        let header = RateLimitPolicyHeader(policy: nil, rateLimit: nil)
        #expect(header.policies.isEmpty && header.states.isEmpty)
        #expect(header.pacingPolicy == nil && header.pacingState == nil)
    }
}
