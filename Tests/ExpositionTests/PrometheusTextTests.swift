import Exposition
import Foundation
import Ingest
import OTLP
import Store
import Testing

@Suite struct PrometheusTextTests {
    @Test func numbers() {
        #expect(PrometheusTextWriter.number(3) == "3")
        #expect(PrometheusTextWriter.number(0.25) == "0.25")
        #expect(PrometheusTextWriter.number(.infinity) == "+Inf")
        #expect(PrometheusTextWriter.number(-.infinity) == "-Inf")
        #expect(PrometheusTextWriter.number(.nan) == "NaN")
    }

    @Test func escaping() {
        #expect(PrometheusTextWriter.escapeLabelValue(#"a"b\c"# + "\nd") == #"a\"b\\c\nd"#)
        #expect(PrometheusTextWriter.escapeLabelValue("plain ünïcode") == "plain ünïcode")
        #expect(PrometheusTextWriter.escapeHelp(#"say "hi"\"# + "\n") == #"say "hi"\\\n"#)
    }

    @Test func bucketBoundariesAreInclusive() {
        let spans = SpanMetrics(maxSeries: 10)
        let durations: [Int64] = [0, 2_000_000, 2_000_001, 15_000_000_000, 15_000_000_001, -5]
        spans.record(durations.map { span(service: "s", name: "n", kind: 2, status: 0, durationNs: $0) })
        let series = spans.snapshot.series.values.first
        // le=2 holds 0, 2 ms and the negative duration; le=4 the next; le=15000 exactly 15 s; +Inf the rest.
        #expect(series?.bucketCounts == [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
        #expect(series?.calls == 6)
    }

    @Test func priceTable() throws {
        let table = try LLMPriceTable.parse("gpt-4o=2.5/10, gpt-4o-mini = 0.15/0.6\n# comment\n*=1/2")
        #expect(table.price(of: "gpt-4o-2024-08-06") == .init(inputPerMillion: 2.5, outputPerMillion: 10))
        #expect(table.price(of: "gpt-4o-mini-2024") == .init(inputPerMillion: 0.15, outputPerMillion: 0.6))
        #expect(table.price(of: "claude-3-sonnet") == .init(inputPerMillion: 3, outputPerMillion: 15))  // a default kept
        #expect(table.price(of: "mystery") == .init(inputPerMillion: 1, outputPerMillion: 2))
        #expect(abs(table.cost(model: "gpt-4o", inputTokens: 1200, outputTokens: 350) - 0.0065) < 1e-15)
        #expect(LLMPriceTable.default.cost(model: "unknown-model", inputTokens: 1_000_000, outputTokens: 0) == 5)
        #expect(throws: LLMPriceTableError.self) { try LLMPriceTable.parse("gpt-4o=2.5") }
        #expect(throws: LLMPriceTableError.self) { try LLMPriceTable.parse("gpt-4o=-1/2") }
        #expect(throws: LLMPriceTableError.self) { try LLMPriceTable.parse("=1/2") }
    }

    /// The Python SDK capture's `llm_generate` span becomes one `llm_call_metrics` row.
    @Test func genAISpanMapping() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/python-sdk/python-json-traces.json").standardized
        let decoded = try OTLPJSONDecoder().decodeTraces(from: Data(contentsOf: url))
        let batch = decoded.request.writeBatch(prices: try LLMPriceTable.parse("gpt-4o=2.5/10"))
        try #require(batch.llmCalls.count == 1)
        let call = batch.llmCalls[0]
        #expect(call.model == "gpt-4o-2024-08-06")
        #expect(call.provider == "openai")
        #expect(call.promptTokens == 1200 && call.completionTokens == 350 && call.totalTokens == 1550)
        #expect(call.traceID == "972a1b8b1aed1d623d5636c5bf0275d1" && call.spanID == "1479cf8ee48ab261")
        #expect(abs(call.costUSD - 0.0065) < 1e-15)
        #expect(abs(call.elapsedMs - 0.068976) < 1e-12)
        #expect(call.firstTokenMs == nil && call.success)
    }

    @Test func llmOverflow() {
        let llm = LLMMetrics(maxSeries: 1)
        llm.add(.init(model: "a", provider: "p"), .init(calls: 1, inputTokens: 1, outputTokens: 2, costUSD: 0.5))
        llm.add(.init(model: "b", provider: "p"), .init(calls: 2, inputTokens: 3, outputTokens: 4, costUSD: 0.25))
        #expect(llm.snapshot.totals.count == 1)
        #expect(llm.snapshot.overflow == .init(calls: 2, inputTokens: 3, outputTokens: 4, costUSD: 0.25))
    }
}
