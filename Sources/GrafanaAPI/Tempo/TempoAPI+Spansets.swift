import Foundation
import Hummingbird
import OTLP
import Store

// Searches with spanset operators or a pipeline: the store narrows the traces to candidates
// (each filter pushed into SQL as an EXISTS), reads every span of them with the filters'
// results, and the structure and pipeline run in `SpansetPlan`, newest trace first, a page of
// candidates at a time. At most `maxCandidateTraces` candidates (`candidateLimit`) and `maxCandidateSpans` spans per
// page: a search that needs more answers 422 rather than fewer traces than it should.

extension TempoAPI {
    public static let maxCandidateTraces = 5_000
    static let candidatePage = 200
    public static let maxCandidateSpans = 200_000

    struct SpansetSearchResult {
        var trace: SpansetPlan.Trace
        var sets: [SpansetPlan.FoundSpanset]
    }

    func spansetSearch(_ query: TraceQLQuery, start: Int64?, end: Int64?, minDuration: Int64?, maxDuration: Int64?,
                       limit: Int) async throws(GrafanaFailure) -> [SpansetSearchResult] {
        let plan = SpansetPlan(query)
        let candidates = TraceCandidates(start: start, end: end, minDuration: minDuration, maxDuration: maxDuration, required: plan.requirement)
        let ids = try await reading { try await tempo.candidateTraces(candidates, limit: candidateLimit + 1) }
        var found: [SpansetSearchResult] = []
        var offset = 0
        while offset < min(ids.count, candidateLimit), found.count < limit {
            let page = Array(ids[offset..<min(offset + Self.candidatePage, ids.count, candidateLimit)])
            offset += page.count
            let rows = try await reading { try await tempo.spanTable(traceIDs: page, plan.request, maxSpans: Self.maxCandidateSpans) }
            guard rows.count <= Self.maxCandidateSpans else {
                throw GrafanaFailure(.unprocessableContent, "q: the candidate traces hold more than \(Self.maxCandidateSpans) spans; narrow the time range or the filters")
            }
            var byTrace: [String: [SpanTableRow]] = [:]
            for row in rows { byTrace[row.traceID, default: []].append(row) }
            for id in page where found.count < limit {
                let trace = SpansetPlan.Trace(byTrace[id] ?? [])
                let sets = plan.evaluate(trace)
                if !sets.isEmpty { found.append(SpansetSearchResult(trace: trace, sets: sets)) }
            }
        }
        if found.count < limit, ids.count > candidateLimit {
            throw GrafanaFailure(.unprocessableContent, "q: more than \(candidateLimit) traces could match the spanset operators or pipeline; narrow the time range or the filters")
        }
        return found
    }

    /// A metrics query over spanset operators or a pipeline: every candidate trace starting in
    /// the range is read (at most `candidateLimit`, `maxCandidateSpans` spans per page of
    /// them: 422 beyond) and the spans its spansets hold are counted per step and group.
    func spansetMetricRows(_ query: TraceQLQuery, _ evaluation: TraceQLMetricsEvaluation) async throws(GrafanaFailure) -> [SpanMetricsRow] {
        let valueAttribute = evaluation.valueAttribute
        let plan = SpansetPlan(query, reading: evaluation.metrics.by + (valueAttribute.map { [$0] } ?? []))
        var counter = SpanMetricsCounter(evaluation)
        try await forEachFoundSpan(plan, evaluation, stored: false) { span, _ in
            let number = valueAttribute.flatMap { plan.value($0, span) }.flatMap { $0.kind == .int || $0.kind == .float ? Double($0.text) : nil }
            counter.add(start: span.startTimeUnixNano, traceID: span.traceID, group: evaluation.metrics.by.map { plan.value($0, span) }, value: number)
            return counter.count <= Self.maxMetricRows
        }
        return counter.rows
    }

    /// `compare()`: the query's spans, each with its stored attributes (read trace by trace),
    /// counted as the selection or the baseline.
    func comparisonSeries(_ query: TraceQLQuery, _ evaluation: TraceQLMetricsEvaluation, filter: TraceQLExpression?, topN: Int,
                          start: Int64?, end: Int64?) async throws(GrafanaFailure) -> [TraceQLMetricsEvaluation.Series] {
        let plan = SpansetPlan(query, marking: filter?.spanCondition ?? .constant(true))
        var comparison = TraceQLComparison(evaluation, topN: topN, start: start, end: end)
        try await forEachFoundSpan(plan, evaluation, stored: true) { span, stored in
            guard let stored else { return true }
            comparison.add(start: span.startTimeUnixNano, matches: plan.isMarked(span), attributes: TraceQLComparison.attributes(of: stored))
            return true
        }
        return comparison.series()
    }

    /// Every span the query's spansets hold in the candidate traces starting in the range (at
    /// most `candidateLimit` traces, `maxCandidateSpans` spans per page of them: 422 beyond),
    /// with its stored form when `stored` (read trace by trace, for `compare()`); `body`
    /// answers false to stop.
    private func forEachFoundSpan(_ plan: SpansetPlan, _ evaluation: TraceQLMetricsEvaluation, stored: Bool,
                                  _ body: (SpanTableRow, StoredSpan?) -> Bool) async throws(GrafanaFailure) {
        let candidates = TraceCandidates(start: evaluation.start, end: evaluation.end, required: plan.requirement)
        let ids = try await reading { try await tempo.candidateTraces(candidates, limit: candidateLimit + 1) }
        guard ids.count <= candidateLimit else {
            throw GrafanaFailure(.unprocessableContent, "q: more than \(candidateLimit) traces could match the spanset operators or pipeline; narrow the time range or the filters")
        }
        var offset = 0
        while offset < ids.count {
            let page = Array(ids[offset..<min(offset + Self.candidatePage, ids.count)])
            offset += page.count
            let rows = try await reading { try await tempo.spanTable(traceIDs: page, plan.request, maxSpans: Self.maxCandidateSpans) }
            guard rows.count <= Self.maxCandidateSpans else {
                throw GrafanaFailure(.unprocessableContent, "q: the candidate traces hold more than \(Self.maxCandidateSpans) spans; narrow the time range or the filters")
            }
            var byTrace: [String: [SpanTableRow]] = [:]
            for row in rows { byTrace[row.traceID, default: []].append(row) }
            for id in page {
                let trace = SpansetPlan.Trace(byTrace[id] ?? [])
                let found = Set(plan.evaluate(trace).flatMap(\.spans)).sorted()
                guard !found.isEmpty else { continue }
                var storedSpans: [String: StoredSpan] = [:]
                if stored {
                    for span in try await reading({ try await tempo.spans(ofTrace: id) }) { storedSpans[span.spanID] = span }
                }
                for index in found {
                    let span = trace.spans[index]
                    guard body(span, storedSpans[span.spanID]) else { return }
                }
            }
        }
    }

    static func writeSpansetTrace(_ result: SpansetSearchResult, spss: Int, plan: SpansetPlan, _ body: inout JSONWriter) {
        let first = result.trace.spans.first
        let start = first?.traceStartUnixNano ?? first?.startTimeUnixNano ?? 0
        let end = first?.traceEndUnixNano ?? start
        body.beginObject()
        body.key("traceID"); body.string(first?.traceID ?? "")
        body.key("rootServiceName"); body.string(first?.rootServiceName ?? "<root span not yet received>")
        body.key("rootTraceName"); body.string(first?.rootSpanName ?? "")
        body.key("startTimeUnixNano"); body.string(String(start))
        body.key("durationMs"); body.int(max(0, (end - start) / 1_000_000))
        body.key("spanSet"); writeFoundSpanset(result.sets[0], result.trace, spss: spss, plan: plan, &body)
        body.key("spanSets")
        body.beginArray()
        for set in result.sets { writeFoundSpanset(set, result.trace, spss: spss, plan: plan, &body) }
        body.endArray()
        body.endObject()
    }

    static func writeFoundSpanset(_ set: SpansetPlan.FoundSpanset, _ trace: SpansetPlan.Trace, spss: Int, plan: SpansetPlan, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("spans")
        body.beginArray()
        for index in set.spans.prefix(spss) {
            let span = trace.spans[index]
            body.beginObject()
            body.key("spanID"); body.string(span.spanID)
            body.key("name"); body.string(span.name)
            body.key("startTimeUnixNano"); body.string(String(span.startTimeUnixNano))
            body.key("durationNanos"); body.string(String(max(0, span.endTimeUnixNano - span.startTimeUnixNano)))
            body.key("attributes")
            body.beginArray()
            writeAttribute("service.name", SpanFieldValue(kind: .string, text: span.serviceName ?? ""), &body)
            if span.statusCode == 2, !set.selected.contains(.status) { writeAttribute("status", SpanFieldValue(kind: .string, text: "error"), &body) }
            for attribute in set.selected {
                if let value = plan.value(attribute, span) { writeAttribute(attribute.text, value, &body) }
            }
            body.endArray()
            body.endObject()
        }
        body.endArray()
        body.key("matched"); body.int(Int64(set.spans.count))
        if !set.attributes.isEmpty {
            body.key("attributes")
            body.beginArray()
            for attribute in set.attributes { writeAttribute(attribute.key, attribute.value, &body) }
            body.endArray()
        }
        body.endObject()
    }

    /// An OTLP/JSON `KeyValue` as Tempo writes it (`intValue` as a string).
    static func writeAttribute(_ key: String, _ value: SpanFieldValue, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("key"); body.string(key)
        body.key("value")
        body.beginObject()
        switch value.kind {
        case .string: body.key("stringValue"); body.string(value.text)
        case .int: body.key("intValue"); body.string(value.text)
        case .float: body.key("doubleValue"); body.double(Double(value.text) ?? 0)
        case .bool: body.key("boolValue"); body.bool(value.text == "true")
        }
        body.endObject()
        body.endObject()
    }
}
