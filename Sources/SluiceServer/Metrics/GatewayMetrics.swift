import Prometheus
import SluiceStore
import Synchronization

/// What `GET /metrics` reports, in the Prometheus text format. Each gateway has a registry of its
/// own (not the process-wide swift-metrics bootstrap), so several gateways in one test process
/// never mix their figures.
///
/// Only the counter store's health and the fast lane's share are reported so far; the request, token and cost figures of
/// SPEC §8 are not built yet (README, "Not yet built").
public final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Outages of the shared counter store: each began with a failure while it was healthy.
    let counterStoreOutages: Counter
    /// 1 while the shared counter store is unreachable and `on_counter_store_failure` applies.
    let counterStoreDown: Gauge
    /// Counter-store calls that failed (timeout, lost connection, error answer), brought up to
    /// the store's own count at each scrape.
    private let counterStoreFailures: Counter
    private let failuresReported = Mutex<Int>(0)
    /// Requests the fast lane answered itself, and those it admitted and handed to the general
    /// path after a failed first attempt.
    let fastLaneAnswered: Counter
    let fastLaneHandedOver: Counter

    init(failureMode: String) {
        counterStoreOutages = registry.makeCounter(
            descriptor: Self.name("counter_store_outages", unit: "total",
                                  help: "Times the shared counter store became unreachable; on_counter_store_failure applied until it answered again"),
            labels: [("on_failure", failureMode)])
        counterStoreDown = registry.makeGauge(
            descriptor: Self.name("counter_store_down", unit: "", help: "1 while the shared counter store is unreachable, else 0"))
        counterStoreFailures = registry.makeCounter(
            descriptor: Self.name("counter_store_failures", unit: "total",
                                  help: "Calls to the shared counter store that failed (timeout, lost connection, error answer)"))
        let fastLane = Self.name("fast_lane_requests", unit: "total",
                                 help: "Requests the fast lane admitted: answered there, or handed to the general path after a failed first attempt")
        fastLaneAnswered = registry.makeCounter(descriptor: fastLane, labels: [("outcome", "answered")])
        fastLaneHandedOver = registry.makeCounter(descriptor: fastLane, labels: [("outcome", "handed_over")])
    }

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sluice", metricName: metric, unitName: unit, helpText: help)
    }

    /// The text exposition format, with the counter store's failure count as of now.
    func render(counters: any CounterStore) -> [UInt8] {
        if let failover = counters as? FailoverCounterStore {
            let total = failover.failureCount
            failuresReported.withLock { reported in
                if total > reported { counterStoreFailures.increment(by: Int64(total - reported)) }
                reported = max(reported, total)
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
