import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore
import Synchronization

/// Counters and latency histograms exposed at `/metrics` in the Prometheus text format (0.0.4).
public final class MetricsRegistry: Sendable {
    struct State {
        var requests: [String: Int] = [:]  // "method|route|status"
        var bucketCounts: [Int] = Array(repeating: 0, count: MetricsRegistry.buckets.count)
        var latencySum: Double = 0
        var latencyCount: Int = 0
    }

    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private let state = Mutex(State())

    public init() {}

    func record(method: String, route: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests["\(method)|\(route)|\(status)", default: 0] += 1
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { state.bucketCounts[index] += 1 }
            state.latencySum += seconds
            state.latencyCount += 1
        }
    }

    /// The exposition text; `gauges` are read at scrape time (job queue depth).
    func render(gauges: [(name: String, help: String, labels: String, value: Int)]) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP hygie_http_requests_total HTTP requests by method, route and status.\n"
        out += "# TYPE hygie_http_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            out +=
                "hygie_http_requests_total{method=\"\(parts[0])\",route=\"\(Self.escape(String(parts[1])))\",status=\"\(parts[2])\"} \(count)\n"
        }
        out += "# HELP hygie_http_request_duration_seconds HTTP request latency.\n"
        out += "# TYPE hygie_http_request_duration_seconds histogram\n"
        for (index, bound) in Self.buckets.enumerated() {
            out += "hygie_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(snapshot.bucketCounts[index])\n"
        }
        out += "hygie_http_request_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        out += "hygie_http_request_duration_seconds_sum \(snapshot.latencySum)\n"
        out += "hygie_http_request_duration_seconds_count \(snapshot.latencyCount)\n"
        var declared = Set<String>()
        for gauge in gauges {
            if declared.insert(gauge.name).inserted {
                out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            }
            out += "\(gauge.name)\(gauge.labels.isEmpty ? "" : "{\(gauge.labels)}") \(gauge.value)\n"
        }
        return out
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
