@testable import GrafanaAPI
import Store
import Testing

/// A structural search reads a bounded number of candidate traces: when the bound cuts the
/// candidates short before `limit` traces matched, the answer is 422, never fewer traces.
@Suite struct SpansetSearchBoundTests {
    /// Six candidate traces (`t1` newest), each one server root and, for the traces in
    /// `structured`, a client child.
    struct CannedTempoQueries: TempoQueries {
        var structured: Set<String>
        static let ids = (1...6).map { "t\($0)" }

        func candidateTraces(_ candidates: TraceCandidates, limit: Int) async throws(StoreError) -> [String] { Array(Self.ids.prefix(limit)) }

        func spanTable(traceIDs: [String], _ request: SpanTableRequest, maxSpans: Int) async throws(StoreError) -> [SpanTableRow] {
            func row(_ trace: String, _ id: String, parent: String?, kind: Int64) -> SpanTableRow {
                let matches = request.conditions.map { $0 == .compare(.spanKind, .equal, .code(Int32(kind))) }
                return SpanTableRow(traceID: trace, spanID: id, parentSpanID: parent, name: id, serviceName: "s", startTimeUnixNano: 1,
                                    endTimeUnixNano: 2, statusCode: 0, kind: kind, rootSpanName: "root", rootServiceName: "s",
                                    traceStartUnixNano: 1, traceEndUnixNano: 2, matches: matches, values: request.fields.map { _ in nil })
            }
            return traceIDs.flatMap { trace in
                [row(trace, trace + "-root", parent: nil, kind: 2)] + (structured.contains(trace) ? [row(trace, trace + "-child", parent: trace + "-root", kind: 3)] : [])
            }
        }

        func search(_ search: TraceSearch) async throws(StoreError) -> [FoundTrace] { [] }
        func attributeNames(_ scope: SpanAttributeScope, in sample: SpanSample, limit: Int) async throws(StoreError) -> [String] { [] }
        func values(of field: SpanField, where condition: SpanCondition?, in sample: SpanSample, limit: Int) async throws(StoreError) -> [SpanFieldValue] { [] }
        func spans(ofTrace traceID: String) async throws(StoreError) -> [StoredSpan] { [] }
        func spanMetrics(_ request: SpanMetricsRequest, maxRows: Int) async throws(StoreError) -> [SpanMetricsRow] { [] }
    }

    static let query = try! TraceQLQuery.parse("{ kind = server } > { kind = client }")

    func search(structured: Set<String>, limit: Int) async throws(GrafanaFailure) -> [String] {
        let api = TempoAPI(tempo: CannedTempoQueries(structured: structured), logger: quietLogger, candidateLimit: 5)
        return try await api.spansetSearch(Self.query, start: nil, end: nil, minDuration: nil, maxDuration: nil, limit: limit)
            .map { $0.trace.spans[0].traceID }
    }

    @Test func enoughMatchesWithinTheBoundAreAnAnswer() async throws {
        #expect(try await search(structured: ["t2", "t4"], limit: 2) == ["t2", "t4"])
        #expect(try await search(structured: ["t1", "t2", "t3"], limit: 1) == ["t1"])
    }

    @Test func tooFewMatchesWhenTheBoundCutsTheCandidatesIsA422() async {
        // The sixth candidate, past the bound of five, may match: the answer would be incomplete.
        for structured: Set<String> in [[], ["t6"], ["t3"]] {
            do {
                let found = try await search(structured: structured, limit: 2)
                Issue.record("answered \(found) for \(structured)")
            } catch {
                #expect(error.status == .unprocessableContent)
                #expect(error.message.contains("more than 5 traces could match"))
            }
        }
    }

    @Test func metricsOverStructureReadTheSameBoundedCandidates() async throws {
        let query = try TraceQLQuery.parse("{ kind = server } > { kind = client } | count_over_time()")
        let evaluation = TraceQLMetricsEvaluation(try #require(query.metrics), start: 0, end: 10, step: 10)
        // Six candidates, a bound of five: every candidate counts, so the answer is 422.
        for compare in [false, true] {
            do {
                let api = TempoAPI(tempo: CannedTempoQueries(structured: ["t1"]), logger: quietLogger, candidateLimit: 5)
                if compare {
                    _ = try await api.comparisonSeries(query, evaluation, filter: nil, topN: 10, start: nil, end: nil)
                } else {
                    _ = try await api.spansetMetricRows(query, evaluation)
                }
                Issue.record("answered within a bound of five")
            } catch {
                #expect(error.status == .unprocessableContent && error.message.contains("more than 5 traces could match"))
            }
        }
        let api = TempoAPI(tempo: CannedTempoQueries(structured: ["t1", "t3"]), logger: quietLogger, candidateLimit: 6)
        let rows = try await api.spansetMetricRows(query, evaluation)
        #expect(rows.map(\.count) == [2] && rows.first?.exemplarTraceID == "t3")
    }
}
