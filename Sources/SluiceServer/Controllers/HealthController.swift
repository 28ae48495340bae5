import Hummingbird
import NIOCore
import SluiceStore

/// `/healthz` (the process answers), `/readyz` (its ledger and counter store answer too) and
/// `/metrics` (Prometheus). None needs a key, so orchestrators and scrapers can reach them.
struct HealthController {
    let gateway: Gateway

    func addRoutes(to router: Router<SluiceRequestContext>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, "{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, _ in
            let ledgerOK = await gateway.ledger.isReachable()
            // A healthy shared store is reported as requests last found it; during an outage it
            // is asked again at most once per probe interval (a hung Redis would otherwise cost a
            // command timeout per readiness check).
            let countersOK = (try? await gateway.counters.checkReachable()) != nil
            let ready = ledgerOK && countersOK
            let body = "{\"status\":\"\(ready ? "ready" : "not ready")\",\"ledger\":\(ledgerOK),\"counters\":\(countersOK)}"
            return Self.json(ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            let text = gateway.metrics.render(counters: gateway.counters)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
