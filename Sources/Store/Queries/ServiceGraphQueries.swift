/// The service map (docs/api.md `/services/graph`): calls between services and the requests
/// each service takes, over a window, read from the per-minute edge rollups the writer keeps
/// (`ServiceEdgeMinute`, migration 021), so the cost follows the window's minutes and edges,
/// not its spans.
public protocol ServiceGraphQueries: Sendable {
    /// The calls whose callee span started in the whole minutes of `[from, to)` (Unix
    /// nanoseconds; the minute holding `from` is included).
    func serviceGraph(from: Int64, to: Int64) async throws(StoreError) -> ServiceGraph
}

/// Calls between services in a window, and what each service was asked.
public struct ServiceGraph: Sendable, Equatable {
    /// One edge, or one service's requests (then `client` is empty for calls from outside,
    /// and the figures sum every call into `server`).
    public struct Stats: Sendable, Equatable {
        public var calls: Int64
        public var errors: Int64
        /// The 95th percentile of the calls' durations, read from the latency buckets
        /// (linear within the bucket, never above the largest call of the bucket); nil without calls.
        public var p95Ms: Double?
        public var totalMs: Double

        public init(calls: Int64, errors: Int64, p95Ms: Double?, totalMs: Double) {
            self.calls = calls
            self.errors = errors
            self.p95Ms = p95Ms
            self.totalMs = totalMs
        }
    }

    public struct Edge: Sendable, Equatable {
        public var client: String
        public var server: String
        public var stats: Stats
    }

    public struct Node: Sendable, Equatable {
        public var service: String
        /// Every call into the service: from other services and trace roots.
        public var stats: Stats
        /// The calls that were trace roots (requests from outside).
        public var rootCalls: Int64
    }

    /// Edges between two services, by client then server.
    public var edges: [Edge]
    /// Every service that is an edge's end or a trace root, by name.
    public var nodes: [Node]

    /// The graph of rollup rows (any minutes; rows of one edge and bucket are added up).
    public init(rows: [ServiceEdgeMinute]) {
        struct Histogram {
            var counts = [Int64](repeating: 0, count: ServiceEdgeMinute.bucketBoundsMs.count + 1)
            var max = [Double](repeating: 0, count: ServiceEdgeMinute.bucketBoundsMs.count + 1)
            var errors: Int64 = 0
            var totalMs: Double = 0
            var roots: Int64 = 0

            mutating func add(_ row: ServiceEdgeMinute) {
                let bucket = Swift.min(Swift.max(row.bucket, 0), counts.count - 1)
                counts[bucket] += row.calls
                max[bucket] = Swift.max(max[bucket], row.maxMs)
                errors += row.errors
                totalMs += row.totalMs
                if row.client.isEmpty { roots += row.calls }
            }

            var stats: Stats {
                Stats(calls: counts.reduce(0, +), errors: errors, p95Ms: ServiceGraph.percentile(0.95, counts: counts, max: max), totalMs: totalMs)
            }
        }
        struct Pair: Hashable { var client: String; var server: String }
        var edges: [Pair: Histogram] = [:]
        var nodes: [String: Histogram] = [:]
        for row in rows {
            nodes[row.server, default: Histogram()].add(row)
            if !row.client.isEmpty {
                if nodes[row.client] == nil { nodes[row.client] = Histogram() }
                edges[Pair(client: row.client, server: row.server), default: Histogram()].add(row)
            }
        }
        self.edges = edges.map { Edge(client: $0.key.client, server: $0.key.server, stats: $0.value.stats) }
            .sorted { ($0.client, $0.server) < ($1.client, $1.server) }
        self.nodes = nodes.map { Node(service: $0.key, stats: $0.value.stats, rootCalls: $0.value.roots) }
            .sorted { $0.service < $1.service }
    }

    /// The `quantile` of calls counted per bucket (`ServiceEdgeMinute.bucketBoundsMs`), as
    /// Prometheus' `histogram_quantile` reads one, capped by the bucket's largest call.
    static func percentile(_ quantile: Double, counts: [Int64], max: [Double]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = quantile * Double(total)
        var below: Int64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            if Double(below + count) >= rank {
                let bounds = ServiceEdgeMinute.bucketBoundsMs
                let lower = index == 0 ? 0 : bounds[index - 1]
                guard index < bounds.count else { return max[index] }
                let upper = bounds[index]
                let within = lower + (upper - lower) * Swift.max(rank - Double(below), 0) / Double(count)
                return Swift.min(within, max[index])
            }
            below += count
        }
        return max.last
    }
}

/// `ServiceGraphQueries` on either store: one grouped read of `service_edge_minutes`.
struct SQLServiceGraphQueries: ServiceGraphQueries {
    let reads: StoreReads

    func serviceGraph(from: Int64, to: Int64) async throws(StoreError) -> ServiceGraph {
        var sql = SQLBuilder(reads.dialect)
        let start = sql.bindTime(unixNano: SpanOperationMinute.minute(of: from))
        let end = sql.bindTime(unixNano: to)
        let text = """
            SELECT client_service, server_service, bucket, CAST(sum(calls) AS BIGINT) AS calls,
                   CAST(sum(errors) AS BIGINT) AS errors, sum(total_ms) AS total_ms, max(max_ms) AS max_ms
            FROM enterprise.service_edge_minutes WHERE minute >= \(start) AND minute < \(end)
            GROUP BY client_service, server_service, bucket
            """
        var rows: [ServiceEdgeMinute] = []
        for row in try await reads.rows(sql.query(text)) {
            rows.append(ServiceEdgeMinute(
                minuteUnixNano: 0, client: try row.text("client_service") ?? "", server: try row.text("server_service") ?? "",
                bucket: Int(try row.int("bucket") ?? 0), calls: try row.int("calls") ?? 0, errors: try row.int("errors") ?? 0,
                totalMs: try row.double("total_ms") ?? 0, maxMs: try row.double("max_ms") ?? 0))
        }
        return ServiceGraph(rows: rows)
    }

    /// Every stored call counted per minute, edge and bucket: what migration 021's
    /// `service_edge_minutes` is filled from (the same pairs the writer counts).
    static func backfill(_ dialect: SQLDialect) -> String {
        let minute = dialect == .postgres ? "date_trunc('minute', c.start_time)" : "substr(c.start_time, 1, 16) || ':00.000000Z'"
        let bounds = ServiceEdgeMinute.bucketBoundsMs
        let bucket = "CASE " + bounds.enumerated().map { "WHEN COALESCE(c.duration_ms, 0) <= \($0.element) THEN \($0.offset)" }
            .joined(separator: " ") + " ELSE \(bounds.count) END"
        return """
            INSERT INTO enterprise.service_edge_minutes (minute, client_service, server_service, bucket, calls, errors, total_ms, max_ms)
            SELECT minute, client_service, server_service, bucket, count(*), sum(failed), sum(duration_ms), max(duration_ms)
            FROM (SELECT \(minute) AS minute, COALESCE(p.service_name, '') AS client_service,
                         COALESCE(c.service_name, '') AS server_service, \(bucket) AS bucket,
                         CASE WHEN c.status = 'error' THEN 1 ELSE 0 END AS failed, COALESCE(c.duration_ms, 0) AS duration_ms
                  FROM enterprise.trace_spans c
                  LEFT JOIN enterprise.trace_spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
                  WHERE (COALESCE(c.parent_span_id, '') = '' AND p.span_id IS NULL)
                     OR (p.span_id IS NOT NULL AND p.service_name <> c.service_name)) calls
            GROUP BY minute, client_service, server_service, bucket
            """
    }
}

extension UnsupportedQueries: ServiceGraphQueries {
    public func serviceGraph(from: Int64, to: Int64) async throws(StoreError) -> ServiceGraph { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var serviceGraphQueries: any ServiceGraphQueries { SQLServiceGraphQueries(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it); on the read replica when one
    /// is configured, as the other query concerns.
    var serviceGraphQueries: any ServiceGraphQueries { SQLServiceGraphQueries(reads: StoreReads(replicaOf: self)) }
}
