import Foundation
import Synchronization

/// Counters of the ingestion and detection pipeline, rendered into `/metrics` by the HTTP layer.
public final class DetectionMetrics: Sendable {
    struct State {
        var received: [String: Int] = [:]  // transport → events acknowledged
        var rejected: [String: Int] = [:]  // "transport|reason" → events refused or lost
        var processed = 0
        var parseErrors = 0
        var corruptRecords = 0
        var alertsWritten = 0
        var batches = 0
        var latencyBuckets = Array(repeating: 0, count: DetectionMetrics.buckets.count)
        var latencyCount = 0
        var latencySum = 0.0
    }

    static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]
    private let state = Mutex(State())

    public init() {}

    public func received(_ transport: String, _ count: Int) {
        state.withLock { $0.received[transport, default: 0] += count }
    }

    public func rejected(_ transport: String, reason: String, _ count: Int = 1) {
        state.withLock { $0.rejected["\(transport)|\(reason)", default: 0] += count }
    }

    func batch(processed: Int, parseErrors: Int, corrupt: Int, alerts: Int, latencies: [Double]) {
        state.withLock { state in
            state.processed += processed
            state.parseErrors += parseErrors
            state.corruptRecords += corrupt
            state.alertsWritten += alerts
            state.batches += 1
            for latency in latencies {
                for (index, bound) in Self.buckets.enumerated() where latency <= bound {
                    state.latencyBuckets[index] += 1
                }
                state.latencyCount += 1
                state.latencySum += latency
            }
        }
    }

    /// Prometheus exposition lines; `gauges` are read at scrape time (spool size, UDP kernel drops).
    public func render(gauges: [(name: String, help: String, value: Int)]) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP hygie_ingest_events_total Events acknowledged (appended to the spool) by transport.\n"
        out += "# TYPE hygie_ingest_events_total counter\n"
        for (transport, count) in snapshot.received.sorted(by: { $0.key < $1.key }) {
            out += "hygie_ingest_events_total{transport=\"\(transport)\"} \(count)\n"
        }
        out += "# HELP hygie_ingest_rejected_total Events refused or lost, by transport and reason.\n"
        out += "# TYPE hygie_ingest_rejected_total counter\n"
        for (key, count) in snapshot.rejected.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|", maxSplits: 1)
            out += "hygie_ingest_rejected_total{transport=\"\(parts[0])\",reason=\"\(parts[1])\"} \(count)\n"
        }
        out += "# HELP hygie_detection_events_total Events evaluated by the detection workers.\n"
        out += "# TYPE hygie_detection_events_total counter\nhygie_detection_events_total \(snapshot.processed)\n"
        out += "# HELP hygie_detection_parse_errors_total Events no reader could parse (stored raw).\n"
        out += "# TYPE hygie_detection_parse_errors_total counter\n"
        out += "hygie_detection_parse_errors_total \(snapshot.parseErrors)\n"
        out += "# HELP hygie_spool_corrupt_records_total Spool records skipped because their checksum failed.\n"
        out += "# TYPE hygie_spool_corrupt_records_total counter\n"
        out += "hygie_spool_corrupt_records_total \(snapshot.corruptRecords)\n"
        out += "# HELP hygie_detection_alert_rows_total Alert rows created or updated.\n"
        out +=
            "# TYPE hygie_detection_alert_rows_total counter\nhygie_detection_alert_rows_total \(snapshot.alertsWritten)\n"
        out += "# HELP hygie_detection_alert_latency_seconds From reception of a matching event to its alert.\n"
        out += "# TYPE hygie_detection_alert_latency_seconds histogram\n"
        for (index, bound) in Self.buckets.enumerated() {
            out += "hygie_detection_alert_latency_seconds_bucket{le=\"\(bound)\"} \(snapshot.latencyBuckets[index])\n"
        }
        out += "hygie_detection_alert_latency_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        out += "hygie_detection_alert_latency_seconds_sum \(snapshot.latencySum)\n"
        out += "hygie_detection_alert_latency_seconds_count \(snapshot.latencyCount)\n"
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n\(gauge.name) \(gauge.value)\n"
        }
        return out
    }
}
