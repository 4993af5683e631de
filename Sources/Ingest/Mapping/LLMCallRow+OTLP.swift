import Foundation
import OTLP
import Store

/// USD per million input and output tokens, per model: what an LLM call costs (docs/metrics.md).
///
/// Written as `MODEL=INPUT/OUTPUT` entries separated by commas or new lines, `#` starting a
/// comment, e.g. `gpt-4o=2.50/10, claude-3-sonnet=3/15, *=5/15`; `*` is the price of models
/// not listed. A model matches its own entry, else the longest entry it starts with
/// (`gpt-4o-2024-08-06` is priced as `gpt-4o`), else `*`. Entries given replace the
/// defaults of the same name; the other defaults stay.
public struct LLMPriceTable: Sendable, Equatable {
    public struct Price: Sendable, Equatable {
        public var inputPerMillion: Double
        public var outputPerMillion: Double

        public init(inputPerMillion: Double, outputPerMillion: Double) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
        }
    }

    public var prices: [String: Price]
    public var fallback: Price

    public init(prices: [String: Price], fallback: Price) {
        self.prices = prices
        self.fallback = fallback
    }

    /// The original price table (three models at 3/15 USD) and its fallback of 5/15.
    public static let `default` = LLMPriceTable(
        prices: [
            "grok-4-1-fast-reasoning": Price(inputPerMillion: 3, outputPerMillion: 15),
            "grok-4-1": Price(inputPerMillion: 3, outputPerMillion: 15),
            "claude-3-sonnet": Price(inputPerMillion: 3, outputPerMillion: 15),
        ],
        fallback: Price(inputPerMillion: 5, outputPerMillion: 15))

    /// The price of `model`.
    public func price(of model: String) -> Price {
        if let exact = prices[model] { return exact }
        var best: (length: Int, price: Price)?
        for (name, price) in prices where model.hasPrefix(name) && name.count > (best?.length ?? 0) {
            best = (name.count, price)
        }
        return best?.price ?? fallback
    }

    /// USD for one call.
    public func cost(model: String, inputTokens: Int64, outputTokens: Int64) -> Double {
        let price = price(of: model)
        return (Double(inputTokens) * price.inputPerMillion + Double(outputTokens) * price.outputPerMillion) / 1_000_000
    }

    /// The defaults with `text`'s entries applied; the error names the first bad entry.
    public static func parse(_ text: String, over base: LLMPriceTable = .default) throws(LLMPriceTableError) -> LLMPriceTable {
        var table = base
        let entries = text.split(whereSeparator: { $0 == "," || $0 == "\n" })
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw LLMPriceTableError(entry: entry) }
            let numbers = parts[1].split(separator: "/").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 2, let input = numbers[0], let output = numbers[1],
                  input.isFinite, output.isFinite, input >= 0, output >= 0 else {
                throw LLMPriceTableError(entry: entry)
            }
            let price = Price(inputPerMillion: input, outputPerMillion: output)
            if parts[0] == "*" { table.fallback = price } else { table.prices[parts[0]] = price }
        }
        return table
    }
}

/// A price-table entry that is not `MODEL=INPUT/OUTPUT` with two non-negative numbers.
public struct LLMPriceTableError: Error, Sendable, CustomStringConvertible {
    public var entry: String
    public var description: String { "\"\(entry)\": expected MODEL=INPUT/OUTPUT (USD per million tokens, e.g. gpt-4o=2.5/10)" }
}

/// Where GenAI spans keep what `llm_call_metrics` needs (OpenTelemetry GenAI semantic
/// conventions, first present wins).
enum GenAIAttributes {
    static let model = ["gen_ai.response.model", "gen_ai.request.model"]
    static let provider = ["gen_ai.provider.name", "gen_ai.system"]
    static let inputTokens = ["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"]
    static let outputTokens = ["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"]
    /// Time to first token, in seconds (the GenAI metric `gen_ai.server.time_to_first_token`
    /// recorded on the span) or in milliseconds (`first_token_ms`, the original schema's name).
    static let firstTokenSeconds = ["gen_ai.server.time_to_first_token", "gen_ai.response.time_to_first_chunk"]
    static let firstTokenMilliseconds = ["first_token_ms", "gen_ai.response.first_token_ms"]

    /// Whether the span describes an LLM call: it names a model or reports token usage.
    static func isLLMCall(_ attributes: [KeyValue]) -> Bool {
        AttributeSources.first(model + inputTokens + outputTokens, in: attributes) != nil
    }

    static func integer(_ keys: [String], in attributes: [KeyValue]) -> Int64? {
        for key in keys {
            switch attributes[key: key] {
            case .int(let value)?: return value
            case .double(let value)? where value.isFinite: return Int64(value)
            case .string(let text)?: if let value = Int64(text) { return value }
            default: continue
            }
        }
        return nil
    }

    static func number(_ keys: [String], in attributes: [KeyValue]) -> Double? {
        for key in keys {
            switch attributes[key: key] {
            case .int(let value)?: return Double(value)
            case .double(let value)? where value.isFinite: return value
            case .string(let text)?: if let value = Double(text), value.isFinite { return value }
            default: continue
            }
        }
        return nil
    }
}

extension ExportTraceServiceRequest {
    /// The rows this request writes, with one `llm_call_metrics` row per GenAI span, costed
    /// with `prices`.
    public func writeBatch(prices: LLMPriceTable) -> WriteBatch {
        var batch = writeBatch()
        var index = 0
        for resourceSpans in resourceSpans {
            for scopeSpans in resourceSpans.scopeSpans {
                for span in scopeSpans.spans {
                    defer { index += 1 }
                    guard GenAIAttributes.isLLMCall(span.attributes) else { continue }
                    batch.llmCalls.append(LLMCallRow(span: span, row: batch.spans[index], prices: prices))
                }
            }
        }
        return batch
    }
}

extension LLMCallRow {
    /// What a GenAI span tells about its LLM call (docs/architecture.md, "Where OTLP fields go").
    init(span: Span, row: SpanRow, prices: LLMPriceTable) {
        let attributes = span.attributes
        let model = AttributeSources.first(GenAIAttributes.model, in: attributes)?.value ?? "unknown"
        let input = GenAIAttributes.integer(GenAIAttributes.inputTokens, in: attributes)
        let output = GenAIAttributes.integer(GenAIAttributes.outputTokens, in: attributes)
        let total: Int64? = input == nil && output == nil ? nil : (input ?? 0) + (output ?? 0)
        let firstToken = GenAIAttributes.number(GenAIAttributes.firstTokenSeconds, in: attributes).map { $0 * 1000 }
            ?? GenAIAttributes.number(GenAIAttributes.firstTokenMilliseconds, in: attributes)
        self.init(
            traceID: row.traceID,
            spanID: row.spanID,
            timestampUnixNano: row.startTimeUnixNano,
            model: model,
            provider: AttributeSources.first(GenAIAttributes.provider, in: attributes)?.value ?? "unknown",
            promptTokens: input,
            completionTokens: output,
            totalTokens: total,
            elapsedMs: row.durationMs,
            firstTokenMs: firstToken,
            userEmail: AttributeSources.first(AttributeSources.user, in: attributes)?.value,
            department: AttributeSources.first(AttributeSources.department, in: attributes)?.value,
            costUSD: prices.cost(model: model, inputTokens: max(0, input ?? 0), outputTokens: max(0, output ?? 0)),
            success: span.status.code != .error,
            errorMessage: row.errorMessage
        )
    }
}
