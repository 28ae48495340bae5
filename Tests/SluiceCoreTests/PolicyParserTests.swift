import SluiceCore
import Testing

/// The Helicone-compatible policy language of SPEC §4: what parses, into what, and the exact
/// message for everything that does not.
@Suite("Policy parser")
struct PolicyParserTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        var text: String
        var quota: Int
        var window: Int
        var unit: RateLimitUnit
        var segment: PolicySegment
        var normalized: String
        var source: String
        var testDescription: String { text }

        init(_ text: String, _ quota: Int, _ window: Int, _ unit: RateLimitUnit, _ segment: PolicySegment, _ normalized: String, source: String? = nil) {
            self.text = text
            self.quota = quota
            self.window = window
            self.unit = unit
            self.segment = segment
            self.normalized = normalized
            self.source = source ?? text
        }
    }

    static let longName = String(repeating: "n", count: 64)

    static let valid: [Valid] = [
        Valid("10;w=60", 10, 60, .request, .global, "10;w=60;u=request"),
        Valid("1;w=60", 1, 60, .request, .global, "1;w=60;u=request"),
        Valid("3;w=60;u=request;s=user", 3, 60, .request, .user, "3;w=60;u=request;s=user"),
        Valid("100;w=3600;u=token", 100, 3600, .token, .global, "100;w=3600;u=token"),
        Valid("10;w=1000;u=cents;s=user", 10, 1000, .cents, .user, "10;w=1000;u=cents;s=user"),
        Valid("50000;w=3600;u=token;s=team", 50000, 3600, .token, .property("team"), "50000;w=3600;u=token;s=team"),
        Valid("10;u=token;s=user;w=60", 10, 60, .token, .user, "10;w=60;u=token;s=user"),
        Valid("10;s=user;u=cents;w=120", 10, 120, .cents, .user, "10;w=120;u=cents;s=user"),
        Valid("  100; w=60 ; u = token  ", 100, 60, .token, .global, "100;w=60;u=token", source: "100; w=60 ; u = token"),
        Valid("100 ;w= 60;u =token", 100, 60, .token, .global, "100;w=60;u=token"),
        Valid("\t10\t;\tw=60\t", 10, 60, .request, .global, "10;w=60;u=request", source: "10\t;\tw=60"),
        Valid("10;w=60;u=TOKEN", 10, 60, .token, .global, "10;w=60;u=token"),
        Valid("10;w=60;u=Cents", 10, 60, .cents, .global, "10;w=60;u=cents"),
        Valid("10;W=60;U=Request;S=USER", 10, 60, .request, .user, "10;w=60;u=request;s=user"),
        Valid("10;w=60;s=Team-ID_2", 10, 60, .request, .property("team-id_2"), "10;w=60;u=request;s=team-id_2"),
        Valid("10;w=60;s=", 10, 60, .request, .global, "10;w=60;u=request"),
        Valid("10;w=60;s = ", 10, 60, .request, .global, "10;w=60;u=request", source: "10;w=60;s ="),
        Valid("007;w=0060", 7, 60, .request, .global, "7;w=60;u=request"),
        Valid("1000000000000;w=31536000", 1_000_000_000_000, 31_536_000, .request, .global, "1000000000000;w=31536000;u=request"),
        Valid("5;w=86400;u=token;s=\(longName)", 5, 86400, .token, .property(longName), "5;w=86400;u=token;s=\(longName)"),
    ]

    @Test("valid policies parse into quota, window, unit, segment, normalized text and source", arguments: valid)
    func parsesValid(_ expected: Valid) throws {
        let policy = try PolicyParser.parse(expected.text)
        #expect(policy.quota == expected.quota)
        #expect(policy.windowSeconds == expected.window)
        #expect(policy.unit == expected.unit)
        #expect(policy.segment == expected.segment)
        #expect(policy.normalized == expected.normalized)
        #expect(policy.source == expected.source)
        #expect(try PolicyParser.parseList(expected.text) == [policy])
    }

    static let tooLongName = String(repeating: "n", count: 65)

    static let malformed: [(String, String)] = [
        // The examples of SPEC §4 and the brief.
        ("10;w=30", #""w=30": the window must be at least 60 seconds"#),
        ("10;w=60;u=bytes", #""u=bytes": the unit must be request, token or cents"#),
        ("10;w", #""10;w": w needs a value"#),
        ("10", #""10": the window w is required, e.g. 10;w=60"#),
        ("abc;w=60", #""abc;w=60": the quota must be a whole number of at least 1"#),
        ("0;w=60", #""0;w=60": the quota must be at least 1"#),
        ("10;w=60;q=5", #""q=5": unknown parameter q (expected w, u or s)"#),
        ("10;w=60;w=120", #""w=120": w is given more than once"#),
        ("10;w=60;s=team name", #""s=team name": the segment must be user or a property name of letters, digits, '-' or '_'"#),
        // The list.
        ("", "no policy given: write at least one, e.g. 10;w=60"),
        ("  \t ", "no policy given: write at least one, e.g. 10;w=60"),
        ("10;w=60,,5;w=60", "policy 2 of 3 is empty: remove the extra comma"),
        ("10;w=60, ,5;w=60", "policy 2 of 3 is empty: remove the extra comma"),
        ("10;w=60,", "policy 2 of 2 is empty: remove the extra comma"),
        (",10;w=60", "policy 1 of 2 is empty: remove the extra comma"),
        // The quota.
        ("-5;w=60", #""-5;w=60": the quota must be a whole number of at least 1"#),
        ("+5;w=60", #""+5;w=60": the quota must be a whole number of at least 1"#),
        ("1.5;w=60", #""1.5;w=60": the quota must be a whole number of at least 1"#),
        ("1e3;w=60", #""1e3;w=60": the quota must be a whole number of at least 1"#),
        ("1 0;w=60", #""1 0;w=60": the quota must be a whole number of at least 1"#),
        ("٣;w=60", #""٣;w=60": the quota must be a whole number of at least 1"#),
        ("10 w=60", #""10 w=60": the quota must be a whole number of at least 1"#),
        ("00;w=60", #""00;w=60": the quota must be at least 1"#),
        ("1000000000001;w=60", #""1000000000001;w=60": the quota must be at most 1000000000000"#),
        ("99999999999999999999999;w=60", #""99999999999999999999999;w=60": the quota must be at most 1000000000000"#),
        ("w=60", #""w=60": the policy must start with the quota, e.g. 10;w=60"#),
        ("w=60;u=token", #""w=60;u=token": the policy must start with the quota, e.g. 10;w=60;u=token"#),
        (";w=60", #"";w=60": the policy must start with the quota, e.g. 10;w=60"#),
        // The window.
        ("10;w=", #""w=": w needs a value"#),
        ("10;w = ", #""w =": w needs a value"#),
        ("10;w=1m", #""w=1m": the window must be a whole number of seconds, e.g. w=60"#),
        ("10;w=-60", #""w=-60": the window must be a whole number of seconds, e.g. w=60"#),
        ("10;w=60.5", #""w=60.5": the window must be a whole number of seconds, e.g. w=60"#),
        ("10;w=60:u=token", #""w=60:u=token": the window must be a whole number of seconds, e.g. w=60"#),
        ("10;w=0", #""w=0": the window must be at least 60 seconds"#),
        ("10; w = 59 ", #""w = 59": the window must be at least 60 seconds"#),
        ("10;w=31536001", #""w=31536001": the window must be at most 31536000 seconds (365 days)"#),
        ("10;w=99999999999999999999999", #""w=99999999999999999999999": the window must be at most 31536000 seconds (365 days)"#),
        ("10;u=token", #""10;u=token": the window w is required, e.g. 10;u=token;w=60"#),
        ("10;60", #""10;60": write the window as w=60"#),
        // The unit.
        ("10;w=60;u=", #""u=": u needs a value"#),
        ("10;w=60;u", #""10;w=60;u": u needs a value"#),
        ("10;w=60;u=requests", #""u=requests": the unit must be request, token or cents"#),
        ("10;w=60;u=dollars", #""u=dollars": the unit must be request, token or cents"#),
        ("10;w=60;u=token;U=cents", #""U=cents": u is given more than once"#),
        // The segment.
        ("10;w=60;s", #""10;w=60;s": s needs a value"#),
        ("10;w=60;s=a.b", #""s=a.b": the segment must be user or a property name of letters, digits, '-' or '_'"#),
        ("10;w=60;s=Ünïcode", #""s=Ünïcode": the segment must be user or a property name of letters, digits, '-' or '_'"#),
        ("10;w=60;s=\(tooLongName)", "\"s=\(tooLongName)\": the segment name must be at most 64 characters"),
        ("10;w=60;s=user;S=team", #""S=team": s is given more than once"#),
        ("10;w=60;s=;s=user", #""s=user": s is given more than once"#),
        // Other parameters.
        ("10;w=60;;u=token", #""10;w=60;;u=token": a parameter is empty; remove the extra ';'"#),
        ("10;w=60;", #""10;w=60;": a parameter is empty; remove the extra ';'"#),
        ("10;w=60; ;u=token", #""10;w=60; ;u=token": a parameter is empty; remove the extra ';'"#),
        ("10;w=60;x", #""10;w=60;x": unknown parameter x (expected w, u or s)"#),
        ("10;w=60;x=1", #""x=1": unknown parameter x (expected w, u or s)"#),
        ("10;w=60;window=60", #""window=60": unknown parameter window (expected w, u or s)"#),
        ("10;w=60;=5", #""=5": the parameter name is missing (expected w, u or s)"#),
        ("10;w=60; = token", #""= token": the parameter name is missing (expected w, u or s)"#),
        // The first malformed item of a list is the one reported, quoted on its own.
        ("10;w=60, 5;w=30, x;w=60", #""w=30": the window must be at least 60 seconds"#),
        ("10;w=60, 5 ;u=token", #""5 ;u=token": the window w is required, e.g. 5 ;u=token;w=60"#),
    ]

    @Test("malformed policies are refused with a message quoting the bad part", arguments: malformed)
    func refusesMalformed(text: String, message: String) {
        #expect(throws: PolicyParseError(message)) { try PolicyParser.parseList(text) }
    }

    @Test("the parse error reads as its message")
    func errorDescription() {
        let error = PolicyParseError(#""w=30": the window must be at least 60 seconds"#)
        #expect(error.description == error.message)
        #expect("\(error)" == #""w=30": the window must be at least 60 seconds"#)
    }

    @Test("a list keeps its policies in order, each with its own trimmed source")
    func listInOrder() throws {
        let policies = try PolicyParser.parseList(" 1000;w=60 ,50000;w=3600;u=token;s=user, 10 ; w=86400 ; u=cents ; s=Team ")
        #expect(policies.map(\.source) == ["1000;w=60", "50000;w=3600;u=token;s=user", "10 ; w=86400 ; u=cents ; s=Team"])
        #expect(policies.map(\.normalized) == ["1000;w=60;u=request", "50000;w=3600;u=token;s=user", "10;w=86400;u=cents;s=team"])
    }

    @Test("at most 8 policies: 8 parse, 9 are refused before any is read")
    func policyCountLimit() throws {
        let eight = Array(repeating: "10;w=60", count: 8).joined(separator: ",")
        #expect(try PolicyParser.parseList(eight).count == PolicyParser.maxPolicies)
        let nine = Array(repeating: "10;w=60", count: 8).joined(separator: ",") + ",x"
        #expect(throws: PolicyParseError("too many policies: 9 given, at most 8")) { try PolicyParser.parseList(nine) }
        let twenty = Array(repeating: "1;w=60", count: 20).joined(separator: ", ")
        #expect(throws: PolicyParseError("too many policies: 20 given, at most 8")) { try PolicyParser.parseList(twenty) }
    }

    @Test("the whole text is at most 1024 bytes of UTF-8, spaces included")
    func byteLimit() throws {
        let exactly = "10;w=60" + String(repeating: " ", count: 1024 - 7)
        #expect(exactly.utf8.count == PolicyParser.maxHeaderBytes)
        #expect(try PolicyParser.parseList(exactly).map(\.source) == ["10;w=60"])

        let over = String(repeating: " ", count: 1493) + "10;w=60"
        #expect(throws: PolicyParseError("the policy header is 1500 bytes long, at most 1024")) { try PolicyParser.parseList(over) }
        #expect(throws: PolicyParseError("the policy header is 1025 bytes long, at most 1024")) { try PolicyParser.parseList(exactly + " ") }

        // Bytes, not characters: 600 two-byte characters are 1200 bytes.
        let wide = "10;w=60;s=" + String(repeating: "é", count: 600)
        #expect(throws: PolicyParseError("the policy header is 1210 bytes long, at most 1024")) { try PolicyParser.parseList(wide) }
    }

    @Test("parse takes exactly one policy")
    func parseExactlyOne() throws {
        #expect(try PolicyParser.parse(" 5;w=60 ").normalized == "5;w=60;u=request")
        #expect(throws: PolicyParseError(#""10;w=60, 5;w=120": expected exactly one policy, found 2"#)) {
            try PolicyParser.parse(" 10;w=60, 5;w=120 ")
        }
        #expect(throws: PolicyParseError("policy 2 of 2 is empty: remove the extra comma")) { try PolicyParser.parse("10;w=60,") }
        #expect(throws: PolicyParseError("no policy given: write at least one, e.g. 10;w=60")) { try PolicyParser.parse("") }
    }

    @Test("units, segment names and parameter names are case-insensitive")
    func caseInsensitive() throws {
        for unit in RateLimitUnit.allCases {
            for spelling in [unit.rawValue, unit.rawValue.uppercased(), unit.rawValue.prefix(1).uppercased() + unit.rawValue.dropFirst()] {
                #expect(try PolicyParser.parse("10;w=60;u=\(spelling)").unit == unit)
            }
        }
        for spelling in ["user", "USER", "User", "uSeR"] {
            #expect(try PolicyParser.parse("10;w=60;s=\(spelling)").segment == .user)
        }
        let team = try ["s=team", "s=TEAM", "s=Team", "S=tEaM"].map { try PolicyParser.parse("10;w=60;\($0)") }
        #expect(Set(team.map(\.segment)) == [.property("team")])
        #expect(Set(team.map(\.normalized)) == ["10;w=60;u=request;s=team"])
    }

    @Test("equivalent spellings are the same counter")
    func normalizedEquality() throws {
        let first = try PolicyParser.parse("10;w=60;u=request;s=User")
        let second = try PolicyParser.parse("10 ; s=user ; w=60")
        #expect(first.normalized == second.normalized)
        #expect(first.normalized == "10;w=60;u=request;s=user")
        #expect(first != second, "the sources differ, so the values differ")
        #expect(first.source == "10;w=60;u=request;s=User")
        #expect(second.source == "10 ; s=user ; w=60")

        let third = try PolicyParser.parse("10;w=60;s=team")
        let fourth = try PolicyParser.parse("10;w=120;s=team")
        let fifth = try PolicyParser.parse("10;w=60;u=token;s=team")
        #expect(Set([third, fourth, fifth].map(\.normalized)).count == 3)
    }

    @Test("a policy built in code defaults to the request unit, the global segment and its normalized text as source")
    func memberwise() {
        let plain = RateLimitPolicy(quota: 60, windowSeconds: 60)
        #expect(plain.unit == .request)
        #expect(plain.segment == .global)
        #expect(plain.source == "60;w=60;u=request")
        #expect(plain.normalized == "60;w=60;u=request")

        let property = RateLimitPolicy(quota: 5, windowSeconds: 3600, unit: .cents, segment: .property("Team"), source: "5;w=3600;u=cents;s=Team")
        #expect(property.segment == .property("team"))
        #expect(property.normalized == "5;w=3600;u=cents;s=team")
        #expect(property.source == "5;w=3600;u=cents;s=Team")
        #expect(RateLimitPolicy(quota: 3, windowSeconds: 60, segment: .user).normalized == "3;w=60;u=request;s=user")
    }
}
