import HTTPTypes
import SluiceCore
import Synchronization

/// An admitted request with what the rest of its path needs: its attempts, the answer, the
/// limits' settlement and the usage row.
struct AdmittedRequest: Sendable {
    let body: ClientRequestBody
    let plan: [String]
    let ticket: AdmissionTicket
    let states: [LimitState]
    let headerPolicies: [RateLimitPolicy]
    /// Filled in as the request goes on (served model, tokens, attempts).
    var usage: UsageDraft
}

/// A request the fast lane admitted and tried once, without an answer to relay: the general
/// path (`ProxyController.resume`) takes it from there, with the retry loop as the failed
/// attempt left it.
struct FastLaneHandover: Sendable {
    let admitted: AdmittedRequest
    let loop: RetryLoop
    /// The provider's verdict on the request, if the failed attempt gave one.
    let callerError: GatewayError?
    let trace: RequestTrace.Fields
}

/// Handovers waiting for the general path, each under a random token the fast lane puts in
/// the request it replays (`Sluice-Fast-Lane-Handover`; the same header from a client is
/// removed before the request goes anywhere).
final class FastLaneHandovers: Sendable {
    private struct Waiting {
        let handover: FastLaneHandover
        let sinceMs: Int64
    }

    private let waiting = Mutex<[String: Waiting]>([:])
    /// A handover not claimed by then belongs to a request whose connection went away before the
    /// general path read it; dropping it settles its ticket at the reserved amounts.
    static let unclaimedAfterMs: Int64 = 60_000

    func register(_ handover: FastLaneHandover, nowMs: Int64) -> String {
        var random = SystemRandomNumberGenerator()
        let token = String(random.next(), radix: 16) + String(random.next(), radix: 16)
        waiting.withLock { waiting in
            if !waiting.isEmpty {
                waiting = waiting.filter { nowMs - $0.value.sinceMs < Self.unclaimedAfterMs }
            }
            waiting[token] = Waiting(handover: handover, sinceMs: nowMs)
        }
        return token
    }

    /// The handover registered under `token`, removed; nil for any other value.
    func claim(_ token: String?) -> FastLaneHandover? {
        guard let token else { return nil }
        return waiting.withLock { $0.removeValue(forKey: token)?.handover }
    }

    /// Handovers not claimed yet, for tests.
    var count: Int { waiting.withLock { $0.count } }
}

extension HTTPField.Name {
    static let fastLaneHandover = Self("Sluice-Fast-Lane-Handover")!
}
