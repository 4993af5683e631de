import Foundation
import Store
import StoreTestSupport
import Testing

/// `TempoQueries`' reads for spanset operators and TraceQL metrics on both stores, over the
/// traces of `TempoQueriesContractTests` (A: GET /cart with a failed SELECT child carrying a
/// `retry` event; B: POST /pay).
@Suite struct TempoSpansetQueriesContractTests {
    typealias Fixture = TempoQueriesContractTests

    @Test(arguments: StoreKind.available)
    func candidatesFollowTheRequirement(_ kind: StoreKind) async throws {
        try await Fixture().withTraces(kind) { tempo async throws in
            let server = SpanCondition.compare(.spanKind, .equal, .code(2))
            let client = SpanCondition.compare(.spanKind, .equal, .code(3))
            let cases: [(TraceRequirement, [String])] = [
                (.anything, [Fixture.traceB, Fixture.traceA]),
                (.span(server), [Fixture.traceB, Fixture.traceA]),
                (.both(.span(server), .span(client)), [Fixture.traceA]),
                (.either(.span(.compare(.spanName, .equal, .text("POST /pay"))), .span(client)), [Fixture.traceB, Fixture.traceA]),
                (.span(.compare(.eventName, .equal, .text("retry"))), [Fixture.traceA]),
                (.span(.exists(.spanAttribute("ratio"))), [Fixture.traceB]),
                (.span(.and(.isRoot, .not(.exists(.spanAttribute("cached"))))), [Fixture.traceB]),
                (.span(.constant(false)), []),
            ]
            for (required, expected) in cases {
                #expect(try await tempo.candidateTraces(TraceCandidates(required: required), limit: 10) == expected, "\(required)")
            }
            #expect(try await tempo.candidateTraces(TraceCandidates(required: .anything), limit: 1) == [Fixture.traceB])
        }
    }

    @Test(arguments: StoreKind.available)
    func spanTableReadsEverySpanWithConditionsAndValues(_ kind: StoreKind) async throws {
        try await Fixture().withTraces(kind) { tempo async throws in
            let request = SpanTableRequest(conditions: [.compare(.statusCode, .equal, .code(2)), .isRoot],
                                           fields: [.spanAttribute("http.route"), .spanAttribute("retries"), .eventName, .resourceAttribute("deployment.environment")])
            let rows = try await tempo.spanTable(traceIDs: [Fixture.traceA], request, maxSpans: 10)
            #expect(rows.map(\.spanID) == ["a000000000000001", "a000000000000002"])
            #expect(rows.map(\.parentSpanID) == [nil, "a000000000000001"])
            #expect(rows.map(\.matches) == [[false, true], [true, false]])
            #expect(rows[0].values == [SpanFieldValue(kind: .string, text: "/cart"), nil, nil, SpanFieldValue(kind: .string, text: "prod")])
            #expect(rows[1].values == [nil, SpanFieldValue(kind: .int, text: "3"), SpanFieldValue(kind: .string, text: "retry"), SpanFieldValue(kind: .string, text: "prod")])
            #expect(rows[1].rootSpanName == "GET /cart" && rows[1].kind == 3 && rows[1].statusCode == 2)
            #expect(try await tempo.spanTable(traceIDs: [Fixture.traceA, Fixture.traceB], request, maxSpans: 1).count == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func idsScopesParentsArithmeticAndNegation(_ kind: StoreKind) async throws {
        try await Fixture().withTraces(kind) { tempo async throws in
            let cases: [SpanCondition] = [
                .compare(.spanID, .equal, .text("a000000000000002")),
                .compare(.traceID, .equal, .text(Fixture.traceA)),
                .compare(.parentSpanID, .equal, .text("a000000000000001")),
                .compare(.childCount, .equal, .number(1)),
                .compare(.scopeName, .equal, .text("db")),
                .exists(.scopeVersion),
                .parent(.compare(.spanAttribute("http.route"), .equal, .text("/cart"))),
                .compareNumber(.add(.field(.spanAttribute("retries")), .constant(1)), .equal, 4),
                .compareNumber(.divide(.field(.duration), .constant(1_000_000)), .greater, 150),
                .compareNumber(.divide(.field(.spanAttribute("retries")), .constant(0)), .greater, 0),
                .not(.compare(.spanAttribute("db.system"), .equal, .text("postgresql"))),
            ]
            let request = SpanTableRequest(conditions: cases, fields: [.spanID, .traceID, .parentSpanID, .childCount, .scopeName])
            let rows = try await tempo.spanTable(traceIDs: [Fixture.traceA], request, maxSpans: 10)
            #expect(rows.map(\.spanID) == ["a000000000000001", "a000000000000002"])
            #expect(rows.map(\.matches) == [[false, true, false, true, false, false, false, false, true, false, true],
                                            [true, true, true, false, true, false, true, true, false, false, false]])
            #expect(rows[1].values == [SpanFieldValue(kind: .string, text: "a000000000000002"), SpanFieldValue(kind: .string, text: Fixture.traceA),
                                       SpanFieldValue(kind: .string, text: "a000000000000001"), SpanFieldValue(kind: .int, text: "0"),
                                       SpanFieldValue(kind: .string, text: "db")])
            #expect(rows[0].values[2] == nil && rows[0].values[3] == SpanFieldValue(kind: .int, text: "1"))
        }
    }

    @Test(arguments: StoreKind.available)
    func spanMetricsCountPerStepAndGroupInSQL(_ kind: StoreKind) async throws {
        try await Fixture().withTraces(kind) { tempo async throws in
            let second: Int64 = 1_000_000_000
            // Steps of one second from t0: A's spans in step 0, B's in step 1.
            let request = SpanMetricsRequest(condition: nil, start: Fixture.t0, end: Fixture.t0 + 2 * second, step: second,
                                             groupBy: [.resourceAttribute("service.name")], value: .duration, buckets: false)
            let rows = try await tempo.spanMetrics(request, maxRows: 100)
            #expect(rows.map(\.step) == [0, 1])
            #expect(rows.map(\.group) == [[SpanFieldValue(kind: .string, text: "shop")], [SpanFieldValue(kind: .string, text: "auth")]])
            #expect(rows.map(\.count) == [2, 1])
            #expect(rows[0].sum == Double(300 * Fixture.ms) && rows[0].min == Double(100 * Fixture.ms) && rows[0].max == Double(200 * Fixture.ms))
            #expect(rows[0].exemplarTraceID == Fixture.traceA && rows[0].exemplarUnixNano == Fixture.t0 + 10 * Fixture.ms)
            #expect(rows[1].exemplarTraceID == Fixture.traceB)

            // Power-of-two buckets: 50 ms, 100 ms and 200 ms fall in 2^26, 2^27 and 2^28 ns.
            let buckets = try await tempo.spanMetrics(
                SpanMetricsRequest(condition: nil, start: Fixture.t0, end: Fixture.t0 + 2 * second, step: 2 * second, groupBy: [],
                                   value: .duration, buckets: true), maxRows: 100)
            let bounds: [Double?] = [67_108_864, 134_217_728, 268_435_456]
            #expect(buckets.map(\.bucket) == bounds)
            #expect(buckets.map(\.count) == [1, 1, 1])

            // A condition, a numeric attribute and a cap.
            let retries = try await tempo.spanMetrics(
                SpanMetricsRequest(condition: .compare(.spanKind, .equal, .code(3)), start: Fixture.t0, end: Fixture.t0 + second, step: second,
                                   groupBy: [.spanKind], value: .spanAttribute("retries"), buckets: false), maxRows: 100)
            #expect(retries.count == 1 && retries.first?.sum == 3 && retries.first?.valued == 1)
            #expect(retries.first?.group == [SpanFieldValue(kind: .int, text: "3")])
            #expect(try await tempo.spanMetrics(request, maxRows: 1).count == 2)
        }
    }
}
