import Hummingbird
import NIOCore

/// `/healthz` (the process answers) and `/readyz` (its ledger and counter store answer too).
/// Neither needs a key, so orchestrators can probe them.
struct HealthController {
    let gateway: Gateway

    func addRoutes(to router: Router<SluiceRequestContext>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, "{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, _ in
            let ledgerOK = await gateway.ledger.isReachable()
            let body = "{\"status\":\"\(ledgerOK ? "ready" : "not ready")\",\"ledger\":\(ledgerOK),\"counters\":true}"
            return Self.json(ledgerOK ? .ok : .serviceUnavailable, body)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
