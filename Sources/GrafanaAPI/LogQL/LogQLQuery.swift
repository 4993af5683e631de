import Foundation
import Store

/// A LogQL query of the subset Sightline answers (docs/grafana.md): a log query
/// (`{service_name="shop", level=~"error|warn"} |= "timeout" | json`) or a metric query over
/// one (`sum by (level) (count_over_time({service_name="shop"} [1m]))`, `rate`,
/// `bytes_over_time`, `bytes_rate`; `sum`/`count`/`min`/`max`/`avg` with `by`/`without`;
/// number literals, `vector(n)` and `+ - * / % ^` between them).
///
/// Parsing is pure: the result says what to read; `LogQLQuery+Store` gives it to the store,
/// which turns it into SQL.
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

/// A stream selector with its pipeline: line filters, parsers (`json`, `logfmt`, which pass
/// lines through unchanged), `drop`/`keep` (ignored), label filters on stream labels (joined
/// with `and`, or `or` as `alternatives`), and `label_format` labels that say whether the line
/// contains a text.
public struct LogSelector: Sendable, Equatable {
    public var matchers: [LabelMatcher]
    public var lineFilters: [LineFilter]
    public var labelFilters: [LabelMatcher]
    /// Label filters joined with `or`: each group must have one that holds.
    public var alternatives: [FilterAlternatives]
    /// `json`, `logfmt`, `drop`, `keep`, `decolorize`: accepted and passed through.
    public var passThroughStages: [String]

    public init(matchers: [LabelMatcher], lineFilters: [LineFilter] = [], labelFilters: [LabelMatcher] = [],
                alternatives: [FilterAlternatives] = [], passThroughStages: [String] = []) {
        self.matchers = matchers
        self.lineFilters = lineFilters
        self.labelFilters = labelFilters
        self.alternatives = alternatives
        self.passThroughStages = passThroughStages
    }

    /// Every label condition, selector and pipeline.
    public var allMatchers: [LabelMatcher] { matchers + labelFilters }
}

public enum RangeFunction: String, Sendable, Equatable, CaseIterable {
    case countOverTime = "count_over_time", rate, bytesOverTime = "bytes_over_time", bytesRate = "bytes_rate"
}

public enum AggregationOperator: String, Sendable, Equatable, CaseIterable {
    case sum, count, min, max, avg
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
    /// `count_over_time({…} [range])` and the like; `range` in nanoseconds.
    case range(RangeFunction, LogSelector, range: Int64)
    case aggregation(AggregationOperator, Grouping?, MetricExpression)
    case binary(ArithmeticOperator, MetricExpression, MetricExpression)

    /// Whether the expression is a plain scalar (no series).
    var isScalar: Bool {
        switch self {
        case .literal: return true
        case .vector, .range, .aggregation: return false
        case .binary(_, let left, let right): return left.isScalar && right.isScalar
        }
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
                throw cursor.unexpected(expected: "a pipeline stage (|=, !=, |~, !~, | json, | logfmt, | label=\"value\") or end of query")
            }
            return .logs(selector)
        }
        let expression = try metric(minimumPrecedence: 1)
        guard cursor.current.kind == .end else { throw cursor.unexpected(expected: "an operator or end of query") }
        return .metric(expression)
    }

    // MARK: Log selectors and pipelines

    mutating func logSelector() throws(QueryParseError) -> LogSelector {
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
        try pipeline(into: &selector)
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

    mutating func pipeline(into selector: inout LogSelector) throws(QueryParseError) {
        // Labels `label_format` made, by name: the text whose presence in the line each tells.
        var lineLabels: [String: String] = [:]
        // After `json` or `logfmt`, a filter on a label no stream has would be on a field Loki
        // extracts and Sightline does not: refused, never a silent empty answer.
        var parser: String?
        while true {
            let token = cursor.current
            guard case .symbol(let symbol) = token.kind else { return }
            if let op = LineFilter.Operator(rawValue: symbol) {
                cursor.advance()
                let valueToken = cursor.current
                let value = try cursor.string("a quoted string after \(symbol)")
                if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
                selector.lineFilters.append(LineFilter(op, value))
                continue
            }
            guard symbol == "|" else { return }
            cursor.advance()
            let stageToken = cursor.current
            let stage = try cursor.identifier("a pipeline stage (json, logfmt, drop, keep or a label filter)")
            switch stage {
            case "json", "logfmt", "unpack", "decolorize":
                // Parsers pass lines through; optional flags and `field="expression"` arguments are accepted.
                // Flags: `--strict`, `--keep-empty`.
                while cursor.take("-") {
                    _ = cursor.take("-")
                    _ = try cursor.identifier("a parser flag")
                }
                try skipArguments()
                selector.passThroughStages.append(stage)
                if stage != "decolorize" { parser = parser ?? stage }
            case "drop", "keep":
                try skipArguments()
                selector.passThroughStages.append(stage)
            case "label_format":
                repeat {
                    let (name, text) = try lineLabel()
                    lineLabels[name] = text
                } while cursor.take(",")
            case "line_format", "pattern", "regexp", "unwrap":
                throw QueryParseError(column: stageToken.column, "unsupported pipeline stage \"\(stage)\": Sightline supports line filters, json, logfmt, drop, keep, label filters and label_format with {{ contains \"text\" __line__ }}")
            default:
                guard Self.isLabelName(stage), case .symbol = cursor.current.kind else {
                    throw QueryParseError(column: stageToken.column, "syntax error: unexpected \(stage), expected a pipeline stage")
                }
                var filters = [try labelFilter(stage, lineLabels, after: parser, column: stageToken.column)]
                var joiner: String?
                while case .identifier(let word) = cursor.current.kind, ["and", "or"].contains(word.lowercased()) {
                    guard joiner == nil || joiner == word.lowercased() else {
                        throw QueryParseError(column: cursor.current.column, "unsupported label filter: \"and\" and \"or\" mixed in one filter")
                    }
                    joiner = word.lowercased()
                    cursor.advance()
                    let nameColumn = cursor.current.column
                    filters.append(try labelFilter(try cursor.identifier("a label name after \(word)"), lineLabels, after: parser, column: nameColumn))
                }
                if joiner == "or" {
                    var alternatives = FilterAlternatives()
                    for filter in filters {
                        switch filter {
                        case .label(let matcher): alternatives.labels.append(matcher)
                        case .line(let line): alternatives.lines.append(line)
                        }
                    }
                    selector.alternatives.append(alternatives)
                } else {
                    for filter in filters {
                        switch filter {
                        case .label(let matcher): selector.labelFilters.append(matcher)
                        case .line(let line): selector.lineFilters.append(line)
                        }
                    }
                }
            }
        }
    }

    enum PipelineFilter {
        case label(LabelMatcher)
        case line(LineFilter)
    }

    /// `name op "value"` after its name: a stream label filter, or for a label of `label_format`
    /// (`lineLabels`), the line filter it stands for (`="true"` contains, `="false"` does not).
    mutating func labelFilter(_ name: String, _ lineLabels: [String: String], after parser: String?,
                              column: Int) throws(QueryParseError) -> PipelineFilter {
        if let parser, lineLabels[name] == nil, !name.hasPrefix("__"), !LokiLabels.isStreamLabel(name) {
            throw QueryParseError(column: column, "unsupported label filter on \(name): Sightline's | \(parser) does not extract fields yet; filter the line (|= or |~) or a stream label")
        }
        guard case .symbol(let opSymbol) = cursor.current.kind,
              let op = LabelMatcher.Operator(rawValue: opSymbol == "==" ? "=" : opSymbol) else {
            throw QueryParseError(column: cursor.current.column, "unsupported label filter \"\(cursor.current.text)\": Sightline supports =, !=, =~ and !~ on stream labels")
        }
        cursor.advance()
        let valueToken = cursor.current
        let value = try cursor.string("a quoted value")
        if let text = lineLabels[name] {
            guard op == .equal || op == .notEqual, value == "true" || value == "false" else {
                throw QueryParseError(column: valueToken.column, "unsupported label filter on \(name): compare it with = or != \"true\" or \"false\"")
            }
            return .line(LineFilter((op == .equal) == (value == "true") ? .contains : .notContains, text))
        }
        if op == .matches || op == .notMatches { try Self.checkRegex(value, column: valueToken.column) }
        return .label(LabelMatcher(name, op, value))
    }

    /// One `name=`{{ contains "text" __line__ }}`` of `label_format`: the one template
    /// Sightline evaluates (Grafana's trace-to-logs query); any other answers 400 naming it.
    mutating func lineLabel() throws(QueryParseError) -> (String, String) {
        let nameToken = cursor.current
        let name = try cursor.identifier("a label name")
        guard Self.isLabelName(name) else { throw QueryParseError(column: nameToken.column, "syntax error: invalid label name \"\(name)\"") }
        try cursor.expect("=", " after \(name)")
        let templateToken = cursor.current
        let template = try cursor.string("a quoted template")
        guard let text = Self.containsLineTemplate(template) else {
            throw QueryParseError(column: templateToken.column,
                                  "unsupported label_format template \"\(template.prefix(80))\": Sightline supports {{ contains \"text\" __line__ }}")
        }
        return (name, text)
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

    /// `a, b, c` or `a="expr", b` after json/logfmt/drop/keep.
    mutating func skipArguments() throws(QueryParseError) {
        guard case .identifier = cursor.current.kind, !cursor.isIdentifier("by"), !cursor.isIdentifier("without") else { return }
        repeat {
            _ = try cursor.identifier("a label name")
            if cursor.take("=") || cursor.take("!=") || cursor.take("=~") || cursor.take("!~") {
                _ = try cursor.string("a quoted value")
            }
        } while cursor.take(",")
    }

    // MARK: Metric expressions

    mutating func metric(minimumPrecedence: Int) throws(QueryParseError) -> MetricExpression {
        try cursor.enter()
        defer { cursor.leave() }
        var left = try unary()
        while case .symbol(let symbol) = cursor.current.kind, let op = ArithmeticOperator(rawValue: symbol),
              op.precedence >= minimumPrecedence {
            cursor.advance()
            // `^` is right-associative, the others left-associative.
            let right = try metric(minimumPrecedence: op == .power ? op.precedence : op.precedence + 1)
            left = .binary(op, left, right)
        }
        return left
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

    mutating func primary() throws(QueryParseError) -> MetricExpression {
        let token = cursor.current
        switch token.kind {
        case .number(let value):
            cursor.advance()
            return .literal(value)
        case .symbol("("):
            cursor.advance()
            let inner = try metric(minimumPrecedence: 1)
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
                return try rangeAggregation(function)
            }
            if let op = AggregationOperator(rawValue: name) {
                cursor.advance()
                var grouping = try groupingClause()
                try cursor.expect("(")
                let inner = try metric(minimumPrecedence: 1)
                try cursor.expect(")")
                if grouping == nil { grouping = try groupingClause() }
                guard !inner.isScalar else {
                    throw QueryParseError(column: token.column, "\(name) needs a vector, not a scalar")
                }
                return .aggregation(op, grouping, inner)
            }
            throw QueryParseError(column: token.column, "syntax error: unexpected \(name): supported are count_over_time, rate, bytes_over_time, bytes_rate, sum, count, min, max, avg, vector and numbers")
        default:
            throw cursor.unexpected(expected: "a metric expression")
        }
    }

    mutating func rangeAggregation(_ function: RangeFunction) throws(QueryParseError) -> MetricExpression {
        try cursor.expect("(")
        guard cursor.isSymbol("{") else { throw cursor.unexpected(expected: "a log stream selector") }
        var selector = try logSelector()
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
        // The pipeline may also follow the range: `{…}[5m] |= "x"`.
        try pipeline(into: &selector)
        try cursor.expect(")")
        return .range(function, selector, range: range)
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
        return Grouping(without: without, labels: labels)
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
