import Foundation
import Store
import Synchronization

/// Tempo metrics-generator's service graph series, for Grafana's Service Graph tab:
/// `traces_service_graph_request_total` and `traces_service_graph_request_failed_total`
/// (counters) and the histograms `traces_service_graph_request_server_seconds` and
/// `traces_service_graph_request_client_seconds`, labelled `client`, `server` and, for an edge
/// to a virtual node, `connection_type` (`virtual_node`, `database`).
///
/// Counted by this process as it commits spans (`ServiceGraphPairing` pairs the halves of a
/// call), never rebuilt from the store: each replica counts the calls whose halves it wrote,
/// and `sum by (client, server) (increase(…))` over the replicas adds them up (a call whose
/// halves two replicas wrote is counted by neither, as with Tempo's generators without
/// trace-id affinity). At most `maxSeries` edges are kept; the calls of further edges are
/// counted under `otel_metric_overflow="true"`.
public final class ServiceGraphMetrics: Sendable {
    public static let requestName = "traces_service_graph_request_total"
    public static let failedName = "traces_service_graph_request_failed_total"
    public static let serverName = "traces_service_graph_request_server_seconds"
    public static let clientName = "traces_service_graph_request_client_seconds"
    public static let droppedName = "traces_service_graph_dropped_spans_total"
    /// The metrics-generator's default buckets, in seconds.
    public static let bucketsSeconds: [Double] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]
    static let bucketsNs: [Int64] = bucketsSeconds.map { Int64($0 * 1e9) }

    /// One edge's labels.
    struct Key: Hashable, Comparable {
        var client: String
        var server: String
        var connection: ServiceGraphPairing.Connection

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.client, lhs.server, lhs.connection) < (rhs.client, rhs.server, rhs.connection)
        }

        var labels: [(String, String)] {
            var labels = [("client", client), ("server", server)]
            if connection != .direct { labels.append(("connection_type", connection.rawValue)) }
            return labels
        }
    }

    /// One edge's counts; the histograms' per-bucket counts have one more bucket (+Inf).
    struct Series: Equatable {
        var requests: Int64 = 0
        var failed: Int64 = 0
        var server = [Int64](repeating: 0, count: ServiceGraphMetrics.bucketsSeconds.count + 1)
        var serverCount: Int64 = 0
        var serverSeconds: Double = 0
        var client = [Int64](repeating: 0, count: ServiceGraphMetrics.bucketsSeconds.count + 1)
        var clientSeconds: Double = 0

        mutating func add(_ edge: ServiceGraphPairing.Edge) {
            requests += 1
            if edge.failed { failed += 1 }
            client[ServiceGraphMetrics.bucket(nanoseconds: edge.clientNanoseconds)] += 1
            clientSeconds += Double(edge.clientNanoseconds) / 1e9
            if let nanoseconds = edge.serverNanoseconds {
                server[ServiceGraphMetrics.bucket(nanoseconds: nanoseconds)] += 1
                serverCount += 1
                serverSeconds += Double(nanoseconds) / 1e9
            }
        }
    }

    struct State {
        var pairing: ServiceGraphPairing
        var series: [Key: Series] = [:]
        var overflow = Series()
    }

    public let maxSeries: Int
    private let clock: @Sendable () -> Int64
    private let state: Mutex<State>

    /// `clock` gives the time in nanoseconds (halves wait for their other half 10 s of it).
    public init(maxSeries: Int, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) }) {
        precondition(maxSeries > 0)
        self.maxSeries = maxSeries
        self.clock = clock
        self.state = Mutex(State(pairing: ServiceGraphPairing()))
    }

    static func bucket(nanoseconds: Int64) -> Int {
        bucketsNs.firstIndex { nanoseconds <= $0 } ?? bucketsNs.count
    }

    /// Counts the calls completed by committed spans (and by halves that waited too long).
    public func record(_ spans: [SpanRow]) {
        let now = clock()
        state.withLock { state in
            let edges = state.pairing.add(spans, now: now)
            add(edges, to: &state)
        }
    }

    private func add(_ edges: [ServiceGraphPairing.Edge], to state: inout State) {
        for edge in edges {
            let key = Key(client: edge.client, server: edge.server, connection: edge.connection)
            if state.series[key] == nil, state.series.count >= maxSeries {
                state.overflow.add(edge)
            } else {
                state.series[key, default: Series()].add(edge)
            }
        }
    }

    /// The edges now (after expiring the halves that waited too long), for tests and exposition.
    var snapshot: (series: [Key: Series], overflow: Series, dropped: Int64) {
        let now = clock()
        return state.withLock { state in
            let edges = state.pairing.expire(now: now)
            add(edges, to: &state)
            return (state.series, state.overflow, state.pairing.dropped)
        }
    }

    public func write(into writer: inout PrometheusTextWriter) {
        let (series, overflow, dropped) = snapshot
        var ordered = series.sorted { $0.key < $1.key }.map { (labels: $0.key.labels, series: $0.value) }
        if overflow.requests > 0 { ordered.append((labels: [("otel_metric_overflow", "true")], series: overflow)) }
        writer.family(Self.requestName, type: .counter, help: "Calls between services (client and server spans paired), by client and server.")
        for (labels, series) in ordered { writer.sample(Self.requestName, labels: labels, value: series.requests) }
        writer.family(Self.failedName, type: .counter, help: "Calls between services whose client or server span failed.")
        for (labels, series) in ordered { writer.sample(Self.failedName, labels: labels, value: series.failed) }
        writer.family(Self.serverName, type: .histogram, help: "Server span durations of calls between services, in seconds.")
        for (labels, series) in ordered where series.serverCount > 0 {
            writer.histogram(Self.serverName, labels: labels, bounds: Self.bucketsSeconds, counts: series.server, sum: series.serverSeconds)
        }
        writer.family(Self.clientName, type: .histogram, help: "Client span durations of calls between services, in seconds.")
        for (labels, series) in ordered {
            writer.histogram(Self.clientName, labels: labels, bounds: Self.bucketsSeconds, counts: series.client, sum: series.clientSeconds)
        }
        writer.family(Self.droppedName, type: .counter, help: "Client or server spans not paired because too many were waiting.")
        writer.sample(Self.droppedName, value: dropped)
    }
}
