import Foundation
import Store
import StoreTestSupport
import Testing

/// `SpanMetricsSource` on both databases: the start-up totals of spans per label set and
/// duration bucket, and of LLM calls per model, in their order.
@Suite struct SpanMetricsSourceContractTests {
    static let start: Int64 = 1_800_000_000_000_000_000

    static func spanRow(_ service: String, _ name: String, kind: Int32, status: Int32, durationNanos: Int64) -> (SpanRow, TraceRow) {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        var (row, trace) = span(id, String(id.prefix(16)), start: start, end: start + durationNanos, error: status == 2, name: name)
        row.serviceName = service
        row.kind = kind
        row.statusCode = status
        return (row, trace)
    }

    @Test("spans per label set and bucket, busiest first; LLM calls per model", arguments: StoreKind.available)
    func totals(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let source = store.queries.spanMetrics
            #expect(try await source.spanTotals(bucketBoundsNanos: [1]) == [])
            #expect(try await source.llmTotals() == [])

            let ms: Int64 = 1_000_000
            var spans = [1, 3, 7, 20].map { Self.spanRow("a", "x", kind: 2, status: 0, durationNanos: $0 * ms) }
            spans.append(Self.spanRow("a", "x", kind: 2, status: 2, durationNanos: 4 * ms))
            // Exactly on a bound: in that bucket.
            spans += [5, 5].map { Self.spanRow("b", "y", kind: 3, status: 0, durationNanos: $0 * ms) }
            let calls = [
                LLMCallRow(traceID: spans[0].0.traceID, spanID: spans[0].0.spanID, timestampUnixNano: Self.start, model: "gpt-x", provider: "openai",
                           promptTokens: 10, completionTokens: 5, totalTokens: 15, elapsedMs: 1, firstTokenMs: nil, userEmail: nil,
                           department: nil, costUSD: 0.5, success: true, errorMessage: nil),
                LLMCallRow(traceID: spans[1].0.traceID, spanID: spans[1].0.spanID, timestampUnixNano: Self.start, model: "gpt-x", provider: "openai",
                           promptTokens: 20, completionTokens: 7, totalTokens: 27, elapsedMs: 3, firstTokenMs: nil, userEmail: nil,
                           department: nil, costUSD: 0.25, success: true, errorMessage: nil),
                LLMCallRow(traceID: spans[5].0.traceID, spanID: spans[5].0.spanID, timestampUnixNano: Self.start, model: "claude", provider: "anthropic",
                           promptTokens: nil, completionTokens: nil, totalTokens: nil, elapsedMs: 5, firstTokenMs: nil, userEmail: nil,
                           department: nil, costUSD: 0, success: false, errorMessage: "boom"),
            ]
            try await store.write(WriteBatch(traces: spans.map(\.1), spans: spans.map(\.0), llmCalls: calls))

            #expect(try await source.spanTotals(bucketBoundsNanos: [2 * ms, 5 * ms, 10 * ms]) == [
                SpanTotalsRow(serviceName: "a", operationName: "x", spanKind: 2, statusCode: 0, bucket: 0, calls: 1, durationNanos: Double(1 * ms)),
                SpanTotalsRow(serviceName: "a", operationName: "x", spanKind: 2, statusCode: 0, bucket: 1, calls: 1, durationNanos: Double(3 * ms)),
                SpanTotalsRow(serviceName: "a", operationName: "x", spanKind: 2, statusCode: 0, bucket: 2, calls: 1, durationNanos: Double(7 * ms)),
                SpanTotalsRow(serviceName: "a", operationName: "x", spanKind: 2, statusCode: 0, bucket: 3, calls: 1, durationNanos: Double(20 * ms)),
                SpanTotalsRow(serviceName: "b", operationName: "y", spanKind: 3, statusCode: 0, bucket: 1, calls: 2, durationNanos: Double(10 * ms)),
                SpanTotalsRow(serviceName: "a", operationName: "x", spanKind: 2, statusCode: 2, bucket: 1, calls: 1, durationNanos: Double(4 * ms)),
            ])
            #expect(try await source.llmTotals() == [
                LLMTotalsRow(model: "gpt-x", provider: "openai", calls: 2, inputTokens: 30, outputTokens: 12, costUSD: 0.75),
                LLMTotalsRow(model: "claude", provider: "anthropic", calls: 1, inputTokens: 0, outputTokens: 0, costUSD: 0),
            ])
        }
    }
}
