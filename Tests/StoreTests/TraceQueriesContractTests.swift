import Foundation
import Store
import StoreTestSupport
import Testing

/// `TraceQueries` on both stores, over `QueryContractData`'s traces.
@Suite struct TraceQueriesContractTests {
    typealias Data = QueryContractData

    func withTraces(_ kind: StoreKind, _ body: @Sendable (any TraceQueries) async throws -> Void) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Data.traceBatch)
            try await body(store.queries.traces)
        }
    }

    func ids(_ page: TraceListPage) -> [String] { page.traces.map { String($0.traceID.suffix(1)) } }

    @Test(arguments: StoreKind.available)
    func theListIsNewestFirstWithinTheWindow(_ kind: StoreKind) async throws {
        try await withTraces(kind) { traces in
            let page = try await traces.traceList(TraceFilter(since: Data.t0), limit: 50, offset: 0, countLimit: 100)
            #expect(ids(page) == ["c", "b", "a", "e"])
            #expect(page.total == CappedCount(total: 4, capped: false))
            // The window's start is exclusive.
            let later = try await traces.traceList(TraceFilter(since: Data.t0 + 120 * Data.second), limit: 50, offset: 0, countLimit: 100)
            #expect(ids(later) == ["c"])
        }
    }

    @Test(arguments: StoreKind.available)
    func eachFilterNarrowsTheList(_ kind: StoreKind) async throws {
        try await withTraces(kind) { (traces: any TraceQueries) async throws in
            func list(_ filter: TraceFilter) async throws -> [String] {
                ids(try await traces.traceList(filter, limit: 50, offset: 0, countLimit: 100))
            }
            #expect(try await list(TraceFilter(since: Data.t0, status: "error")) == ["b"])
            #expect(try await list(TraceFilter(since: Data.t0, status: "completed")) == ["c", "a", "e"])
            #expect(try await list(TraceFilter(since: Data.t0, service: "auth")) == ["c"])
            #expect(try await list(TraceFilter(since: Data.t0, operation: "cache")) == ["a"])
            #expect(try await list(TraceFilter(since: Data.t0, operation: "db")) == ["b", "a"])
            #expect(try await list(TraceFilter(since: Data.t0, userEmail: "alice@example.com")) == ["b", "a"])
            #expect(try await list(TraceFilter(since: Data.t0, minDurationMs: 10)) == ["b", "a"])
            #expect(try await list(TraceFilter(since: Data.t0, service: "shop", operation: "db", minDurationMs: 100)) == ["b"])
            #expect(try await list(TraceFilter(since: Data.t0, service: "nobody")) == [])
        }
    }

    @Test(arguments: StoreKind.available)
    func pagesAndTheCappedCount(_ kind: StoreKind) async throws {
        try await withTraces(kind) { traces in
            let second = try await traces.traceList(TraceFilter(since: Data.t0), limit: 2, offset: 1, countLimit: 100)
            #expect(ids(second) == ["b", "a"])
            #expect(second.total == CappedCount(total: 4, capped: false))
            let capped = try await traces.traceList(TraceFilter(since: Data.t0), limit: 1, offset: 0, countLimit: 3)
            #expect(ids(capped) == ["c"])
            #expect(capped.total == CappedCount(total: 3, capped: true))
            let exact = try await traces.traceList(TraceFilter(since: Data.t0), limit: 1, offset: 0, countLimit: 4)
            #expect(exact.total == CappedCount(total: 4, capped: false))
            let beyond = try await traces.traceList(TraceFilter(since: Data.t0), limit: 10, offset: 10, countLimit: 100)
            #expect(beyond.traces.isEmpty)
            #expect(beyond.total == CappedCount(total: 4, capped: false))
        }
    }

    @Test(arguments: StoreKind.available)
    func aListedTraceHasTheListColumns(_ kind: StoreKind) async throws {
        try await withTraces(kind) { traces in
            let page = try await traces.traceList(TraceFilter(since: Data.t0, status: "error"), limit: 1, offset: 0, countLimit: 10)
            let trace = try #require(page.traces.first)
            #expect(trace.traceID == Data.traceID("b"))
            #expect(trace.entryPoint == "http")
            #expect(trace.endpoint == "POST /pay")
            #expect(trace.method == "POST")
            #expect(trace.sessionID == nil)
            #expect(trace.userEmail == "alice@example.com")
            #expect(trace.department == nil)
            #expect(trace.startTime == Timestamp.iso8601(unixNano: Data.t0 + 120 * Data.second))
            #expect(trace.endTime == Timestamp.iso8601(unixNano: Data.t0 + 121 * Data.second))
            #expect(trace.durationMs == 1000)
            #expect(trace.status == "error")
            #expect(trace.errorMessage == "card declined")
            #expect(Data.json(trace.tags) == Data.json(#"{"route":"POST /pay"}"#))
            #expect(trace.serviceName == "shop")
            #expect(trace.rootSpanName == "POST /pay")
        }
    }

    @Test(arguments: StoreKind.available)
    func aTraceComesWithItsSpansInStartOrder(_ kind: StoreKind) async throws {
        try await withTraces(kind) { traces in
            let detail = try #require(try await traces.trace(id: Data.traceID("a")))
            let trace = detail.trace
            #expect(UUID(uuidString: trace.id) != nil && trace.id == trace.id.lowercased())
            #expect(trace.traceID == Data.traceID("a"))
            #expect(trace.startTime == Timestamp.iso8601(unixNano: Data.t0 + 60 * Data.second))
            #expect(trace.durationMs == 10)
            #expect(trace.status == "completed")
            #expect(trace.createdAt != nil)
            #expect(trace.startTimeUnixNano == Data.t0 + 60 * Data.second)
            #expect(trace.endTimeUnixNano == Data.t0 + 60 * Data.second + 10 * Data.millisecond)
            #expect(trace.serviceName == "shop")
            #expect(trace.rootSpanName == "GET /cart")
            #expect(trace.contextFromRoot)
            #expect(trace.contextStartUnixNano == Data.t0 + 60 * Data.second)
            #expect(trace.userEmail == "alice@example.com")

            #expect(detail.spans.map(\.spanID) == ["00000000000000a1", "00000000000000a2", "00000000000000a3"])
            let span = detail.spans[1]
            #expect(UUID(uuidString: span.id) != nil)
            #expect(span.traceID == Data.traceID("a"))
            #expect(span.parentSpanID == "00000000000000a1")
            #expect(span.operationName == "db")
            #expect(span.serviceName == "shop")
            #expect(span.startTime == Timestamp.iso8601(unixNano: Data.t0 + 60 * Data.second + Data.millisecond))
            #expect(span.endTime == Timestamp.iso8601(unixNano: Data.t0 + 60 * Data.second + 4 * Data.millisecond))
            #expect(span.durationMs == 3)
            #expect(span.status == "completed")
            #expect(span.errorMessage == nil)
            #expect(Data.json(span.tags) == Data.json(#"{"span":"00000000000000a2"}"#))
            #expect(Data.json(span.logs) == Data.json("[]"))
            #expect(span.spanKind == 3)
            #expect(span.traceState == "v=1")
            #expect(span.flags == 257)
            #expect(span.statusCode == 0)
            #expect(span.startTimeUnixNano == Data.t0 + 60 * Data.second + Data.millisecond)
            #expect(span.endTimeUnixNano == Data.t0 + 60 * Data.second + 4 * Data.millisecond)
            #expect(Data.json(span.attributes) == Data.json(#"[{"key":"span","value":{"stringValue":"00000000000000a2"}}]"#))
            #expect(Data.json(span.events) == Data.json("[]"))
            #expect(Data.json(span.links) == Data.json("[]"))
            #expect(Data.json(span.resource) == Data.json(#"{"attributes":[]}"#))
            #expect(Data.json(span.scope) == Data.json(#"{"name":"test"}"#))
            #expect([span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount] == [1, 2, 3])
            #expect(detail.spans[0].parentSpanID == nil)

            #expect(try await traces.trace(id: Data.traceID("f")) == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func theSummaryCountsTheWindowExactly(_ kind: StoreKind) async throws {
        try await withTraces(kind) { traces in
            // 30 s after t0: E (45 s) is in the window, in the minute it starts in.
            let summary = try await traces.traceSummary(since: Data.t0 + 30 * Data.second, service: nil)
            #expect([summary.total, summary.completed, summary.errors] == [4, 3, 1])
            #expect(abs((summary.averageMs ?? 0) - 254.25) < 1e-9)
            // Durations 2, 5, 10, 1000, interpolated linearly.
            let percentiles = try #require(summary.percentiles)
            #expect(abs(percentiles.p50 - 7.5) < 1e-9)
            #expect(abs(percentiles.p95 - 851.5) < 1e-9)
            #expect(abs(percentiles.p99 - 970.3) < 1e-9)
            #expect(Set(summary.operations.map(\.name)) == ["GET /health", "GET /cart", "db", "cache", "POST /pay", "login"])
            let db = try #require(summary.operations.first { $0.name == "db" })
            #expect(db == OperationTotals(name: "db", calls: 2, totalMs: 6, maxMs: 3))
            #expect(summary.operations.first { $0.name == "GET /health" } == OperationTotals(name: "GET /health", calls: 1, totalMs: 2, maxMs: 2))
            #expect(summary.operations.first { $0.name == "login" } == OperationTotals(name: "login", calls: 1, totalMs: 5, maxMs: 5))

            // 50 s after t0: E started before the window, in the same minute.
            let later = try await traces.traceSummary(since: Data.t0 + 50 * Data.second, service: nil)
            #expect(later.total == 3)
            #expect(!later.operations.contains { $0.name == "GET /health" })

            let auth = try await traces.traceSummary(since: Data.t0, service: "auth")
            #expect([auth.total, auth.completed, auth.errors] == [1, 1, 0])
            #expect(auth.percentiles == DurationPercentiles(p50: 5, p95: 5, p99: 5))
            #expect(auth.operations == [OperationTotals(name: "login", calls: 1, totalMs: 5, maxMs: 5)])

            let empty = try await traces.traceSummary(since: Data.t0, service: "nobody")
            #expect([empty.total, empty.completed, empty.errors] == [0, 0, 0])
            #expect(empty.averageMs == nil)
            #expect(empty.percentiles == nil)
            #expect(empty.operations.isEmpty)
        }
    }
}
