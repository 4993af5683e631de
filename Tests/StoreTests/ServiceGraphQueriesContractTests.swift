import Foundation
import Store
import StoreTestSupport
import Testing

/// `ServiceGraphQueries` on both stores, and the edge rollups the writer keeps: a call is
/// counted once whichever of its spans is committed first, or both together; a re-sent span
/// adds nothing; spans of one service calling each other make no edge.
@Suite struct ServiceGraphQueriesContractTests {
    static let second: Int64 = 1_000_000_000
    static let ms: Int64 = 1_000_000
    /// A whole minute.
    static let t0: Int64 = 1_800_000_000 * second

    static func span(_ trace: Character, _ id: String, parent: String? = nil, service: String, at start: Int64,
                     ms duration: Int64, error: Bool = false) -> (SpanRow, TraceRow) {
        let traceID = String(repeating: trace, count: 32)
        var (row, traceRow) = StoreTests.span(traceID, id, parent: parent, start: start, end: start + duration * Self.ms, error: error)
        row.serviceName = service
        traceRow.context.serviceName = service
        return (row, traceRow)
    }

    static func batch(_ spans: [(SpanRow, TraceRow)]) -> WriteBatch {
        WriteBatch(traces: spans.map(\.1), spans: spans.map(\.0))
    }

    /// Trace a: frontend → api → db (failed), and api → api (same service); the children
    /// first, the root later. Trace b: frontend → api, the root first; the child sent twice.
    static func writeCalls(_ store: any TelemetryStore) async throws {
        let root = "a000000000000001", api = "a000000000000002"
        try await store.write(batch([
            span("a", api, parent: root, service: "api", at: t0 + 1 * second, ms: 30),
            span("a", "a000000000000003", parent: api, service: "db", at: t0 + 2 * second, ms: 3, error: true),
            span("a", "a000000000000004", parent: api, service: "api", at: t0 + 2 * second, ms: 7),
        ]))
        try await store.write(batch([span("a", root, service: "frontend", at: t0, ms: 40)]))
        try await store.write(batch([span("b", "b000000000000001", service: "frontend", at: t0 + 61 * second, ms: 250)]))
        let child = span("b", "b000000000000002", parent: "b000000000000001", service: "api", at: t0 + 62 * second, ms: 200)
        try await store.write(batch([child]))
        try await store.write(batch([child]))
    }

    @Test(arguments: StoreKind.available)
    func callsArePairedOnceWhicheverSpanComesFirst(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            try await Self.writeCalls(store)
            let graph = try await store.queries.serviceGraph.serviceGraph(from: Self.t0, to: Self.t0 + 10 * 60 * Self.second)
            #expect(graph.edges.map { "\($0.client)->\($0.server)" } == ["api->db", "frontend->api"])
            let frontendAPI = try #require(graph.edges.last)
            #expect(frontendAPI.stats.calls == 2 && frontendAPI.stats.errors == 0)
            #expect(frontendAPI.stats.totalMs == 230)
            // Two calls, 30 and 200 ms: the 95th percentile is in the (100, 250] bucket, capped by its largest call.
            #expect(frontendAPI.stats.p95Ms == 200)
            let apiDB = try #require(graph.edges.first)
            #expect(apiDB.stats.calls == 1 && apiDB.stats.errors == 1 && apiDB.stats.p95Ms == 3)
            #expect(graph.nodes.map(\.service) == ["api", "db", "frontend"])
            let frontend = try #require(graph.nodes.last)
            // Roots of 40 and 250 ms: the 95th percentile, linear within (100, 250], is 235.
            #expect(frontend.stats.calls == 2 && frontend.rootCalls == 2 && frontend.stats.p95Ms == 235)
            #expect(graph.nodes[0].stats.calls == 2 && graph.nodes[0].rootCalls == 0)
            #expect(graph.nodes[1].stats.errors == 1)

            // The window is whole minutes: from the second minute only trace b's calls.
            let later = try await store.queries.serviceGraph.serviceGraph(from: Self.t0 + 90 * Self.second, to: Self.t0 + 10 * 60 * Self.second)
            #expect(later.edges.map(\.stats.calls) == [1])
            #expect(try await store.queries.serviceGraph.serviceGraph(from: Self.t0 + 5 * 60 * Self.second, to: Self.t0 + 10 * 60 * Self.second)
                .nodes.isEmpty)
        }
    }

    /// A store written before migration 021: applying it counts the calls already stored.
    @Test(arguments: StoreKind.available)
    func migration021CountsTheCallsAlreadyStored(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await Self.writeCalls(store)
            let window = (from: Self.t0, to: Self.t0 + 10 * 60 * Self.second)
            let written = try await store.queries.serviceGraph.serviceGraph(from: window.from, to: window.to)
            try await database.execute("DELETE FROM enterprise.service_edge_minutes")
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '021'")
            #expect(try await store.queries.serviceGraph.serviceGraph(from: window.from, to: window.to).edges.isEmpty)
            #expect(try await store.migrate() == ["021"])
            #expect(try await store.queries.serviceGraph.serviceGraph(from: window.from, to: window.to) == written)
        }
    }

    /// Trace `i`'s root (frontend) and its child (api) as two batches, each with the trace's row.
    static func splitCalls(_ count: Int) -> [(parent: WriteBatch, child: WriteBatch)] {
        (0..<count).map { index in
            let traceID = String(format: "%032x", 0xC0FFEE00 + index)
            let root = String(format: "%016x", 0x1000 + index), child = String(format: "%016x", 0x2000 + index)
            var (parent, parentTrace) = StoreTests.span(traceID, root, start: t0 + Int64(index) * ms, end: t0 + Int64(index) * ms + 20 * ms)
            parent.serviceName = "frontend"
            parentTrace.context.serviceName = "frontend"
            var (called, calledTrace) = StoreTests.span(traceID, child, parent: root, start: t0 + Int64(index) * ms + ms,
                                                        end: t0 + Int64(index) * ms + 11 * ms)
            called.serviceName = "api"
            calledTrace.context.serviceName = "api"
            return (WriteBatch(traces: [parentTrace], spans: [parent]), WriteBatch(traces: [calledTrace], spans: [called]))
        }
    }

    /// The two spans of each call committed at the same time, by two commits of one store and
    /// (PostgreSQL) by two stores on one database, as two replicas: each call is counted once.
    @Test(arguments: StoreKind.available)
    func callsSplitOverConcurrentCommitsAreCountedOnce(_ kind: StoreKind) async throws {
        let count = 40
        let window = (from: Self.t0, to: Self.t0 + 10 * 60 * Self.second)
        try await withTestStore(kind) { store, database in
            for (parent, child) in Self.splitCalls(count) {
                async let first: Void = store.write(parent)
                async let second: Void = store.write(child)
                _ = try await (first, second)
            }
            let graph = try await store.queries.serviceGraph.serviceGraph(from: window.from, to: window.to)
            #expect(graph.edges.map { "\($0.client)->\($0.server) \($0.stats.calls)" } == ["frontend->api \(count)"])
            #expect(graph.nodes.first { $0.service == "frontend" }?.rootCalls == Int64(count))

            guard kind == .postgres else { return }
            try await database.execute("DELETE FROM enterprise.service_edge_minutes")
            try await database.execute("DELETE FROM enterprise.traces")
            try await withTestStore(kind, database: database) { replica, _ in
                try await withThrowingTaskGroup(of: Void.self) { writes in
                    for (index, (parent, child)) in Self.splitCalls(count).enumerated() {
                        // Either span first, on either replica.
                        let (one, other) = index.isMultiple(of: 2) ? (store, replica) : (replica, store)
                        writes.addTask { try await one.write(parent) }
                        writes.addTask { try await other.write(child) }
                    }
                    try await writes.waitForAll()
                }
            }
            let replicated = try await store.queries.serviceGraph.serviceGraph(from: window.from, to: window.to)
            #expect(replicated.edges.map { "\($0.client)->\($0.server) \($0.stats.calls)" } == ["frontend->api \(count)"])
            #expect(replicated.nodes.first { $0.service == "frontend" }?.rootCalls == Int64(count))
        }
    }

    /// A span written without its trace's row (the trace stored before) is paired with the
    /// stored spans, as one with it.
    @Test(arguments: StoreKind.available)
    func aSpanWithoutItsTraceRowIsPairedWithTheStoredOnes(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let (parent, child) = Self.splitCalls(1)[0]
            try await store.write(parent)
            try await store.write(WriteBatch(spans: child.spans))
            let graph = try await store.queries.serviceGraph.serviceGraph(from: Self.t0, to: Self.t0 + 10 * 60 * Self.second)
            #expect(graph.edges.map { "\($0.client)->\($0.server) \($0.stats.calls)" } == ["frontend->api 1"])
        }
    }

    @Test func onlyTracesWhoseRowTheCommitDidNotInsertAreRead() {
        let (parent, child) = Self.splitCalls(2)[1]
        let (other, _) = Self.splitCalls(1)[0]
        let added = parent.spans + child.spans + other.spans
        let reads = TraceEdgeReads(newTraces: [other.spans[0].traceID])
        #expect(reads.tracesToRead(added: added) == [parent.spans[0].traceID])
        #expect(TraceEdgeReads(newTraces: []).tracesToRead(added: added) == [other.spans[0].traceID, parent.spans[0].traceID].sorted())
        #expect(TraceEdgeReads.unlistedTraces(spans: added, traces: parent.traces) == [other.spans[0].traceID])
        #expect(TraceEdgeReads.unlistedTraces(spans: added, traces: parent.traces + other.traces).isEmpty)
    }

    @Test func aPercentileIsReadWithinItsBucket() throws {
        // 1…100 ms, one call each: the true p95 is 95 ms, in the (50, 100] bucket.
        var rows: [ServiceEdgeMinute] = []
        for duration in 1...100 {
            rows.append(ServiceEdgeMinute(minuteUnixNano: 0, client: "a", server: "b", bucket: ServiceEdgeMinute.bucket(durationMs: Double(duration)),
                                          calls: 1, errors: 0, totalMs: Double(duration), maxMs: Double(duration)))
        }
        let stats = ServiceGraph(rows: rows).edges[0].stats
        #expect(stats.calls == 100)
        let p95 = try #require(stats.p95Ms)
        #expect(p95 > 50 && p95 <= 100)
        #expect(ServiceEdgeMinute.bucket(durationMs: 1) == 0 && ServiceEdgeMinute.bucket(durationMs: 1.5) == 1)
        #expect(ServiceEdgeMinute.bucket(durationMs: 1e9) == ServiceEdgeMinute.bucketBoundsMs.count)
        #expect(ServiceGraph(rows: []).nodes.isEmpty)
    }
}
