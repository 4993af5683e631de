import Foundation
import Store

/// A LogQL query of the subset Sightline answers (docs/grafana.md, "LogQL features"): a log
/// query (`{service_name="shop"} |= "timeout" | json | status >= 500`) or a metric query over
/// one (`sum by (level) (count_over_time({service_name="shop"} [1m]))`, the unwrapped range
/// functions, aggregations, `topk`/`bottomk`/`sort`, `label_replace`, arithmetic, comparisons
/// and set operators with vector matching, `offset`).
///
/// Parsing is pure: the result says what to read; `LogQLQuery+Store` gives the store its part
/// (the selection), and the pipeline stages after it run in `LogPipeline`.
public enum LogQLQuery: Sendable, Equatable {
    case logs(LogSelector)
    case metric(MetricExpression)

    public static func parse(_ text: String) throws(QueryParseError) -> LogQLQuery {
        var parser = LogQLParser(cursor: TokenCursor(try QueryLexer.tokens(text)))
        return try parser.query()
    }

    /// Only a stream selector and its pipeline (`/series`, `/label/…/values`, `/index/stats`
    /// and `/tail` take these).
    public static func parseSelector(_ text: String) throws(QueryParseError) -> LogSelector {
        guard case .logs(let selector) = try parse(text) else {
            throw QueryParseError(column: 1, "expected a log stream selector, not a metric query")
        }
        return selector
    }
}

/// `name op "value"` in a stream selector or a label filter.
public struct LabelMatcher: Sendable, Equatable {
    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    public var name: String
    public var op: Operator
    public var value: String

    public init(_ name: String, _ op: Operator, _ value: String) {
        self.name = name
        self.op = op
        self.value = value
    }

    /// Whether a stream whose label is `labelValue` ("" when absent) is selected. Regular
    /// expressions are fully anchored.
    public func matches(_ labelValue: String) -> Bool {
        switch op {
        case .equal: return labelValue == value
        case .notEqual: return labelValue != value
        case .matches: return LogQLRegex.fullMatch(value, labelValue)
        case .notMatches: return !LogQLRegex.fullMatch(value, labelValue)
        }
    }
}

/// `|= "text"`, `!= "text"`, `|~ "regex"`, `!~ "regex"` on the log line (case-sensitive;
/// regular expressions match anywhere in the line, as in Loki).
public struct LineFilter: Sendable, Equatable {
    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case contains = "|=", notContains = "!=", matches = "|~", notMatches = "!~"
    }

    public var op: Operator
    public var value: String

    public init(_ op: Operator, _ value: String) {
        self.op = op
        self.value = value
    }

    public func matches(_ line: String) -> Bool {
        switch op {
        case .contains: return value.isEmpty || line.contains(value)
        case .notContains: return value.isEmpty ? true : !line.contains(value)
        case .matches: return LogQLRegex.search(value, line)
        case .notMatches: return !LogQLRegex.search(value, line)
        }
    }

    /// As the store matches a record: a needle that is a whole trace id (32 hex digits) or span
    /// id (16) also finds the record of that trace or span (`LokiLineMatch`).
    public func matches(_ line: String, traceID: String?, spanID: String?) -> Bool {
        let id = value.allSatisfy(\.isHexDigit) ? (value.count == 32 ? traceID : value.count == 16 ? spanID : nil) : nil
        let isID = id.map { !$0.isEmpty && $0 == value.lowercased() } ?? false
        switch op {
        case .contains: return isID || matches(line)
        case .notContains: return !isID && matches(line)
        case .matches, .notMatches: return matches(line)
        }
    }
}

/// Filters of which at least one must hold: LogQL's `a="x" or b="y"` between label filters. A
/// label made from the line by `label_format` (`x=`{{ contains "v" __line__ }}``, which
/// Grafana's trace-to-logs query sends) is compared as the line filter it stands for.
public struct FilterAlternatives: Sendable, Equatable {
    public var labels: [LabelMatcher]
    public var lines: [LineFilter]

    public init(labels: [LabelMatcher] = [], lines: [LineFilter] = []) {
        self.labels = labels
        self.lines = lines
    }
}

/// A stream selector with its pipeline. The part the store evaluates comes first: line
/// filters, label filters on stream labels (joined with `and`, or `or` as `alternatives`), and
/// `label_format` labels that say whether the line contains a text. From the first stage the
/// store cannot evaluate (a parser, `line_format`, a typed label filter, …) the rest of the
/// pipeline is `stages`, which run in Sightline on the lines the store returns.
public struct LogSelector: Sendable, Equatable {
    public var matchers: [LabelMatcher]
    public var lineFilters: [LineFilter]
    public var labelFilters: [LabelMatcher]
    /// Label filters joined with `or`: each group must have one that holds.
    public var alternatives: [FilterAlternatives]
    /// The stages run in Sightline, in order, after the store's selection.
    public var stages: [PipelineStage]

    public init(matchers: [LabelMatcher], lineFilters: [LineFilter] = [], labelFilters: [LabelMatcher] = [],
                alternatives: [FilterAlternatives] = [], stages: [PipelineStage] = []) {
        self.matchers = matchers
        self.lineFilters = lineFilters
        self.labelFilters = labelFilters
        self.alternatives = alternatives
        self.stages = stages
    }

    /// Every label condition the store evaluates, selector and pipeline.
    public var allMatchers: [LabelMatcher] { matchers + labelFilters }

    /// Whether some stage run in Sightline can drop a line (a filter), rather than only add
    /// labels or rewrite it.
    public var hasFilteringStages: Bool {
        stages.contains { stage in
            switch stage {
            case .lineFilter, .labelFilter: return true
            default: return false
            }
        }
    }
}

public enum RangeFunction: String, Sendable, Equatable, CaseIterable {
    case countOverTime = "count_over_time", rate, bytesOverTime = "bytes_over_time", bytesRate = "bytes_rate"
    case sumOverTime = "sum_over_time", avgOverTime = "avg_over_time", minOverTime = "min_over_time",
         maxOverTime = "max_over_time", stddevOverTime = "stddev_over_time", stdvarOverTime = "stdvar_over_time",
         quantileOverTime = "quantile_over_time", firstOverTime = "first_over_time", lastOverTime = "last_over_time",
         rateCounter = "rate_counter", absentOverTime = "absent_over_time"

    /// Functions of the values an `unwrap` reads (`rate` and `absent_over_time` take either).
    var needsUnwrap: Bool {
        switch self {
        case .countOverTime, .rate, .bytesOverTime, .bytesRate, .absentOverTime: return false
        default: return true
        }
    }
}

/// `| unwrap label`, `| unwrap duration(label)` (or `duration_seconds`, in seconds) or
/// `| unwrap bytes(label)`, with the label filters after it.
public struct Unwrap: Sendable, Equatable {
    public enum Conversion: String, Sendable, Equatable, CaseIterable {
        case number = "", duration, durationSeconds = "duration_seconds", bytes
    }

    public var label: String
    public var conversion: Conversion
    public var filters: [LabelFilterExpression]

    public init(_ label: String, _ conversion: Conversion = .number, filters: [LabelFilterExpression] = []) {
        self.label = label
        self.conversion = conversion
        self.filters = filters
    }

    /// The sample value of a label's text, or nil when it is not of the conversion's type.
    func value(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch conversion {
        case .number: return Double(trimmed)
        case .duration, .durationSeconds: return GoDuration.parse(trimmed).map { Double($0) / 1e9 }
        case .bytes: return ByteSize.parse(trimmed)
        }
    }
}

/// `function({…} | … [range] offset d)`, `quantile_over_time(φ, …)`, with the grouping Loki
/// allows on unwrapped functions (`… by (label)`).
public struct RangeAggregation: Sendable, Equatable {
    public var function: RangeFunction
    public var selector: LogSelector
    /// Nanoseconds.
    public var range: Int64
    /// Nanoseconds: the window ends this long before each instant.
    public var offset: Int64
    public var unwrap: Unwrap?
    /// φ of `quantile_over_time`.
    public var quantile: Double?
    public var grouping: Grouping?

    public init(_ function: RangeFunction, _ selector: LogSelector, range: Int64, offset: Int64 = 0, unwrap: Unwrap? = nil,
                quantile: Double? = nil, grouping: Grouping? = nil) {
        self.function = function
        self.selector = selector
        self.range = range
        self.offset = offset
        self.unwrap = unwrap
        self.quantile = quantile
        self.grouping = grouping
    }

    /// Whether the store can count it in buckets (no stage runs in Sightline, no values read).
    var countsInStore: Bool { selector.stages.isEmpty && unwrap == nil && !function.needsUnwrap }
}

public enum AggregationOperator: String, Sendable, Equatable, CaseIterable {
    case sum, count, min, max, avg, stddev, stdvar, group
}

/// `and`, `or`, `unless` between two vectors (PromQL's set operators, which LogQL shares).
public enum SetOperator: String, Sendable, Equatable, CaseIterable {
    case and, or, unless
}

/// How a binary operator pairs the series of its two sides (PromQL's vector matching, as
/// Loki applies it): on the labels named by `on(…)`, or on all labels but those of
/// `ignoring(…)` (all labels by default), one-to-one unless `group_left` (many on the left)
/// or `group_right`, which copy the `include` labels from the "one" side.
public struct VectorMatching: Sendable, Equatable {
    public enum Cardinality: Sendable, Equatable { case oneToOne, manyToOne, oneToMany }

    public var cardinality: Cardinality
    /// `on(…)` when true, `ignoring(…)` (or nothing) when false.
    public var on: Bool
    public var labels: [String]
    public var include: [String]

    public init(cardinality: Cardinality = .oneToOne, on: Bool = false, labels: [String] = [], include: [String] = []) {
        self.cardinality = cardinality
        self.on = on
        self.labels = labels
        self.include = include
    }

    /// Every label: series with identical label sets pair up.
    public static let identical = VectorMatching()

    /// The labels a series is matched by.
    func signature(_ labels: [String: String]) -> [String: String] {
        on ? labels.filter { self.labels.contains($0.key) } : labels.filter { !self.labels.contains($0.key) }
    }
}

public struct Grouping: Sendable, Equatable {
    public var without: Bool
    public var labels: [String]

    public init(without: Bool, labels: [String]) {
        self.without = without
        self.labels = labels
    }
}

public enum ArithmeticOperator: String, Sendable, Equatable, CaseIterable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%", power = "^"

    var precedence: Int {
        switch self {
        case .add, .subtract: return 1
        case .multiply, .divide, .modulo: return 2
        case .power: return 3
        }
    }

    func apply(_ left: Double, _ right: Double) -> Double {
        switch self {
        case .add: return left + right
        case .subtract: return left - right
        case .multiply: return left * right
        case .divide: return left / right
        case .modulo: return left.truncatingRemainder(dividingBy: right)
        case .power: return pow(left, right)
        }
    }
}

public indirect enum MetricExpression: Sendable, Equatable {
    /// A number: a scalar.
    case literal(Double)
    /// `vector(n)`: one series without labels.
    case vector(Double)
    /// `count_over_time({…} [range])` and the like.
    case range(RangeAggregation)
    case aggregation(AggregationOperator, Grouping?, MetricExpression)
    /// `topk(k, …)` (or `bottomk` when `bottom`): the k largest (smallest) series of each group
    /// at each instant.
    case rank(bottom: Bool, k: Int, Grouping?, MetricExpression)
    /// `sort`, `sort_desc`: the series of an instant query in order of value.
    case sort(descending: Bool, MetricExpression)
    case binary(ArithmeticOperator, MetricExpression, MetricExpression, matching: VectorMatching = .identical)
    /// `a > b`: the left values where the comparison holds; with `bool`, 1 or 0.
    case comparison(ComparisonOperator, bool: Bool, MetricExpression, MetricExpression, matching: VectorMatching = .identical)
    /// `a and b`, `a or b`, `a unless b`.
    case set(SetOperator, MetricExpression, MetricExpression, matching: VectorMatching = .identical)
    /// `quantile(φ, …)`: the φ-quantile of each group's values at each instant.
    case quantile(Double, Grouping?, MetricExpression)
    /// `count_values("label", …)`: per group, how many series have each value, the value in `label`.
    case countValues(String, Grouping?, MetricExpression)
    /// `label_replace(v, "dst", "replacement", "src", "regex")`.
    case labelReplace(MetricExpression, LabelReplacement)

    /// Whether the expression is a plain scalar (no series).
    var isScalar: Bool {
        switch self {
        case .literal: return true
        case .vector, .range, .aggregation, .rank, .sort, .set, .quantile, .countValues, .labelReplace: return false
        case .binary(_, let left, let right, _), .comparison(_, _, let left, let right, _): return left.isScalar && right.isScalar
        }
    }
}

/// The arguments of `label_replace`: where the regular expression (fully anchored) matches the
/// value of `source`, `destination` becomes `replacement` with `$1`, `${name}` expanded (and is
/// removed when that is empty); other series are left as they are.
public struct LabelReplacement: Sendable, Equatable {
    public var destination: String
    public var replacement: String
    public var source: String
    public var regex: String

    public init(destination: String, replacement: String, source: String, regex: String) {
        self.destination = destination
        self.replacement = replacement
        self.source = source
        self.regex = regex
    }
}

struct LogQLParser {
    var cursor: TokenCursor

    mutating func query() throws(QueryParseError) -> LogQLQuery {
        guard !(cursor.current.kind == .end) else { throw QueryParseError(column: 1, "syntax error: empty query") }
        if cursor.isSymbol("{") {
            let selector = try logSelector()
            guard cursor.current.kind == .end else {
                if cursor.isSymbol("[") {
                    throw QueryParseError(column: cursor.current.column, "syntax error: a range [..] needs a range function such as count_over_time")
                }
                throw cursor.unexpected(expected: "a pipeline stage (|=, !=, |~, !~, | json, | logfmt, | label=\"value\", …) or end of query")
            }
            return .logs(selector)
        }
        let expression = try metric(minimumPrecedence: 0)
        guard cursor.current.kind == .end else { throw cursor.unexpected(expected: "an operator or end of query") }
        return .metric(expression)
    }

    // MARK: Log selectors and pipelines

    mutating func logSelector() throws(QueryParseError) -> LogSelector {
        var none: Unwrap?
        return try logSelector(unwrap: &none, allowsUnwrap: false)
    }

    mutating func logSelector(unwrap: inout Unwrap?, allowsUnwrap: Bool) throws(QueryParseError) -> LogSelector {
        let open = cursor.current
        try cursor.expect("{")
        var matchers: [LabelMatcher] = []
        if !cursor.isSymbol("}") {
            repeat {
                matchers.append(try matcher())
            } while cursor.take(",")
        }
        try cursor.expect("}", " to close the stream selector")
        guard matchers.contains(where: { !$0.matches("") }) else {
            throw QueryParseError(column: open.column, "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")
        }
        var selector = LogSelector(matchers: matchers)
        try pipeline(into: &selector, unwrap: &unwrap, allowsUnwrap: allowsUnwrap)
        return selector
    }

    mutating func matcher() throws(QueryParseError) -> LabelMatcher {
        let nameToken = cursor.current
        let name = try cursor.identifier("a label name")
        guard Self.isLabelName(name) else { throw QueryParseError(column: nameToken.column, "syntax error: invalid label name \"\(name)\"") }
        let opToken = cursor.current
        guard case .symbol(let symbol) = opToken.kind, let op = LabelMatcher.Operator(rawValue: symbol) else {
            throw cursor.unexpected(expected: "=, !=, =~ or !~")
        }
        cursor.advance()
        let valueToken = cursor.current
        let value = try cursor.string("a quoted label value")
        if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
        return LabelMatcher(name, op, value)
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }

    static func checkRegex(_ pattern: String, column: Int) throws(QueryParseError) {
        guard LogQLRegex.compile(pattern) != nil else {
            throw QueryParseError(column: column, "invalid regular expression \"\(pattern.prefix(80))\"")
        }
    }

    /// Stages after the selector (or after a range), into `selector`: the store's part until the
    /// first stage it cannot evaluate, then `stages`.
    mutating func pipeline(into selector: inout LogSelector) throws(QueryParseError) {
        var none: Unwrap?
        try pipeline(into: &selector, unwrap: &none, allowsUnwrap: false)
    }

    /// The same; with `allowsUnwrap` (range functions), an `| unwrap …` and the label filters
    /// after it end the pipeline.
    mutating func pipeline(into selector: inout LogSelector, unwrap: inout Unwrap?, allowsUnwrap: Bool) throws(QueryParseError) {
        var state = PipelineState(inStore: selector.stages.isEmpty)
        while true {
            let token = cursor.current
            guard case .symbol(let symbol) = token.kind else { return }
            if let op = LineFilter.Operator(rawValue: symbol) {
                guard unwrap == nil else { throw QueryParseError(column: token.column, "syntax error: only label filters may follow unwrap, not a line filter") }
                cursor.advance()
                let valueToken = cursor.current
                let value = try cursor.string("a quoted string after \(symbol)")
                if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
                if state.inStore { selector.lineFilters.append(LineFilter(op, value)) } else { selector.stages.append(.lineFilter(LineFilter(op, value))) }
                continue
            }
            guard symbol == "|" else { return }
            cursor.advance()
            let stageToken = cursor.current
            if cursor.isSymbol("(") {
                // A label filter that opens with a parenthesis: `| (a="x" or b="y") and c > 1`.
                let expression = try labelFilterExpression(firstName: nil, column: stageToken.column)
                if var unwrapped = unwrap {
                    unwrapped.filters.append(expression)
                    unwrap = unwrapped
                } else {
                    state.leaveStore(&selector)
                    selector.stages.append(.labelFilter(expression))
                }
                continue
            }
            let stage = try cursor.identifier("a pipeline stage (json, logfmt, regexp, pattern, line_format, label_format, drop, keep, unwrap or a label filter)")
            if let unwrapped = unwrap {
                guard !Self.stageNames.contains(stage) else {
                    throw QueryParseError(column: stageToken.column, "syntax error: only label filters may follow unwrap, not \(stage)")
                }
                unwrap = Unwrap(unwrapped.label, unwrapped.conversion,
                                filters: unwrapped.filters + [try labelFilterExpression(firstName: stage, column: stageToken.column)])
                continue
            }
            switch stage {
            case "json":
                let parameters = try extractionParameters(flags: [])
                state.leaveStore(&selector)
                selector.stages.append(.json(parameters.parameters))
            case "logfmt":
                let parameters = try extractionParameters(flags: ["strict", "keep-empty"])
                state.leaveStore(&selector)
                selector.stages.append(.logfmt(parameters.parameters, strict: parameters.flags.contains("strict"), keepEmpty: parameters.flags.contains("keep-empty")))
            case "regexp":
                let valueToken = cursor.current
                let pattern = try cursor.string("a quoted regular expression")
                guard LogQLRegex.compile(LogParsers.foundationPattern(pattern)) != nil else {
                    throw QueryParseError(column: valueToken.column, "invalid regular expression \"\(pattern.prefix(80))\"")
                }
                guard !LogParsers.groupNames(pattern).isEmpty else {
                    throw QueryParseError(column: valueToken.column, "regexp needs at least one named group such as (?P<name>…)")
                }
                state.leaveStore(&selector)
                selector.stages.append(.regexp(pattern))
            case "pattern":
                let valueToken = cursor.current
                let text = try cursor.string("a quoted pattern")
                switch LinePattern.parse(text) {
                case .success(let pattern):
                    state.leaveStore(&selector)
                    selector.stages.append(.pattern(pattern))
                case .failure(let error):
                    throw QueryParseError(column: valueToken.column, "invalid pattern \"\(text.prefix(80))\": \(error.message)")
                }
            case "decolorize":
                state.leaveStore(&selector)
                selector.stages.append(.decolorize)
            case "drop", "keep":
                var matchers: [LabelMatcher] = []
                repeat {
                    let nameToken = cursor.current
                    let name = try cursor.identifier("a label name")
                    guard Self.isLabelName(name) else { throw QueryParseError(column: nameToken.column, "syntax error: invalid label name \"\(name)\"") }
                    if case .symbol(let opSymbol) = cursor.current.kind, let op = LabelMatcher.Operator(rawValue: opSymbol) {
                        cursor.advance()
                        let valueToken = cursor.current
                        let value = try cursor.string("a quoted value")
                        if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
                        matchers.append(LabelMatcher(name, op, value))
                    } else {
                        matchers.append(LabelMatcher(name, .equal, ""))
                    }
                } while cursor.take(",")
                // Before a parser no line has an error label: Grafana's `| drop __error__,
                // __error_details__` on every log-volume query leaves the work to the store.
                if state.inStore, stage == "drop", matchers.allSatisfy({ $0.name.hasPrefix("__error") }) { continue }
                state.leaveStore(&selector)
                selector.stages.append(stage == "drop" ? .drop(matchers) : .keep(matchers))
            case "line_format":
                let valueToken = cursor.current
                let text = try cursor.string("a quoted template")
                state.leaveStore(&selector)
                selector.stages.append(.lineFormat(try Self.template(text, column: valueToken.column)))
            case "label_format":
                var formattings: [LabelFormatting] = []
                repeat {
                    let nameToken = cursor.current
                    let name = try cursor.identifier("a label name")
                    guard Self.isLabelName(name) else { throw QueryParseError(column: nameToken.column, "syntax error: invalid label name \"\(name)\"") }
                    try cursor.expect("=", " after \(name)")
                    let valueToken = cursor.current
                    if case .identifier(let source) = valueToken.kind {
                        cursor.advance()
                        formattings.append(.rename(name, from: source))
                    } else {
                        let text = try cursor.string("a quoted template or a label name")
                        formattings.append(.template(name, try Self.template(text, column: valueToken.column)))
                    }
                } while cursor.take(",")
                // Labels telling whether the line contains a text (Grafana's trace-to-logs query)
                // stay with the store while it can evaluate the filters on them.
                let lineLabels = formattings.compactMap { formatting -> (String, String)? in
                    guard case .template(let name, let template) = formatting, let text = Self.containsLineTemplate(template.source) else { return nil }
                    return (name, text)
                }
                if state.inStore, lineLabels.count == formattings.count {
                    for (name, text) in lineLabels { state.lineLabels[name] = text }
                    state.pendingFormats.append(contentsOf: formattings)
                } else {
                    state.leaveStore(&selector)
                    selector.stages.append(.labelFormat(formattings))
                }
            case "unwrap":
                guard allowsUnwrap else {
                    throw QueryParseError(column: stageToken.column, "unwrap is only allowed in a range function such as sum_over_time({…} | unwrap latency [1m])")
                }
                let labelToken = cursor.current
                var name = try cursor.identifier("a label name to unwrap")
                var conversion = Unwrap.Conversion.number
                if cursor.take("(") {
                    guard let known = Unwrap.Conversion(rawValue: name), known != .number else {
                        throw QueryParseError(column: labelToken.column, "unsupported unwrap conversion \"\(name)\": Sightline supports duration(), duration_seconds() and bytes()")
                    }
                    conversion = known
                    name = try cursor.identifier("a label name")
                    try cursor.expect(")")
                }
                guard Self.isLabelName(name) else { throw QueryParseError(column: labelToken.column, "syntax error: invalid label name \"\(name)\"") }
                state.leaveStore(&selector)
                unwrap = Unwrap(name, conversion)
            case "unpack":
                state.leaveStore(&selector)
                selector.stages.append(.unpack)
            default:
                guard Self.isLabelName(stage), case .symbol = cursor.current.kind else {
                    throw QueryParseError(column: stageToken.column, "syntax error: unexpected \(stage), expected a pipeline stage")
                }
                let expression = try labelFilterExpression(firstName: stage, column: stageToken.column)
                if state.inStore, let (matchers, isOr) = expression.flattenedMatchers,
                   matchers.allSatisfy({ state.lineLabels[$0.name] == nil || (($0.op == .equal || $0.op == .notEqual) && ($0.value == "true" || $0.value == "false")) }) {
                    var alternatives = FilterAlternatives()
                    for matcher in matchers {
                        if let text = state.lineLabels[matcher.name] {
                            let line = LineFilter((matcher.op == .equal) == (matcher.value == "true") ? .contains : .notContains, text)
                            if isOr { alternatives.lines.append(line) } else { selector.lineFilters.append(line) }
                        } else if isOr {
                            alternatives.labels.append(matcher)
                        } else {
                            selector.labelFilters.append(matcher)
                        }
                    }
                    if isOr { selector.alternatives.append(alternatives) }
                } else {
                    state.leaveStore(&selector)
                    selector.stages.append(.labelFilter(expression))
                }
            }
        }
    }

    static let stageNames: Set<String> = ["json", "logfmt", "regexp", "pattern", "line_format", "label_format", "drop", "keep", "decolorize", "unwrap", "unpack"]

    /// Where a pipeline is while it is parsed: still with the store or not, the labels
    /// `label_format` derived from the line (name to text) and those formattings, which become a
    /// stage should the pipeline leave the store.
    struct PipelineState {
        var inStore: Bool
        var lineLabels: [String: String] = [:]
        var pendingFormats: [LabelFormatting] = []

        mutating func leaveStore(_ selector: inout LogSelector) {
            guard inStore else { return }
            inStore = false
            if !pendingFormats.isEmpty { selector.stages.append(.labelFormat(pendingFormats)) }
        }
    }

    static func template(_ text: String, column: Int) throws(QueryParseError) -> LogTemplate {
        do {
            return try LogTemplate(text)
        } catch {
            throw QueryParseError(column: column, "unsupported template \"\(text.prefix(80))\": \(error.message)")
        }
    }

    /// `--strict`-style flags and `name="expression"` (or bare `name`) parameters of json and logfmt.
    mutating func extractionParameters(flags allowed: Set<String>) throws(QueryParseError) -> (flags: Set<String>, parameters: [ExtractionParameter]) {
        var flags: Set<String> = []
        while cursor.isSymbol("-") {
            let flagToken = cursor.current
            cursor.advance()
            try cursor.expect("-")
            var flag = try cursor.identifier("a parser flag")
            while cursor.isSymbol("-"), case .identifier(let more) = cursor.next.kind {
                cursor.advance()
                cursor.advance()
                flag += "-" + more
            }
            guard allowed.contains(flag) else {
                throw QueryParseError(column: flagToken.column, "unsupported parser flag --\(flag)\(allowed.isEmpty ? "" : ": supported are " + allowed.sorted().map { "--" + $0 }.joined(separator: ", "))")
            }
            flags.insert(flag)
        }
        var parameters: [ExtractionParameter] = []
        guard case .identifier = cursor.current.kind, !cursor.isIdentifier("by"), !cursor.isIdentifier("without"), !cursor.isIdentifier("offset") else {
            return (flags, parameters)
        }
        repeat {
            let nameToken = cursor.current
            let name = try cursor.identifier("a label name")
            guard Self.isLabelName(name) else { throw QueryParseError(column: nameToken.column, "syntax error: invalid label name \"\(name)\"") }
            if cursor.take("=") {
                let valueToken = cursor.current
                let expression = try cursor.string("a quoted expression")
                guard JSONPath.parse(expression) != nil else { throw QueryParseError(column: valueToken.column, "invalid field expression \"\(expression.prefix(80))\"") }
                parameters.append(ExtractionParameter(name, expression))
            } else {
                parameters.append(ExtractionParameter(name, name))
            }
        } while cursor.take(",")
        return (flags, parameters)
    }

    /// A label filter after its first name: comparisons joined by `and` (or `,`) and `or`
    /// (`and` binds tighter), with parentheses.
    mutating func labelFilterExpression(firstName: String?, column: Int) throws(QueryParseError) -> LabelFilterExpression {
        var left = try labelFilterConjunction(firstName: firstName, column: column)
        while cursor.isKeyword("or") {
            cursor.advance()
            left = .or(left, try labelFilterConjunction(firstName: nil, column: cursor.current.column))
        }
        return left
    }

    mutating func labelFilterConjunction(firstName: String?, column: Int) throws(QueryParseError) -> LabelFilterExpression {
        var left = try labelFilterPrimary(firstName: firstName, column: column)
        while cursor.isKeyword("and") || cursor.isSymbol(",") {
            cursor.advance()
            left = .and(left, try labelFilterPrimary(firstName: nil, column: cursor.current.column))
        }
        return left
    }

    mutating func labelFilterPrimary(firstName: String?, column: Int) throws(QueryParseError) -> LabelFilterExpression {
        try cursor.enter()
        defer { cursor.leave() }
        let name: String
        if let firstName {
            name = firstName
        } else if cursor.take("(") {
            let inner = try labelFilterExpression(firstName: nil, column: cursor.current.column)
            try cursor.expect(")", " to close the label filter")
            return inner
        } else {
            name = try cursor.identifier("a label name")
        }
        guard Self.isLabelName(name) else { throw QueryParseError(column: column, "syntax error: invalid label name \"\(name)\"") }
        let opToken = cursor.current
        guard case .symbol(let opSymbol) = opToken.kind,
              ["=", "==", "!=", "=~", "!~", ">", ">=", "<", "<="].contains(opSymbol) else {
            throw cursor.unexpected(expected: "a label filter operator (=, !=, =~, !~, >, >=, <, <=)")
        }
        cursor.advance()
        let valueToken = cursor.current
        var sign = 1.0
        if cursor.take("-") { sign = -1 }
        let comparison = ComparisonOperator(rawValue: opSymbol == "=" ? "==" : opSymbol)
        switch cursor.current.kind {
        case .string(let value):
            cursor.advance()
            guard sign == 1, let op = LabelMatcher.Operator(rawValue: opSymbol == "==" ? "=" : opSymbol) else {
                throw QueryParseError(column: opToken.column, "syntax error: \(opSymbol) compares numbers, durations or sizes, not the string \"\(value.prefix(40))\"")
            }
            if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
            return .string(LabelMatcher(name, op, value))
        case .number(let value):
            cursor.advance()
            guard let comparison else { throw QueryParseError(column: opToken.column, "syntax error: \(opSymbol) needs a quoted string") }
            return .number(name, comparison, sign * value)
        case .duration(let nanos):
            cursor.advance()
            guard let comparison else { throw QueryParseError(column: opToken.column, "syntax error: \(opSymbol) needs a quoted string") }
            return .duration(name, comparison, Int64(sign) * nanos)
        case .bytes(let bytes):
            cursor.advance()
            guard let comparison else { throw QueryParseError(column: opToken.column, "syntax error: \(opSymbol) needs a quoted string") }
            return .bytes(name, comparison, sign * bytes)
        default:
            throw cursor.unexpected(expected: "a quoted string, number, duration or byte size")
        }
    }

    /// The text of `{{ contains "text" __line__ }}`, or nil for another template.
    static func containsLineTemplate(_ template: String) -> String? {
        var rest = Substring(template.trimmingCharacters(in: .whitespaces))
        guard rest.hasPrefix("{{"), rest.hasSuffix("}}") else { return nil }
        rest = rest.dropFirst(2).dropLast(2)
        rest = Substring(rest.trimmingCharacters(in: .whitespaces))
        guard rest.hasPrefix("contains"), rest.hasSuffix("__line__") else { return nil }
        rest = rest.dropFirst("contains".count).dropLast("__line__".count)
        rest = Substring(rest.trimmingCharacters(in: .whitespaces))
        guard rest.count >= 2, rest.first == "\"", rest.last == "\"" else { return nil }
        let text = rest.dropFirst().dropLast()
        guard !text.contains("\"") else { return nil }
        return String(text)
    }

    // MARK: Metric expressions

    /// A binary operator and its precedence (PromQL's): `or` 1, `and`/`unless` 2, comparisons
    /// 3, `+ -` 4, `* / %` 5, `^` 6.
    enum BinaryOperator {
        case arithmetic(ArithmeticOperator), comparison(ComparisonOperator), set(SetOperator)

        var precedence: Int {
            switch self {
            case .set(let op): return op == .or ? 1 : 2
            case .comparison: return 3
            case .arithmetic(let op): return op.precedence + 3
            }
        }
    }

    var binaryOperator: BinaryOperator? {
        switch cursor.current.kind {
        case .identifier(let word): return SetOperator(rawValue: word).map { .set($0) }
        case .symbol(let symbol):
            if let op = ArithmeticOperator(rawValue: symbol) { return .arithmetic(op) }
            return ComparisonOperator(rawValue: symbol).map { .comparison($0) }
        default: return nil
        }
    }

    /// Binary operators by precedence, left-associative but for `^`.
    mutating func metric(minimumPrecedence: Int) throws(QueryParseError) -> MetricExpression {
        try cursor.enter()
        defer { cursor.leave() }
        var left = try unary()
        while let op = binaryOperator, op.precedence >= minimumPrecedence {
            let opToken = cursor.current
            cursor.advance()
            var bool = false
            if case .comparison = op, cursor.isIdentifier("bool") {
                bool = true
                cursor.advance()
            }
            let matching = try vectorMatching()
            let isPower: Bool
            if case .arithmetic(.power) = op { isPower = true } else { isPower = false }
            let right = try metric(minimumPrecedence: isPower ? op.precedence : op.precedence + 1)
            if matching != nil, left.isScalar || right.isScalar {
                throw QueryParseError(column: opToken.column, "vector matching only allowed between vectors")
            }
            switch op {
            case .arithmetic(let arithmetic):
                left = .binary(arithmetic, left, right, matching: matching ?? .identical)
            case .comparison(let comparison):
                if left.isScalar && right.isScalar && !bool {
                    throw QueryParseError(column: opToken.column, "comparisons between scalars must use bool")
                }
                left = .comparison(comparison, bool: bool, left, right, matching: matching ?? .identical)
            case .set(let set):
                guard !left.isScalar && !right.isScalar else {
                    throw QueryParseError(column: opToken.column, "set operator \"\(set.rawValue)\" not allowed in binary scalar expression")
                }
                if let matching, matching.cardinality != .oneToOne {
                    throw QueryParseError(column: opToken.column, "no grouping allowed for \"\(set.rawValue)\" operation")
                }
                left = .set(set, left, right, matching: matching ?? .identical)
            }
        }
        return left
    }

    /// `on(…)` or `ignoring(…)`, then `group_left(…)` or `group_right(…)`, after a binary
    /// operator; nil when there is none.
    mutating func vectorMatching() throws(QueryParseError) -> VectorMatching? {
        if cursor.isIdentifier("group_left") || cursor.isIdentifier("group_right") {
            throw QueryParseError(column: cursor.current.column, "syntax error: \(cursor.current.text) needs on(…) or ignoring(…) before it")
        }
        guard cursor.isIdentifier("on") || cursor.isIdentifier("ignoring") else { return nil }
        var matching = VectorMatching(on: cursor.isIdentifier("on"))
        cursor.advance()
        matching.labels = try labelList()
        if cursor.isIdentifier("group_left") || cursor.isIdentifier("group_right") {
            matching.cardinality = cursor.isIdentifier("group_left") ? .manyToOne : .oneToMany
            cursor.advance()
            if cursor.isSymbol("(") { matching.include = try labelList() }
            if matching.on, let both = matching.include.first(where: matching.labels.contains) {
                throw QueryParseError(column: cursor.current.column, "label \"\(both)\" must not occur in ON and GROUP clause at once")
            }
        }
        return matching
    }

    /// `(a, b)`.
    mutating func labelList() throws(QueryParseError) -> [String] {
        try cursor.expect("(")
        var labels: [String] = []
        if !cursor.isSymbol(")") {
            repeat {
                let token = cursor.current
                let label = try cursor.identifier("a label name")
                guard Self.isLabelName(label) else { throw QueryParseError(column: token.column, "syntax error: invalid label name \"\(label)\"") }
                labels.append(label)
            } while cursor.take(",")
        }
        try cursor.expect(")")
        return labels
    }

    mutating func unary() throws(QueryParseError) -> MetricExpression {
        if cursor.take("-") {
            let operand = try unary()
            if case .literal(let value) = operand { return .literal(-value) }
            return .binary(.multiply, .literal(-1), operand)
        }
        if cursor.take("+") { return try unary() }
        return try primary()
    }

    static let unsupportedFunctions: Set<String> = ["vector_over_time", "approx_topk", "label_join"]

    mutating func primary() throws(QueryParseError) -> MetricExpression {
        let token = cursor.current
        switch token.kind {
        case .number(let value):
            cursor.advance()
            return .literal(value)
        case .symbol("("):
            cursor.advance()
            let inner = try metric(minimumPrecedence: 0)
            try cursor.expect(")")
            return inner
        case .symbol("{"):
            throw QueryParseError(column: token.column, "syntax error: a log stream selector cannot be combined with operators; wrap it in a range function such as count_over_time({…}[1m])")
        case .identifier(let name):
            if name == "vector" {
                cursor.advance()
                try cursor.expect("(")
                var sign = 1.0
                if cursor.take("-") { sign = -1 }
                guard case .number(let value) = cursor.current.kind else { throw cursor.unexpected(expected: "a number") }
                cursor.advance()
                try cursor.expect(")")
                return .vector(sign * value)
            }
            if let function = RangeFunction(rawValue: name) {
                cursor.advance()
                return try rangeAggregation(function, column: token.column)
            }
            if let op = AggregationOperator(rawValue: name) {
                cursor.advance()
                var grouping = try groupingClause()
                try cursor.expect("(")
                let inner = try metric(minimumPrecedence: 0)
                try cursor.expect(")")
                if grouping == nil { grouping = try groupingClause() }
                guard !inner.isScalar else {
                    throw QueryParseError(column: token.column, "\(name) needs a vector, not a scalar")
                }
                return .aggregation(op, grouping, inner)
            }
            if name == "label_replace" {
                cursor.advance()
                try cursor.expect("(")
                let inner = try metric(minimumPrecedence: 0)
                guard !inner.isScalar else { throw QueryParseError(column: token.column, "label_replace needs a vector, not a scalar") }
                var arguments: [String] = []
                var regexColumn = 0
                for _ in 0..<4 {
                    try cursor.expect(",")
                    regexColumn = cursor.current.column
                    arguments.append(try cursor.string("a quoted string (label_replace(v, \"dst\", \"replacement\", \"src\", \"regex\"))"))
                }
                try cursor.expect(")")
                guard Self.isLabelName(arguments[0]) else {
                    throw QueryParseError(column: token.column, "invalid destination label name in label_replace(): \(arguments[0])")
                }
                let regex = LogQLRegex.anchored(LogParsers.foundationPattern(arguments[3]))
                guard LogQLRegex.compile(regex) != nil else {
                    throw QueryParseError(column: regexColumn, "invalid regular expression in label_replace(): \"\(arguments[3].prefix(80))\"")
                }
                return .labelReplace(inner, LabelReplacement(destination: arguments[0], replacement: arguments[1], source: arguments[2], regex: arguments[3]))
            }
            if name == "quantile" || name == "count_values" {
                cursor.advance()
                var grouping = try groupingClause()
                try cursor.expect("(")
                let parameter = cursor.current
                var phi = 0.0, label = ""
                if name == "quantile" {
                    var sign = 1.0
                    if cursor.take("-") { sign = -1 }
                    guard case .number(let value) = cursor.current.kind else { throw cursor.unexpected(expected: "the quantile (a number such as 0.9)") }
                    cursor.advance()
                    phi = sign * value
                } else {
                    label = try cursor.string("a quoted label name")
                    guard Self.isLabelName(label) else { throw QueryParseError(column: parameter.column, "invalid label name \"\(label)\" in count_values") }
                }
                try cursor.expect(",")
                let inner = try metric(minimumPrecedence: 0)
                try cursor.expect(")")
                if grouping == nil { grouping = try groupingClause() }
                guard !inner.isScalar else { throw QueryParseError(column: token.column, "\(name) needs a vector, not a scalar") }
                return name == "quantile" ? .quantile(phi, grouping, inner) : .countValues(label, grouping, inner)
            }
            if name == "topk" || name == "bottomk" {
                cursor.advance()
                var grouping = try groupingClause()
                try cursor.expect("(")
                let kToken = cursor.current
                guard case .number(let k) = kToken.kind, k >= 1, k.rounded() == k, k <= 10_000 else {
                    throw cursor.unexpected(expected: "a whole number of series (1 to 10000)")
                }
                cursor.advance()
                try cursor.expect(",")
                let inner = try metric(minimumPrecedence: 0)
                try cursor.expect(")")
                if grouping == nil { grouping = try groupingClause() }
                guard !inner.isScalar else { throw QueryParseError(column: token.column, "\(name) needs a vector, not a scalar") }
                return .rank(bottom: name == "bottomk", k: Int(k), grouping, inner)
            }
            if name == "sort" || name == "sort_desc" {
                cursor.advance()
                try cursor.expect("(")
                let inner = try metric(minimumPrecedence: 0)
                try cursor.expect(")")
                guard !inner.isScalar else { throw QueryParseError(column: token.column, "\(name) needs a vector, not a scalar") }
                return .sort(descending: name == "sort_desc", inner)
            }
            if Self.unsupportedFunctions.contains(name) {
                throw QueryParseError(column: token.column, "unsupported function \(name): see docs/grafana.md, LogQL features")
            }
            throw QueryParseError(column: token.column, "syntax error: unexpected \(name): supported are the range functions (count_over_time, rate, …, quantile_over_time, rate_counter, absent_over_time), sum, count, min, max, avg, stddev, stdvar, group, quantile, count_values, topk, bottomk, sort, sort_desc, label_replace, vector and numbers")
        default:
            throw cursor.unexpected(expected: "a metric expression")
        }
    }

    mutating func rangeAggregation(_ function: RangeFunction, column: Int) throws(QueryParseError) -> MetricExpression {
        try cursor.expect("(")
        var quantile: Double?
        if function == .quantileOverTime {
            var sign = 1.0
            if cursor.take("-") { sign = -1 }
            guard case .number(let value) = cursor.current.kind else { throw cursor.unexpected(expected: "the quantile (a number such as 0.99)") }
            cursor.advance()
            try cursor.expect(",")
            quantile = sign * value
        }
        guard cursor.isSymbol("{") else { throw cursor.unexpected(expected: "a log stream selector") }
        var unwrap: Unwrap?
        var selector = try logSelector(unwrap: &unwrap, allowsUnwrap: true)
        guard cursor.take("[") else {
            throw QueryParseError(column: cursor.current.column, "syntax error: unexpected \(cursor.current.text), expected a range such as [1m]")
        }
        let rangeToken = cursor.current
        let range: Int64
        switch rangeToken.kind {
        case .duration(let nanos): range = nanos
        case .number(let value) where value == 0: range = 0
        default: throw cursor.unexpected(expected: "a duration such as 1m")
        }
        guard range > 0 else { throw QueryParseError(column: rangeToken.column, "the range must be positive") }
        guard range <= 31 * 86_400_000_000_000 else { throw QueryParseError(column: rangeToken.column, "the range must be at most 31 days") }
        cursor.advance()
        try cursor.expect("]")
        var offset = try offsetClause()
        // The pipeline may also follow the range: `{…}[5m] |= "x"`.
        try pipeline(into: &selector, unwrap: &unwrap, allowsUnwrap: true)
        if offset == 0 { offset = try offsetClause() }
        try cursor.expect(")")
        if function.needsUnwrap, unwrap == nil {
            throw QueryParseError(column: column, "\(function.rawValue) needs an unwrapped label: add | unwrap <label> before the range")
        }
        if unwrap != nil, function != .rate, function != .absentOverTime, !function.needsUnwrap {
            throw QueryParseError(column: column, "\(function.rawValue) does not take an unwrapped label")
        }
        var grouping: Grouping?
        if unwrap != nil { grouping = try groupingClause() }
        return .range(RangeAggregation(function, selector, range: range, offset: offset, unwrap: unwrap, quantile: quantile, grouping: grouping))
    }

    mutating func offsetClause() throws(QueryParseError) -> Int64 {
        guard cursor.isIdentifier("offset") else { return 0 }
        cursor.advance()
        guard case .duration(let nanos) = cursor.current.kind, nanos >= 0 else { throw cursor.unexpected(expected: "a duration such as 1h") }
        cursor.advance()
        return nanos
    }

    mutating func groupingClause() throws(QueryParseError) -> Grouping? {
        let without: Bool
        if cursor.isIdentifier("by") {
            without = false
        } else if cursor.isIdentifier("without") {
            without = true
        } else {
            return nil
        }
        cursor.advance()
        return Grouping(without: without, labels: try labelList())
    }
}

/// Regular expressions as Loki reads them, in Swift (NSRegularExpression), for the few places
/// matched outside the store (the tail feed, tests), with a bounded cache of compiled patterns.
public enum LogQLRegex {
    private static let cache = RegexCache()

    static func compile(_ pattern: String) -> NSRegularExpression? { cache.regex(pattern) }

    /// Anywhere in `text`.
    public static func search(_ pattern: String, _ text: String) -> Bool {
        guard let regex = compile(pattern) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// The whole of `text`.
    public static func fullMatch(_ pattern: String, _ text: String) -> Bool {
        search(anchored(pattern), text)
    }

    /// `^(?:pattern)$`, as the store anchors label matchers (`RegexPattern.anchored`).
    public static func anchored(_ pattern: String) -> String { RegexPattern.anchored(pattern) }
}

/// Compiled patterns, at most `capacity`, dropped all at once when full.
final class RegexCache: @unchecked Sendable {
    private let lock = NSLock()
    private var compiled: [String: NSRegularExpression] = [:]
    private let capacity = 256

    func regex(_ pattern: String) -> NSRegularExpression? {
        lock.lock()
        defer { lock.unlock() }
        if let found = compiled[pattern] { return found }
        guard pattern.utf8.count <= 4096, let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        if compiled.count >= capacity { compiled.removeAll() }
        compiled[pattern] = regex
        return regex
    }
}
