import Foundation
import Store

/// The stages of a LogQL pipeline that run in Sightline, on lines the store has already
/// narrowed (docs/grafana.md, "LogQL features"): parsers that extract labels, typed label
/// filters, `line_format`, `label_format`, `drop`/`keep`, and line filters after them.
public enum PipelineStage: Sendable, Equatable {
    case lineFilter(LineFilter)
    /// `| json` (every field, nested keys joined with `_`) or `| json name="a.b[0]", …`.
    case json([ExtractionParameter])
    /// `| logfmt` (every key) or `| logfmt name="key", …`; `--strict` fails a malformed line,
    /// `--keep-empty` keeps keys without a value.
    case logfmt([ExtractionParameter], strict: Bool, keepEmpty: Bool)
    /// `| regexp "(?P<name>…)"`: each named group a label.
    case regexp(String)
    /// `| pattern "<ip> - <_> <status>"`.
    case pattern(LinePattern)
    case labelFilter(LabelFilterExpression)
    case lineFormat(LogTemplate)
    case labelFormat([LabelFormatting])
    /// `| drop a, b="x"`: removes the labels (those with the value only, when given).
    case drop([LabelMatcher])
    /// `| keep a, b="x"`: keeps only these labels.
    case keep([LabelMatcher])
    case decolorize
    /// `| unpack`: the string fields of a JSON line packed by Promtail's `pack` stage become
    /// labels and its `_entry` the line; a line without `_entry` is left as it is.
    case unpack

    /// Whether the stage extracts labels from the line.
    var isParser: Bool {
        switch self {
        case .json, .logfmt, .regexp, .pattern, .unpack: return true
        default: return false
        }
    }
}

/// `name="expression"` of `json` (a path `a.b`, `a["b"]`, `a[0]`) or `logfmt` (a key).
public struct ExtractionParameter: Sendable, Equatable {
    public var label: String
    public var expression: String

    public init(_ label: String, _ expression: String) {
        self.label = label
        self.expression = expression
    }
}

/// `dst="template"` or `dst=src` (a rename) of `label_format`.
public enum LabelFormatting: Sendable, Equatable {
    case template(String, LogTemplate)
    case rename(String, from: String)
}

/// Comparison of a typed label filter.
public enum ComparisonOperator: String, Sendable, Equatable, CaseIterable {
    case equal = "==", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="

    public func holds(_ left: Double, _ right: Double) -> Bool {
        switch self {
        case .equal: return left == right
        case .notEqual: return left != right
        case .greater: return left > right
        case .greaterOrEqual: return left >= right
        case .less: return left < right
        case .lessOrEqual: return left <= right
        }
    }
}

/// A label filter of a pipeline: string matchers, numbers, durations and byte sizes, joined
/// with `and` (also `,` or a space) and `or`, with parentheses.
public indirect enum LabelFilterExpression: Sendable, Equatable {
    case string(LabelMatcher)
    case number(String, ComparisonOperator, Double)
    /// A duration in nanoseconds; the label is read as a Go duration (`250ms`).
    case duration(String, ComparisonOperator, Int64)
    /// A size in bytes; the label is read as a size (`10KB`, `42`).
    case bytes(String, ComparisonOperator, Double)
    case and(LabelFilterExpression, LabelFilterExpression)
    case or(LabelFilterExpression, LabelFilterExpression)

    /// Loki's rules: a label the line lacks counts as "" for string matchers and fails a typed
    /// filter; a value that is not of the filter's type keeps the line and marks it with
    /// `__error__="LabelFilterErr"`; typed filters pass lines already marked with an error.
    func evaluate(_ labels: inout [String: String]) -> Bool {
        switch self {
        case .string(let matcher):
            return matcher.matches(labels[matcher.name] ?? "")
        case .and(let left, let right):
            return left.evaluate(&labels) && right.evaluate(&labels)
        case .or(let left, let right):
            return left.evaluate(&labels) || right.evaluate(&labels)
        case .number(let name, let op, let wanted):
            return typed(name, &labels) { Double($0.trimmingCharacters(in: .whitespaces)).map { op.holds($0, wanted) } }
        case .duration(let name, let op, let wanted):
            return typed(name, &labels) { GoDuration.parse($0.trimmingCharacters(in: .whitespaces)).map { op.holds(Double($0), Double(wanted)) } }
        case .bytes(let name, let op, let wanted):
            return typed(name, &labels) { ByteSize.parse($0).map { op.holds($0, wanted) } }
        }
    }

    private func typed(_ name: String, _ labels: inout [String: String], _ compare: (String) -> Bool?) -> Bool {
        if labels[PipelineEntry.errorLabel] != nil { return true }
        guard let value = labels[name] else { return false }
        guard let result = compare(value) else {
            labels[PipelineEntry.errorLabel] = "LabelFilterErr"
            labels[PipelineEntry.errorDetailsLabel] = "cannot read \(name)=\"\(value.prefix(64))\" as a \(typeName)"
            return true
        }
        return result
    }

    private var typeName: String {
        switch self {
        case .duration: return "duration"
        case .bytes: return "byte size"
        default: return "number"
        }
    }

    /// The string matchers when the expression is only those joined by one kind of joiner
    /// (what the store can evaluate on stream labels): `(matchers, isOr)`.
    var flattenedMatchers: (matchers: [LabelMatcher], isOr: Bool)? {
        switch self {
        case .string(let matcher): return ([matcher], false)
        case .and(let left, let right), .or(let left, let right):
            let isOr: Bool
            if case .or = self { isOr = true } else { isOr = false }
            guard let l = left.flattenedMatchers, let r = right.flattenedMatchers,
                  l.matchers.count == 1 || l.isOr == isOr, r.matchers.count == 1 || r.isOr == isOr else { return nil }
            return (l.matchers + r.matchers, isOr)
        default: return nil
        }
    }
}

/// A log line going through the pipeline: its text, time and labels (stream labels and those
/// extracted).
public struct PipelineEntry: Sendable, Equatable {
    static let errorLabel = "__error__"
    static let errorDetailsLabel = "__error_details__"

    public var nanos: Int64
    public var line: String
    public var labels: [String: String]

    public init(nanos: Int64, line: String, labels: [String: String]) {
        self.nanos = nanos
        self.line = line
        self.labels = labels
    }

    /// A line the store returned, with `detected_level` beside `level` as the store's
    /// selection has it.
    public init(_ line: LokiLine) {
        var labels = line.labels
        if labels["detected_level"] == nil, let level = labels["level"] { labels["detected_level"] = level }
        self.init(nanos: line.nanos, line: line.text, labels: labels)
    }

    /// The line to answer with: `detected_level` only if the pipeline changed it.
    func answer(from line: LokiLine) -> LokiLine {
        var labels = self.labels
        if line.labels["detected_level"] == nil, labels["detected_level"] == line.labels["level"] { labels["detected_level"] = nil }
        return LokiLine(nanos: nanos, text: self.line, labels: labels)
    }
}

extension Array where Element == PipelineStage {
    /// Runs the stages over one line: nil when a filter drops it. Extracted labels that share a
    /// name with a stream label (`streamLabels`) get the suffix `_extracted`, as in Loki.
    public func run(_ entry: PipelineEntry, streamLabels: Set<String>) -> PipelineEntry? {
        var entry = entry
        for stage in self {
            switch stage {
            case .lineFilter(let filter):
                guard filter.matches(entry.line) else { return nil }
            case .labelFilter(let expression):
                guard expression.evaluate(&entry.labels) else { return nil }
            case .json(let parameters):
                LogParsers.json(entry.line, parameters, into: &entry.labels, streamLabels: streamLabels)
            case .logfmt(let parameters, let strict, let keepEmpty):
                LogParsers.logfmt(entry.line, parameters, strict: strict, keepEmpty: keepEmpty, into: &entry.labels, streamLabels: streamLabels)
            case .regexp(let pattern):
                LogParsers.regexp(entry.line, pattern, into: &entry.labels, streamLabels: streamLabels)
            case .pattern(let pattern):
                pattern.extract(entry.line, into: &entry.labels, streamLabels: streamLabels)
            case .lineFormat(let template):
                entry.line = template.render(entry)
            case .labelFormat(let formattings):
                var updated = entry.labels
                for formatting in formattings {
                    switch formatting {
                    case .template(let name, let template): updated[name] = template.render(entry)
                    case .rename(let name, let source):
                        updated[name] = entry.labels[source] ?? ""
                        if source != name { updated[source] = nil }
                    }
                }
                entry.labels = updated
            case .drop(let matchers):
                for matcher in matchers where entry.labels[matcher.name] != nil {
                    if matcher.value.isEmpty && matcher.op == .equal || matcher.matches(entry.labels[matcher.name] ?? "") {
                        entry.labels[matcher.name] = nil
                    }
                }
            case .keep(let matchers):
                entry.labels = entry.labels.filter { label in
                    matchers.contains { $0.name == label.key && ($0.value.isEmpty && $0.op == .equal || $0.matches(label.value)) }
                }
            case .decolorize:
                entry.line = LogParsers.decolorize(entry.line)
            case .unpack:
                entry.line = LogParsers.unpack(entry.line, into: &entry.labels, streamLabels: streamLabels)
            }
        }
        return entry
    }
}
