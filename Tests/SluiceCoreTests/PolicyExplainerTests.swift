import SluiceCore
import Testing

/// `sluice policy explain`: a policy in words, one consistent style.
@Suite("Policy explainer")
struct PolicyExplainerTests {
    static let perUser = "counted separately for each user id taken from the Helicone-User-Id header or the request's user field"

    @Test("policies are explained by amount, window, who shares the counter and the rolling window", arguments: [
        ("10;w=1000;u=cents;s=user", "10 cents of cost per 1000 s (16 min 40 s), \(perUser), in a rolling window"),
        ("1000;w=60", "1000 requests per 60 s (1 min), counted over all requests of the key, in a rolling window"),
        ("1;w=60", "1 request per 60 s (1 min), counted over all requests of the key, in a rolling window"),
        ("1;w=60;u=token", "1 token (prompt and completion) per 60 s (1 min), counted over all requests of the key, in a rolling window"),
        ("1;w=60;u=cents", "1 cent of cost per 60 s (1 min), counted over all requests of the key, in a rolling window"),
        ("50000;w=3600;u=token;s=team",
         "50000 tokens (prompt and completion) per 3600 s (1 h), counted separately for each value of the Helicone-Property-Team header, in a rolling window"),
        ("200000;w=86400;u=token", "200000 tokens (prompt and completion) per 86400 s (1 day), counted over all requests of the key, in a rolling window"),
        ("5;w=604800;s=USER", "5 requests per 604800 s (7 days), \(perUser), in a rolling window"),
        ("3 ; w = 90 ; s = org-id", "3 requests per 90 s (1 min 30 s), counted separately for each value of the Helicone-Property-Org-Id header, in a rolling window"),
        ("3;w=60;s=X-Tenant", "3 requests per 60 s (1 min), counted separately for each value of the Helicone-Property-X-Tenant header, in a rolling window"),
        ("3;w=60;s=customerID", "3 requests per 60 s (1 min), counted separately for each value of the Helicone-Property-customerID header, in a rolling window"),
        ("3;w=60;s=org_id", "3 requests per 60 s (1 min), counted separately for each value of the Helicone-Property-Org_id header, in a rolling window"),
    ])
    func explains(text: String, explanation: String) throws {
        #expect(PolicyExplainer.explain(try PolicyParser.parse(text)) == explanation)
    }

    @Test("a property segment built in code is shown capitalised")
    func propertyWithoutSource() {
        let policy = RateLimitPolicy(quota: 2, windowSeconds: 120, segment: .property("team"))
        #expect(PolicyExplainer.explain(policy)
            == "2 requests per 120 s (2 min), counted separately for each value of the Helicone-Property-Team header, in a rolling window")
    }

    @Test("windows are put in days, hours, minutes and seconds, zero parts left out", arguments: [
        (1000, "16 min 40 s"), (3600, "1 h"), (86400, "1 day"), (60, "1 min"), (45, "45 s"), (1, "1 s"), (0, "0 s"),
        (61, "1 min 1 s"), (5400, "1 h 30 min"), (7260, "2 h 1 min"), (90061, "1 day 1 h 1 min 1 s"), (172_800, "2 days"),
        (176_400, "2 days 1 h"), (31_536_000, "365 days"),
    ])
    func duration(seconds: Int, words: String) {
        #expect(PolicyExplainer.duration(seconds: seconds) == words)
    }
}
