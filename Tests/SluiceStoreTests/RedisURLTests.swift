import SluiceStore
import Testing

@Suite("Redis URL")
struct RedisURLTests {
    @Test("host, port, credentials and database are read from the URL", arguments: [
        ("redis://localhost", RedisURL(host: "localhost")),
        ("redis://127.0.0.1:16379", RedisURL(host: "127.0.0.1", port: 16_379)),
        ("redis://:s3cret@cache:6380/2", RedisURL(host: "cache", port: 6_380, password: "s3cret", database: 2)),
        ("redis://app:p%40ss%3Aword@cache/0", RedisURL(host: "cache", username: "app", password: "p@ss:word")),
        ("redis://justpassword@cache", RedisURL(host: "cache", password: "justpassword")),
        ("redis://[::1]:7000/3", RedisURL(host: "::1", port: 7_000, database: 3)),
        ("REDIS://h/", RedisURL(host: "h")),
    ])
    func parses(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(text) == expected)
    }

    @Test("a bad URL is refused with a message naming the bad part, never the password", arguments: [
        ("localhost:6379", "expected redis://host[:port][/db]"),
        ("http://localhost", "the scheme must be redis://, not http://"),
        ("rediss://localhost", "TLS (rediss://) is not supported"),
        ("redis://", "the host is missing"),
        ("redis://:pw@:6379", "the host is missing"),
        ("redis://h:0", "the port must be 1 to 65535, not \"0\""),
        ("redis://h:99999", "the port must be 1 to 65535"),
        ("redis://h:port", "the port must be 1 to 65535, not \"port\""),
        ("redis://h/db", "the database must be a number 0 or more, not \"db\""),
        ("redis://h?timeout=1", "query and fragment parameters are not supported"),
        ("redis://:bad%zz@h", "bad %-escape in the password"),
        ("redis://[::1", "missing ] after the IPv6 address"),
    ])
    func refuses(text: String, message: String) {
        do {
            _ = try RedisURL(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
            #expect(!error.description.contains("pw@") && !error.description.contains("bad%zz"))
        }
    }

    @Test("the URL prints without its password")
    func redacted() throws {
        #expect(try RedisURL("redis://app:topsecret@cache:6380/2").description == "redis://app:*****@cache:6380/2")
        #expect(try RedisURL("redis://:topsecret@cache").description == "redis://:*****@cache:6379")
        #expect(try RedisURL("redis://[::1]").endpoint == "[::1]:6379")
    }
}
