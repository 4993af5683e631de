import Foundation
import Store
import StoreTestSupport
import Testing

/// `TempoQueries` on both stores: two traces, three spans, known answers for every method.
@Suite struct TempoQueriesContractTests {
    static let t0: Int64 = 1_700_000_000_000_000_000
    static let ms: Int64 = 1_000_000
    static let traceA = String(repeating: "a", count: 32)
    static let traceB = String(repeating: "b", count: 32)
    static let shopResource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"deployment.environment","value":{"stringValue":"prod"}},{"key":"host.cpus","value":{"intValue":"8"}}]}"#
    static let authResource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}},{"key":"deployment.environment","value":{"stringValue":"staging"}}]}"#

    static func span(_ trace: String, _ id: String, parent: String? = nil, name: String, service: String, start: Int64, end: Int64,
                     error: String? = nil, kind: Int32, tags: String, resource: String, scope: String) -> SpanRow {
        SpanRow(traceID: trace, spanID: id, parentSpanID: parent, operationName: name, serviceName: service,
                startTimeUnixNano: start, endTimeUnixNano: end, status: error == nil ? "completed" : "error", errorMessage: error,
                tags: tags, logs: "[]", kind: kind, traceState: parent == nil ? "k=v" : nil, flags: parent == nil ? 1 : 0,
                statusCode: error == nil ? 0 : 2, attributes: #"[{"key":"n","value":{"stringValue":"\#(id)"}}]"#,
                events: parent == nil ? "[]" : #"[{"timeUnixNano":"1700000000050000000","name":"retry"}]"#, links: "[]",
                resource: resource, scope: scope, droppedAttributesCount: parent == nil ? 0 : 1, droppedEventsCount: 0,
                droppedLinksCount: parent == nil ? 0 : 3)
    }

    static let a1 = span(traceA, "a000000000000001", name: "GET /cart", service: "shop", start: t0, end: t0 + 200 * ms, kind: 2,
                         tags: #"{"http.route":"/cart","http.status_code":200,"cached":true}"#, resource: shopResource, scope: #"{"name":"http"}"#)
    static let a2 = span(traceA, "a000000000000002", parent: "a000000000000001", name: "SELECT cart", service: "shop",
                         start: t0 + 10 * ms, end: t0 + 110 * ms, error: "timeout", kind: 3,
                         tags: #"{"db.system":"postgresql","retries":3}"#, resource: shopResource, scope: #"{"name":"db"}"#)
    static let b1 = span(traceB, "b000000000000001", name: "POST /pay", service: "auth", start: t0 + 1_000 * ms, end: t0 + 1_050 * ms,
                         kind: 2, tags: #"{"http.route":"/pay","ratio":0.5}"#, resource: authResource, scope: #"{"name":"http"}"#)

    static func trace(_ root: SpanRow, end: Int64, error: Bool) -> TraceRow {
        TraceRow(traceID: root.traceID, startTimeUnixNano: root.startTimeUnixNano, endTimeUnixNano: end,
                 status: error ? "error" : "completed", errorMessage: nil,
                 context: TraceContext(fromRoot: true, sourceStartUnixNano: root.startTimeUnixNano, entryPoint: "http",
                                       endpoint: nil, method: nil, sessionID: nil, userEmail: nil, department: nil,
                                       serviceName: root.serviceName, rootSpanName: root.operationName, tags: root.tags))
    }

    /// Runs `body` on a store holding the two traces. (Its closures say `async throws`: a `try`
    /// inside `#expect` alone does not make a closure throwing.)
    func withTraces(_ kind: StoreKind, _ body: @Sendable (any TempoQueries) async throws -> Void) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(WriteBatch(
                traces: [Self.trace(Self.a1, end: Self.a1.endTimeUnixNano, error: true), Self.trace(Self.b1, end: Self.b1.endTimeUnixNano, error: false)],
                spans: [Self.a1, Self.a2, Self.b1]))
            try await body(store.queries.tempo)
        }
    }

    static func sameJSON(_ a: String, _ b: String) -> Bool {
        guard let left = try? JSONSerialization.jsonObject(with: Data(a.utf8)) as? NSObject,
              let right = try? JSONSerialization.jsonObject(with: Data(b.utf8)) as? NSObject else { return false }
        return left.isEqual(right)
    }

    static func matched(_ span: SpanRow) -> MatchedSpan {
        MatchedSpan(spanID: span.spanID, name: span.operationName, serviceName: span.serviceName, startTimeUnixNano: span.startTimeUnixNano,
                    endTimeUnixNano: span.endTimeUnixNano, statusCode: Int64(span.statusCode))
    }

    @Test(arguments: StoreKind.available)
    func searchFindsTracesNewestFirstWithTheirSpans(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let all = try await tempo.search(TraceSearch(limit: 20, spansPerTrace: 3))
            #expect(all == [
                FoundTrace(traceID: Self.traceB, rootServiceName: "auth", rootSpanName: "POST /pay", startTimeUnixNano: Self.b1.startTimeUnixNano,
                           endTimeUnixNano: Self.b1.endTimeUnixNano, spans: MatchedSpans(spans: [Self.matched(Self.b1)], matched: 1)),
                FoundTrace(traceID: Self.traceA, rootServiceName: "shop", rootSpanName: "GET /cart", startTimeUnixNano: Self.a1.startTimeUnixNano,
                           endTimeUnixNano: Self.a1.endTimeUnixNano, spans: MatchedSpans(spans: [Self.matched(Self.a1), Self.matched(Self.a2)], matched: 2)),
            ])
            // Only the matching spans, at most `spansPerTrace`, with the count of all that matched.
            let database = try await tempo.search(TraceSearch(condition: .compare(.spanAttribute("db.system"), .equal, .text("postgresql")),
                                                              limit: 20, spansPerTrace: 3))
            #expect(database.map(\.traceID) == [Self.traceA])
            #expect(database.first?.spans == MatchedSpans(spans: [Self.matched(Self.a2)], matched: 1))
            let capped = try await tempo.search(TraceSearch(start: Self.t0, end: Self.t0, limit: 20, spansPerTrace: 1))
            #expect(capped.first?.spans == MatchedSpans(spans: [Self.matched(Self.a1)], matched: 2))
        }
    }

    @Test(arguments: StoreKind.available)
    func searchBoundsTimeDurationAndCount(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let half = Self.t0 + 500 * Self.ms
            let cases: [(TraceSearch, [String])] = [
                (TraceSearch(start: half, limit: 20, spansPerTrace: 3), [Self.traceB]),
                (TraceSearch(end: half, limit: 20, spansPerTrace: 3), [Self.traceA]),
                (TraceSearch(minDuration: 100 * Self.ms, limit: 20, spansPerTrace: 3), [Self.traceA]),
                (TraceSearch(maxDuration: 100 * Self.ms, limit: 20, spansPerTrace: 3), [Self.traceB]),
                (TraceSearch(limit: 1, spansPerTrace: 3), [Self.traceB]),
            ]
            for (search, expected) in cases {
                #expect(try await tempo.search(search).map(\.traceID) == expected, "\(search)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func everyFieldOperatorAndValueKind(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let a = Self.traceA, b = Self.traceB
            let cases: [(SpanCondition, [String])] = [
                (.compare(.spanName, .equal, .text("POST /pay")), [b]),
                (.compare(.spanName, .matches, .text("GET|POST")), []),
                (.compare(.spanName, .matches, .text("(GET|POST) .*")), [b, a]),
                (.compare(.spanName, .notMatches, .text("SELECT.*")), [b, a]),
                (.compare(.statusMessage, .equal, .text("timeout")), [a]),
                (.compare(.statusMessage, .notEqual, .text("timeout")), []),
                (.compare(.statusCode, .equal, .code(2)), [a]),
                (.compare(.statusCode, .notEqual, .code(0)), [a]),
                (.compare(.spanKind, .equal, .code(3)), [a]),
                (.compare(.duration, .greater, .duration(150 * Self.ms)), [a]),
                (.compare(.duration, .lessOrEqual, .duration(50 * Self.ms)), [b]),
                (.compare(.traceDuration, .less, .duration(100 * Self.ms)), [b]),
                (.compare(.rootServiceName, .equal, .text("shop")), [a]),
                (.compare(.rootSpanName, .matches, .text("(?i)get /CART")), [a]),
                (.compare(.resourceAttribute("service.name"), .equal, .text("auth")), [b]),
                (.compare(.resourceAttribute("deployment.environment"), .matches, .text("pro.*")), [a]),
                (.compare(.resourceAttribute("deployment.environment"), .matches, .text("pro")), []),
                (.compare(.resourceAttribute("host.cpus"), .equal, .number(8)), [a]),
                (.compare(.resourceAttribute("host.cpus"), .equal, .text("8")), []),
                (.compare(.spanAttribute("http.route"), .equal, .text("/pay")), [b]),
                (.compare(.spanAttribute("retries"), .greaterOrEqual, .number(3)), [a]),
                (.compare(.spanAttribute("retries"), .equal, .text("3")), []),
                (.compare(.spanAttribute("ratio"), .less, .number(1)), [b]),
                (.compare(.spanAttribute("cached"), .equal, .bool(true)), [a]),
                (.compare(.spanAttribute("cached"), .notEqual, .bool(true)), []),
                (.compare(.spanAttribute("http.route"), .equal, .code(2)), []),
                (.compare(.resourceAttribute("deployment.environment"), .equal, .code(2)), []),
                // A missing attribute matches nothing, `!=` included.
                (.compare(.attribute("http.route"), .notEqual, .text("/cart")), [b]),
                (.compare(.attribute("deployment.environment"), .equal, .text("staging")), [b]),
                (.compare(.attribute("service.name"), .equal, .text("shop")), [a]),
                (.or(.compare(.spanName, .equal, .text("POST /pay")), .compare(.statusMessage, .equal, .text("timeout"))), [b, a]),
                (.and(.compare(.rootServiceName, .equal, .text("shop")), .compare(.spanKind, .equal, .code(2))), [a]),
                (.and(.compare(.spanName, .equal, .text("GET /cart")), .compare(.statusCode, .equal, .code(2))), []),
            ]
            for (condition, expected) in cases {
                let found = try await tempo.search(TraceSearch(condition: condition, limit: 20, spansPerTrace: 3))
                #expect(found.map(\.traceID) == expected, "\(condition)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func attributeNamesOfTheMostRecentSpans(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let all = SpanSample(start: nil, end: nil, size: 100)
            #expect(try await tempo.attributeNames(.span, in: all, limit: 100)
                    == ["cached", "db.system", "http.route", "http.status_code", "ratio", "retries"])
            #expect(try await tempo.attributeNames(.resource, in: all, limit: 100) == ["deployment.environment", "host.cpus", "service.name"])
            #expect(try await tempo.attributeNames(.span, in: all, limit: 2) == ["cached", "db.system"])
            let late = SpanSample(start: Self.t0 + 500 * Self.ms, end: nil, size: 100)
            #expect(try await tempo.attributeNames(.span, in: late, limit: 100) == ["http.route", "ratio"])
            #expect(try await tempo.attributeNames(.resource, in: late, limit: 100) == ["deployment.environment", "service.name"])
            let early = SpanSample(start: nil, end: Self.t0 + 500 * Self.ms, size: 1)
            #expect(try await tempo.attributeNames(.span, in: early, limit: 100) == ["db.system", "retries"])
        }
    }

    @Test(arguments: StoreKind.available)
    func valuesOfEachFieldWithTheirTypes(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let all = SpanSample(start: nil, end: nil, size: 100)
            func strings(_ texts: String...) -> [SpanFieldValue] { texts.map { SpanFieldValue(kind: .string, text: $0) } }
            let cases: [(SpanField, [SpanFieldValue])] = [
                (.spanName, strings("GET /cart", "POST /pay", "SELECT cart")),
                (.statusMessage, strings("timeout")),
                (.rootSpanName, strings("GET /cart", "POST /pay")),
                (.rootServiceName, strings("auth", "shop")),
                (.resourceAttribute("service.name"), strings("auth", "shop")),
                (.attribute("service.name"), strings("auth", "shop")),
                (.resourceAttribute("deployment.environment"), strings("prod", "staging")),
                (.resourceAttribute("host.cpus"), [SpanFieldValue(kind: .int, text: "8")]),
                (.spanAttribute("http.route"), strings("/cart", "/pay")),
                (.attribute("http.route"), strings("/cart", "/pay")),
                (.spanAttribute("http.status_code"), [SpanFieldValue(kind: .int, text: "200")]),
                (.spanAttribute("ratio"), [SpanFieldValue(kind: .float, text: "0.5")]),
                (.spanAttribute("cached"), [SpanFieldValue(kind: .bool, text: "true")]),
                (.spanAttribute("nothing"), []),
                (.statusCode, []), (.spanKind, []), (.duration, []), (.traceDuration, []),
            ]
            for (field, expected) in cases {
                #expect(try await tempo.values(of: field, where: nil, in: all, limit: 100) == expected, "\(field)")
            }
            #expect(try await tempo.values(of: .spanName, where: nil, in: all, limit: 1) == strings("GET /cart"))
            let auth = SpanCondition.compare(.resourceAttribute("service.name"), .equal, .text("auth"))
            #expect(try await tempo.values(of: .spanName, where: auth, in: all, limit: 100) == strings("POST /pay"))
            let newest = SpanSample(start: nil, end: nil, size: 1)
            #expect(try await tempo.values(of: .spanName, where: nil, in: newest, limit: 100) == strings("POST /pay"))
            let early = SpanSample(start: Self.t0 + 5 * Self.ms, end: Self.t0 + 500 * Self.ms, size: 100)
            #expect(try await tempo.values(of: .spanName, where: nil, in: early, limit: 100) == strings("SELECT cart"))
        }
    }

    @Test(arguments: StoreKind.available)
    func spansOfATraceForExport(_ kind: StoreKind) async throws {
        try await withTraces(kind) { tempo async throws in
            let spans = try await tempo.spans(ofTrace: Self.traceA)
            try #require(spans.count == 2)
            for (span, row) in zip(spans, [Self.a1, Self.a2]) {
                #expect(span.traceID == row.traceID && span.spanID == row.spanID && span.parentSpanID == row.parentSpanID)
                #expect(span.traceState == row.traceState && span.flags == row.flags && span.name == row.operationName)
                #expect(span.kind == Int64(row.kind) && span.statusCode == Int64(row.statusCode) && span.statusMessage == row.errorMessage)
                #expect(span.startTimeUnixNano == row.startTimeUnixNano && span.endTimeUnixNano == row.endTimeUnixNano)
                #expect(span.droppedAttributesCount == row.droppedAttributesCount && span.droppedEventsCount == row.droppedEventsCount
                        && span.droppedLinksCount == row.droppedLinksCount)
                // PostgreSQL keeps the JSON as jsonb: the same value, spelt its own way.
                for (stored, sent) in [(span.attributes, row.attributes), (span.events, row.events), (span.links, row.links),
                                       (span.resource, row.resource), (span.scope, row.scope)] {
                    #expect(Self.sameJSON(stored, sent), "\(stored) is not \(sent)")
                }
            }
            #expect(try await tempo.spans(ofTrace: String(repeating: "c", count: 32)) == [])
        }
    }

    @Test func aStoreThatOnlyWritesRefusesEveryQuery() async {
        let tempo = StoreQueries.unsupported.tempo
        let sample = SpanSample(start: nil, end: nil, size: 1)
        await #expect(throws: StoreError.self) { try await tempo.search(TraceSearch(limit: 1, spansPerTrace: 1)) }
        await #expect(throws: StoreError.self) { try await tempo.attributeNames(.span, in: sample, limit: 1) }
        await #expect(throws: StoreError.self) { try await tempo.values(of: .spanName, where: nil, in: sample, limit: 1) }
        await #expect(throws: StoreError.self) { try await tempo.spans(ofTrace: Self.traceA) }
    }
}
