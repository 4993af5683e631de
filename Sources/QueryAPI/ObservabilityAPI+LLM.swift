import Foundation
import Hummingbird
import OTLP
import Store

// GET /llm/usage (docs/api.md): LLM calls' tokens and cost per model and per day.

extension ObservabilityAPI {
    /// `GET /llm/usage?days=`: the calls of the last `days` UTC days (1–90, default 7, today
    /// included), totalled per model (most expensive first) and per day and model.
    func llmUsage(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let days = try parameters.int("days", default: 7, in: 1...90)
        let now = Int64(Date.now.timeIntervalSince1970 * 1e9)
        let steps = TimeSteps.covering(seconds: Int64(days) * 86_400, endingAt: now, stepSeconds: 86_400)
        let usage = try await run { () async throws(StoreError) in try await traces.llmUsage(steps: steps) }
        struct Model: Hashable { var provider: String; var model: String }
        var totals: [Model: LLMUsageRecord] = [:]
        for record in usage {
            let key = Model(provider: record.provider, model: record.model)
            var total = totals[key] ?? LLMUsageRecord(step: 0, provider: record.provider, model: record.model, calls: 0, failed: 0,
                                                      promptTokens: 0, completionTokens: 0, totalTokens: 0, costUSD: 0)
            total.calls += record.calls
            total.failed += record.failed
            total.promptTokens += record.promptTokens
            total.completionTokens += record.completionTokens
            total.totalTokens += record.totalTokens
            total.costUSD += record.costUSD
            totals[key] = total
        }
        let models = totals.values.sorted { ($1.costUSD, $0.provider, $0.model) < ($0.costUSD, $1.provider, $1.model) }
        func write(_ record: LLMUsageRecord, into body: inout JSONWriter) {
            body.key("provider"); body.string(record.provider)
            body.key("model"); body.string(record.model)
            body.key("calls"); body.int(record.calls)
            body.key("failed"); body.int(record.failed)
            body.key("prompt_tokens"); body.int(record.promptTokens)
            body.key("completion_tokens"); body.int(record.completionTokens)
            body.key("total_tokens"); body.int(record.totalTokens)
            body.key("cost_usd"); body.double(Self.rounded(record.costUSD, places: 6))
        }
        return .jsonObject { body in
            body.key("days"); body.int(Int64(days))
            body.key("start"); body.string(Timestamp.iso8601(unixNano: steps.startUnixNano))
            body.key("end"); body.string(Timestamp.iso8601(unixNano: steps.endUnixNano))
            body.key("total_cost_usd"); body.double(Self.rounded(usage.reduce(0) { $0 + $1.costUSD }, places: 6))
            body.key("models")
            body.beginArray()
            for model in models {
                body.beginObject()
                write(model, into: &body)
                body.endObject()
            }
            body.endArray()
            body.key("daily")
            body.beginArray()
            for record in usage {
                body.beginObject()
                body.key("day"); body.string(String(Timestamp.iso8601(unixNano: steps.start(of: record.step)).prefix(10)))
                write(record, into: &body)
                body.endObject()
            }
            body.endArray()
        }
    }
}
