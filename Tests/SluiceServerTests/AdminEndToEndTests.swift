import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@Suite("Admin API end to end")
struct AdminEndToEndTests {
    @Test("accounts, credits and keys are managed over HTTP, and a key made there works at once")
    func manageOverHTTP() async throws {
        try await withGateway { gateway in
            let admin = TestGateway.adminKey
            let created = try await gateway.send("/admin/accounts", key: admin, body: #"{"name":"acme","credits_usd":2.5}"#)
            #expect(created.status == 201)
            #expect(created.json["name"] as? String == "acme" && created.json["balance_usd"] as? Double == 2.5)
            let unlimited = try await gateway.send("/admin/accounts", key: admin, body: #"{"name":"big","unlimited":true}"#)
            #expect(unlimited.status == 201 && unlimited.json["balance_usd"] is NSNull)
            #expect(try await gateway.send("/admin/accounts", key: admin, body: #"{"name":"acme","credits_usd":1}"#).status == 409)

            let topped = try await gateway.send("/admin/accounts/acme/credits", key: admin, body: #"{"usd":25}"#)
            #expect(topped.status == 200 && topped.json["balance_usd"] as? Double == 27.5)
            #expect(try await gateway.send("/admin/accounts/ghost/credits", key: admin, body: #"{"usd":1}"#).status == 404)
            #expect(try await gateway.send("/admin/accounts/acme/credits", key: admin, body: #"{"usd":true}"#).status == 400)

            let key = try await gateway.send("/admin/keys", key: admin, body: #"{"account":"acme","env":"prod","preset":"demo","name":"ci"}"#)
            #expect(key.status == 201)
            let text = try #require(key.json["key"] as? String)
            #expect(text.hasPrefix("sk-sluice-prod-"))
            #expect(Set(key.json.keys) == ["id", "key", "account", "env", "preset"])
            #expect(try await gateway.send("/v1/chat/completions", key: text, body: chatBody()).status == 200)

            let listed = try await gateway.send("/admin/keys", method: .GET, key: admin)
            #expect(!listed.body.contains(text))
            #expect(listed.body.contains(APIKeyFormat.displayPrefix(of: text)))

            // An unknown account or preset in a POST body is the caller's mistake: 400.
            #expect(try await gateway.send("/admin/keys", key: admin, body: #"{"account":"ghost","env":"dev","preset":"demo"}"#).status == 400)
            #expect(try await gateway.send("/admin/keys", key: admin, body: #"{"account":"acme","env":"dev","preset":"nope"}"#).status == 400)

            let id = try #require(key.json["id"] as? String)
            #expect(try await gateway.send("/admin/keys/\(id)", method: .DELETE, key: admin).status == 204)
            #expect(try await gateway.send("/admin/keys/key_missing", method: .DELETE, key: admin).status == 404)
            // The key cache learns of the revocation at its next poll (100 ms here).
            try await waitUntil(timeout: .seconds(15)) { try await gateway.send("/v1/chat/completions", key: text, body: chatBody()).status == 401 }
            #expect(try await gateway.send("/v1/chat/completions", key: text, body: chatBody()).status == 401)
        }
    }

    @Test("usage and recent requests are reported; Sluice keys and wrong admin keys get 401")
    func usageAndAuth() async throws {
        try await withGateway { gateway in
            let (key, record) = try await gateway.makeKey()
            let response = try await gateway.send("/v1/chat/completions", key: key, body: chatBody())
            _ = try await gateway.usageRow(response.requestID!)
            let usage = try await gateway.send("/admin/usage?by=key&since=1h", method: .GET, key: TestGateway.adminKey)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(usage.body.utf8)) as? [[String: Any]])
            #expect(rows.count == 1 && rows[0]["group"] as? String == record.id && rows[0]["requests"] as? Int == 1)
            #expect(Set(rows[0].keys) == ["group", "requests", "input_tokens", "output_tokens", "cost_usd", "errors", "rate_limited"])
            let recent = try await gateway.send("/admin/requests?limit=5", method: .GET, key: TestGateway.adminKey)
            #expect(recent.body.contains(response.requestID!) && recent.body.contains("\"estimated\":false"))
            #expect(try await gateway.send("/admin/usage?by=nope", method: .GET, key: TestGateway.adminKey).status == 400)

            let sluiceKey = try await gateway.send("/admin/accounts", method: .GET, key: key)
            #expect(sluiceKey.status == 401 && sluiceKey.errorCode == "invalid_admin_key")
            #expect(try await gateway.send("/admin/accounts", method: .GET, key: nil).status == 401)
        }
    }
}
