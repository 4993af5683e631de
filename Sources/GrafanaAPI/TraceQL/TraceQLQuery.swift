import Foundation

/// A TraceQL query (docs/grafana.md, "TraceQL features"): spanset filters
/// `{ resource.service.name = "shop" && duration > 100ms }` joined by the spanset operators
/// `&&`, `||`, `>>`, `>`, `<<`, `<`, `~` (with their `!` negations and `&` unions), then a
/// pipeline (`| by(…)`, `| select(…)`, `| count() > 2`, `| avg(duration) > 1s`, `| { … }`), and
/// at the end optionally one metrics function (`| rate() by (…)`, `| quantile_over_time(duration,
/// .9)`, … `| topk(5)`, `| compare({ status = error })`). Pipelines may also stand inside
/// parentheses between spanset operators. `with(…)` hints are accepted and ignored. `{}`
/// matches every span; a trace matches when it has a spanset left at the end.
///
/// Attributes: the intrinsics `name`, `status` (`error`, `ok`, `unset`), `kind` (`server`, …),
/// `duration`, `statusMessage`, `rootName`, `rootServiceName`, `traceDuration` (also spelled
/// `span:name`, `trace:rootService`, …), `span:id`, `trace:id`, `span:parentID`,
/// `span:childCount`, `nestedSetParent` compared with 0 or -1 (root spans); scoped attributes
/// `span.x`, `resource.x`, `event.x`, `link.x`, `instrumentation.x`, `event:name`,
/// `link:traceID`, `link:spanID`, `instrumentation:name`, `instrumentation:version`; unscoped
/// `.x` (span or resource); `parent.…` in comparisons. `= nil` / `!= nil` test presence; `!`
/// negates; `+ - * /` compute over numeric attributes before a comparison. Regular
/// expressions are fully anchored, as in Prometheus matchers.
public struct TraceQLQuery: Sendable, Equatable {
    public var spansets: TraceQLSpansets
    public var pipeline: [TraceQLStage]
    public var metrics: TraceQLMetrics?

    public init(spansets: TraceQLSpansets, pipeline: [TraceQLStage] = [], metrics: TraceQLMetrics? = nil) {
        self.spansets = spansets
        self.pipeline = pipeline
        self.metrics = metrics
    }

    /// One spanset filter, no pipeline.
    public init(filter: TraceQLExpression?) { self.init(spansets: .filter(filter)) }

    /// The filter when the query is one spanset filter with no operators or pipeline (what a
    /// single SQL statement answers), else nil with `isSingleFilter` false.
    public var filter: TraceQLExpression? {
        if case .filter(let filter) = spansets, pipeline.isEmpty { return filter }
        return nil
    }

    public var isSingleFilter: Bool {
        if case .filter = spansets, pipeline.isEmpty { return true }
        return false
    }

    public static func parse(_ text: String) throws(QueryParseError) -> TraceQLQuery {
        var parser = TraceQLParser(cursor: TokenCursor(try QueryLexer.tokens(text, dashesInIdentifiers: true, extraSymbols: QueryLexer.traceQLSymbols)))
        return try parser.query()
    }
}

/// Spanset filters and the operators between them.
public indirect enum TraceQLSpansets: Sendable, Equatable {
    /// The spans the filter matches (every span when nil).
    case filter(TraceQLExpression?)
    /// Both sides' spans when both have some.
    case and(TraceQLSpansets, TraceQLSpansets)
    /// Either side's spans.
    case or(TraceQLSpansets, TraceQLSpansets)
    case structural(TraceQLStructure, TraceQLSpansets, TraceQLSpansets)
    /// `({ … } | count() > 1)`: a pipeline inside parentheses; its spansets' spans, together.
    case pipeline(TraceQLSpansets, [TraceQLStage])
}

/// `{A} >> {B}`: the spans of B that are descendants of a span of A (`>` children, `<<`
/// ancestors, `<` parents, `~` siblings); negated (`!>>`): those of B that are not; union
/// (`&>>`): those of B and the spans of A they relate to.
public struct TraceQLStructure: Sendable, Equatable {
    public enum Relation: String, Sendable, Equatable {
        case descendant = ">>", child = ">", ancestor = "<<", parent = "<", sibling = "~"
    }

    public var relation: Relation
    public var negated: Bool
    public var union: Bool

    public init(_ relation: Relation, negated: Bool = false, union: Bool = false) {
        self.relation = relation
        self.negated = negated
        self.union = union
    }

    public var text: String { (negated ? "!" : union ? "&" : "") + relation.rawValue }
}

/// One step of a pipeline.
public enum TraceQLStage: Sendable, Equatable {
    /// Keeps the spans of each spanset the filter expression matches.
    case filter(TraceQLSpansets)
    /// Shows these attributes on each span.
    case select([TraceQLAttribute])
    /// Splits each spanset by the attributes' values.
    case by([TraceQLAttribute])
    /// Merges a trace's spansets into one.
    case coalesce
    /// Keeps the spansets whose aggregate compares true with the number.
    case aggregate(TraceQLAggregate, TraceQLOperator, Double)
}

public enum TraceQLAggregate: Sendable, Equatable {
    case count
    case avg(TraceQLAttribute), min(TraceQLAttribute), max(TraceQLAttribute), sum(TraceQLAttribute)

    public var text: String {
        switch self {
        case .count: return "count()"
        case .avg(let a): return "avg(\(a.text))"
        case .min(let a): return "min(\(a.text))"
        case .max(let a): return "max(\(a.text))"
        case .sum(let a): return "sum(\(a.text))"
        }
    }
}

/// A metrics function at the end of a query, its `by (…)` and `topk`/`bottomk` after it.
public struct TraceQLMetrics: Sendable, Equatable {
    public enum Function: Sendable, Equatable {
        case rate, countOverTime
        case minOverTime(TraceQLAttribute), maxOverTime(TraceQLAttribute), avgOverTime(TraceQLAttribute), sumOverTime(TraceQLAttribute)
        case quantileOverTime(TraceQLAttribute, [Double])
        case histogramOverTime(TraceQLAttribute)
        /// Traces Drilldown's comparison: the spans the filter matches (the selection, within
        /// `start..<end` nanoseconds when given) against the others (the baseline), counted per
        /// attribute value, the `topN` values of each attribute.
        case compare(TraceQLExpression?, topN: Int, start: Int64?, end: Int64?)
    }

    public enum Rank: Sendable, Equatable {
        case topk(Int), bottomk(Int)
    }

    public var function: Function
    public var by: [TraceQLAttribute]
    public var ranks: [Rank]

    public init(_ function: Function, by: [TraceQLAttribute] = [], ranks: [Rank] = []) {
        self.function = function
        self.by = by
        self.ranks = ranks
    }
}

public indirect enum TraceQLExpression: Sendable, Equatable {
    case and(TraceQLExpression, TraceQLExpression)
    case or(TraceQLExpression, TraceQLExpression)
    case comparison(TraceQLAttribute, TraceQLOperator, TraceQLValue)
    /// `attribute != nil` (true) or `attribute = nil` (false).
    case exists(TraceQLAttribute, Bool)
    /// `nestedSetParent < 0` (true: root spans) or `nestedSetParent >= 0` (false).
    case root(Bool)
    /// `true` or `false` on its own.
    case constant(Bool)
    /// `!( … )`: the spans the expression does not match.
    case not(TraceQLExpression)
    /// `parent.x = …`: the span's parent matches the expression.
    case parent(TraceQLExpression)
    /// `span.a + 1 > 2`: arithmetic over numeric attributes compared with a number (durations
    /// in nanoseconds).
    case arithmetic(TraceQLArithmetic, TraceQLOperator, Double)
}

/// Arithmetic in a field expression: `+`, `-`, `*`, `/` over numeric attributes and numbers.
public indirect enum TraceQLArithmetic: Sendable, Equatable {
    case attribute(TraceQLAttribute)
    case number(Double)
    case binary(Character, TraceQLArithmetic, TraceQLArithmetic)
}

public enum TraceQLAttribute: Sendable, Equatable, Hashable {
    case name, status, kind, duration, statusMessage, rootName, rootServiceName, traceDuration
    case eventName, linkTraceID, linkSpanID
    /// `span:id`, `trace:id`, `span:parentID` (hex), `span:childCount`.
    case spanID, traceID, parentID, childCount
    /// `instrumentation:name`, `instrumentation:version`, `instrumentation.x`: the span's
    /// instrumentation scope.
    case instrumentationName, instrumentationVersion
    case instrumentation(String)
    case span(String)
    case resource(String)
    case event(String)
    case link(String)
    /// `.key`: the span's attribute or its resource's.
    case unscoped(String)

    static let intrinsics: [String: TraceQLAttribute] = [
        "name": .name, "status": .status, "kind": .kind, "duration": .duration, "statusMessage": .statusMessage,
        "rootName": .rootName, "rootServiceName": .rootServiceName, "traceDuration": .traceDuration,
        "event:name": .eventName, "link:traceID": .linkTraceID, "link:spanID": .linkSpanID,
        "span:id": .spanID, "trace:id": .traceID, "span:parentID": .parentID, "span:childCount": .childCount,
        "instrumentation:name": .instrumentationName, "instrumentation:version": .instrumentationVersion,
    ]

    /// Tempo's scoped spellings of the same intrinsics.
    static let scopedIntrinsics: [String: TraceQLAttribute] = [
        "span:name": .name, "span:status": .status, "span:kind": .kind, "span:duration": .duration,
        "span:statusMessage": .statusMessage, "trace:rootName": .rootName, "trace:rootService": .rootServiceName,
        "rootService": .rootServiceName, "trace:duration": .traceDuration,
    ]

    /// Intrinsics and scopes Tempo has and Sightline does not answer: named in the 400.
    static let unsupported: Set<String> = [
        "childCount", "traceID", "spanID", "parentID", "id",
        "nestedSetLeft", "nestedSetRight", "event:timeSinceStart", "timeSinceStart", "parent", "version",
    ]

    /// The attribute named `text` as Tempo spells it (`span.http.route`, `resource.service.name`,
    /// `.foo`, `name`), or nil.
    public init?(_ text: String) {
        if let intrinsic = Self.intrinsics[text] ?? Self.scopedIntrinsics[text] {
            self = intrinsic
        } else if text.hasPrefix("event."), text.count > 6 {
            self = .event(String(text.dropFirst(6)))
        } else if text.hasPrefix("link."), text.count > 5 {
            self = .link(String(text.dropFirst(5)))
        } else if text.hasPrefix("instrumentation."), text.count > 16 {
            self = .instrumentation(String(text.dropFirst(16)))
        } else if text.hasPrefix("span."), text.count > 5 {
            self = .span(String(text.dropFirst(5)))
        } else if text.hasPrefix("resource."), text.count > 9 {
            self = .resource(String(text.dropFirst(9)))
        } else if text.hasPrefix("."), text.count > 1 {
            self = .unscoped(String(text.dropFirst()))
        } else {
            return nil
        }
    }

    public var text: String {
        switch self {
        case .span(let key): return "span." + key
        case .resource(let key): return "resource." + key
        case .event(let key): return "event." + key
        case .link(let key): return "link." + key
        case .instrumentation(let key): return "instrumentation." + key
        case .unscoped(let key): return "." + key
        default: return Self.intrinsics.first { $0.value == self }?.key ?? ""
        }
    }
}

public enum TraceQLOperator: String, Sendable, Equatable, CaseIterable {
    case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    case greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="

    var isRegex: Bool { self == .matches || self == .notMatches }
    var isOrdering: Bool { self == .greater || self == .less || self == .greaterOrEqual || self == .lessOrEqual }
}

public enum TraceQLValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case duration(Int64)
    case bool(Bool)
    /// `error` (2), `ok` (1), `unset` (0): OTLP status codes.
    case status(Int32)
    /// `server` (2), … : OTLP span kinds.
    case kind(Int32)

    static let statuses: [String: Int32] = ["unset": 0, "ok": 1, "error": 2]
    static let kinds: [String: Int32] = ["unspecified": 0, "internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5]
}

struct TraceQLParser {
    var cursor: TokenCursor

    static let metricsFunctions = ["rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
                                   "quantile_over_time", "histogram_over_time", "compare"]

    mutating func query() throws(QueryParseError) -> TraceQLQuery {
        let spansets = try spansetOr()
        var stages: [TraceQLStage] = []
        var metrics: TraceQLMetrics?
        while cursor.isSymbol("|") {
            if metrics != nil {
                cursor.advance()
                metrics?.ranks.append(try rank())
                continue
            }
            cursor.advance()
            if case .identifier(let word) = cursor.current.kind, Self.metricsFunctions.contains(word) {
                metrics = try metricsFunction()
            } else {
                stages.append(try stage())
            }
        }
        if cursor.isIdentifier("with") { try hints() }
        guard cursor.current.kind == .end else {
            if case .symbol(let symbol) = cursor.current.kind, ["+", "-", "*", "/", "%", "^"].contains(symbol) {
                throw QueryParseError(column: cursor.current.column, "unsupported: arithmetic between metrics or spansets")
            }
            throw cursor.unexpected(expected: "end of query")
        }
        return TraceQLQuery(spansets: spansets, pipeline: stages, metrics: metrics)
    }

    /// `with(key=value, …)`: query hints, accepted and ignored (they tune sampling in Tempo).
    mutating func hints() throws(QueryParseError) {
        cursor.advance()
        try cursor.expect("(", " after with")
        while !cursor.isSymbol(")") {
            _ = try cursor.identifier("a hint name")
            try cursor.expect("=")
            switch cursor.current.kind {
            case .identifier, .number, .string, .duration: cursor.advance()
            default: throw cursor.unexpected(expected: "a hint value")
            }
            if !cursor.take(",") { break }
        }
        try cursor.expect(")", " to close with(")
    }

    // MARK: Spansets

    mutating func spansetOr() throws(QueryParseError) -> TraceQLSpansets {
        try cursor.enter()
        defer { cursor.leave() }
        var left = try spansetOperand()
        while true {
            if cursor.take("&&") {
                left = .and(left, try spansetOperand())
            } else if cursor.take("||") {
                left = .or(left, try spansetOperand())
            } else if let structure = structuralOperator() {
                cursor.advance()
                left = .structural(structure, left, try spansetOperand())
            } else {
                return left
            }
        }
    }

    /// The structural operator at the cursor, between two spansets (where `!~` means "not a
    /// sibling"; inside a spanset it is a regular expression's negation).
    func structuralOperator() -> TraceQLStructure? {
        guard case .symbol(let symbol) = cursor.current.kind else { return nil }
        var text = Substring(symbol)
        var negated = false
        var union = false
        if text.hasPrefix("!") && text.count > 1 { negated = true; text = text.dropFirst() }
        if text.hasPrefix("&") && text.count > 1 && text != "&&" { union = true; text = text.dropFirst() }
        guard let relation = TraceQLStructure.Relation(rawValue: String(text)) else { return nil }
        return TraceQLStructure(relation, negated: negated, union: union)
    }

    mutating func spansetOperand() throws(QueryParseError) -> TraceQLSpansets {
        if cursor.take("(") {
            let inner = try spansetOr()
            var stages: [TraceQLStage] = []
            while cursor.take("|") {
                if case .identifier(let word) = cursor.current.kind, Self.metricsFunctions.contains(word) {
                    throw QueryParseError(column: cursor.current.column, "unsupported: a metrics function inside parentheses (put it at the end of the query)")
                }
                stages.append(try stage())
            }
            try cursor.expect(")")
            return stages.isEmpty ? inner : .pipeline(inner, stages)
        }
        try cursor.expect("{", " to open a spanset")
        var filter: TraceQLExpression?
        if !cursor.isSymbol("}") { filter = try orExpression() }
        try cursor.expect("}", " to close the spanset")
        return .filter(filter)
    }

    // MARK: Pipeline

    mutating func stage() throws(QueryParseError) -> TraceQLStage {
        let start = cursor.current
        if cursor.isSymbol("{") || cursor.isSymbol("(") { return .filter(try spansetOr()) }
        let name = try cursor.identifier("a pipeline stage (a spanset, select, by, count, avg, min, max, sum or a metrics function)")
        switch name {
        case "select":
            try cursor.expect("(", " after select")
            var attributes = [try attribute()]
            while cursor.take(",") { attributes.append(try attribute()) }
            try cursor.expect(")", " to close select(")
            return .select(attributes)
        case "by":
            try cursor.expect("(", " after by")
            var attributes = [try attribute()]
            while cursor.take(",") { attributes.append(try attribute()) }
            try cursor.expect(")", " to close by(")
            return .by(attributes)
        case "count", "avg", "min", "max", "sum":
            try cursor.expect("(", " after \(name)")
            let aggregate: TraceQLAggregate
            if name == "count" {
                aggregate = .count
            } else {
                let attribute = try attribute()
                switch name {
                case "avg": aggregate = .avg(attribute)
                case "min": aggregate = .min(attribute)
                case "max": aggregate = .max(attribute)
                default: aggregate = .sum(attribute)
                }
            }
            try cursor.expect(")", " to close \(name)(")
            let operatorToken = cursor.current
            guard case .symbol(let symbol) = operatorToken.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol), !op.isRegex else {
                throw cursor.unexpected(expected: "a comparison (=, !=, >, <, >=, <=) after \(aggregate.text)")
            }
            cursor.advance()
            var negative = false
            if cursor.take("-") { negative = true }
            let threshold: Double
            switch cursor.current.kind {
            case .number(let number): threshold = number
            case .duration(let nanos): threshold = Double(nanos)
            default: throw cursor.unexpected(expected: "a number or duration")
            }
            cursor.advance()
            return .aggregate(aggregate, op, negative ? -threshold : threshold)
        case "coalesce":
            try cursor.expect("(", " after coalesce")
            try cursor.expect(")", " to close coalesce(")
            return .coalesce
        default:
            throw QueryParseError(column: start.column, "unsupported: pipeline stage \"\(name.prefix(40))\"")
        }
    }

    /// An attribute name, in select(), by(), aggregates and metrics functions.
    mutating func attribute() throws(QueryParseError) -> TraceQLAttribute {
        let token = cursor.current
        let name = try cursor.identifier("an attribute")
        return try Self.attribute(name, column: token.column)
    }

    static func attribute(_ name: String, column: Int) throws(QueryParseError) -> TraceQLAttribute {
        if TraceQLAttribute.unsupported.contains(name) {
            throw QueryParseError(column: column, "unsupported: \(name)")
        }
        if name.hasPrefix("parent.") {
            throw QueryParseError(column: column, "unsupported: \(name.prefix(80)) outside a comparison (parent. attributes are supported in spanset filters)")
        }
        guard let attribute = TraceQLAttribute(name) else {
            throw QueryParseError(column: column, "unknown attribute \"\(name)\": use span.<name>, resource.<name>, event.<name>, link.<name>, .<name> or an intrinsic (\(TraceQLAttribute.intrinsics.keys.sorted().joined(separator: ", ")))")
        }
        return attribute
    }

    // MARK: Metrics

    mutating func metricsFunction() throws(QueryParseError) -> TraceQLMetrics {
        let name = try cursor.identifier("a metrics function")
        try cursor.expect("(", " after \(name)")
        let function: TraceQLMetrics.Function
        switch name {
        case "rate": function = .rate
        case "count_over_time": function = .countOverTime
        case "compare":
            try cursor.expect("{", " to open compare()'s spanset")
            var filter: TraceQLExpression?
            if !cursor.isSymbol("}") { filter = try orExpression() }
            try cursor.expect("}", " to close compare()'s spanset")
            var numbers: [Double] = []
            while cursor.take(",") {
                guard case .number(let n) = cursor.current.kind, n >= 0, n.rounded() == n, numbers.count < 3 else {
                    throw cursor.unexpected(expected: "a whole number (the number of values, then the selection's start and end in Unix nanoseconds)")
                }
                numbers.append(n)
                cursor.advance()
            }
            let topN = numbers.first.map { Int(min($0, 1_000)) } ?? 10
            guard topN > 0 else { throw QueryParseError(column: cursor.current.column, "compare(): the number of values must be greater than 0") }
            var window: (Int64, Int64)?
            if numbers.count == 3, numbers[1] > 0 || numbers[2] > 0 {
                guard numbers[1] > 0, numbers[2] > numbers[1] else {
                    throw QueryParseError(column: cursor.current.column, "compare(): the selection's end must be after its start (Unix nanoseconds)")
                }
                window = (Int64(numbers[1]), Int64(numbers[2]))
            } else if numbers.count == 2 {
                throw cursor.unexpected(expected: "\",\" and the selection's end")
            }
            function = .compare(filter, topN: topN, start: window?.0, end: window?.1)
        case "quantile_over_time":
            let attribute = try attribute()
            var quantiles: [Double] = []
            while cursor.take(",") {
                guard case .number(let q) = cursor.current.kind, (0...1).contains(q) else { throw cursor.unexpected(expected: "a quantile between 0 and 1") }
                quantiles.append(q)
                cursor.advance()
            }
            guard !quantiles.isEmpty else { throw cursor.unexpected(expected: "\",\" and a quantile") }
            function = .quantileOverTime(attribute, quantiles)
        default:
            let attribute = try attribute()
            switch name {
            case "min_over_time": function = .minOverTime(attribute)
            case "max_over_time": function = .maxOverTime(attribute)
            case "avg_over_time": function = .avgOverTime(attribute)
            case "sum_over_time": function = .sumOverTime(attribute)
            default: function = .histogramOverTime(attribute)
            }
        }
        try cursor.expect(")", " to close \(name)(")
        var by: [TraceQLAttribute] = []
        if cursor.isIdentifier("by"), case .compare = function {
            throw QueryParseError(column: cursor.current.column, "unsupported: by() after compare()")
        }
        if cursor.isIdentifier("by") {
            cursor.advance()
            try cursor.expect("(", " after by")
            by.append(try attribute())
            while cursor.take(",") { by.append(try attribute()) }
            try cursor.expect(")", " to close by(")
        }
        return TraceQLMetrics(function, by: by)
    }

    /// `topk(n)` or `bottomk(n)` after a metrics function.
    mutating func rank() throws(QueryParseError) -> TraceQLMetrics.Rank {
        let token = cursor.current
        let name = try cursor.identifier("topk or bottomk")
        guard name == "topk" || name == "bottomk" else {
            throw QueryParseError(column: token.column, "unsupported: \(name.prefix(40)) after a metrics function (topk and bottomk are)")
        }
        try cursor.expect("(", " after \(name)")
        guard case .number(let n) = cursor.current.kind, n >= 1, n <= 10_000, n.rounded() == n else {
            throw cursor.unexpected(expected: "a whole number of series")
        }
        cursor.advance()
        try cursor.expect(")", " to close \(name)(")
        return name == "topk" ? .topk(Int(n)) : .bottomk(Int(n))
    }

    // MARK: Field expressions

    mutating func orExpression() throws(QueryParseError) -> TraceQLExpression {
        try cursor.enter()
        defer { cursor.leave() }
        var left = try andExpression()
        while cursor.take("||") { left = .or(left, try andExpression()) }
        return left
    }

    mutating func andExpression() throws(QueryParseError) -> TraceQLExpression {
        var left = try primary()
        while cursor.take("&&") { left = .and(left, try primary()) }
        return left
    }

    mutating func primary() throws(QueryParseError) -> TraceQLExpression {
        if cursor.take("(") {
            let inner = try orExpression()
            try cursor.expect(")")
            return inner
        }
        if cursor.take("!") { return .not(try primary()) }
        if (cursor.isIdentifier("true") || cursor.isIdentifier("false")), !Self.isComparison(cursor.next) {
            let flag = cursor.isIdentifier("true")
            cursor.advance()
            return .constant(flag)
        }
        if Self.isLiteral(cursor.current), case .symbol = cursor.next.kind, Self.isComparison(cursor.next) {
            return try reversedComparison()
        }
        return try comparison()
    }

    static func isComparison(_ token: QueryToken) -> Bool {
        guard case .symbol(let symbol) = token.kind else { return false }
        return TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol) != nil
    }

    static func isLiteral(_ token: QueryToken) -> Bool {
        switch token.kind {
        case .string, .number, .duration: return true
        default: return false
        }
    }

    /// `500 <= span.http.status_code`: the same comparison with the attribute first.
    mutating func reversedComparison() throws(QueryParseError) -> TraceQLExpression {
        let valueToken = cursor.current
        cursor.advance()
        let operatorToken = cursor.current
        guard case .symbol(let symbol) = operatorToken.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol) else {
            throw cursor.unexpected(expected: "a comparison")
        }
        cursor.advance()
        let attributeToken = cursor.current
        let name = try cursor.identifier("an attribute")
        let attribute = try Self.attribute(name, column: attributeToken.column)
        let value: TraceQLValue
        switch valueToken.kind {
        case .string(let text): value = .string(text)
        case .number(let number): value = .number(number)
        case .duration(let nanos): value = .duration(nanos)
        default: throw QueryParseError(column: valueToken.column, "expected a value")
        }
        if op.isRegex { throw QueryParseError(column: operatorToken.column, "invalid comparison: a regular expression goes after the attribute") }
        let flipped: TraceQLOperator
        switch op {
        case .greater: flipped = .less
        case .less: flipped = .greater
        case .greaterOrEqual: flipped = .lessOrEqual
        case .lessOrEqual: flipped = .greaterOrEqual
        default: flipped = op
        }
        try Self.check(attribute, flipped, value, column: operatorToken.column, valueColumn: valueToken.column)
        return .comparison(attribute, flipped, value)
    }

    mutating func comparison() throws(QueryParseError) -> TraceQLExpression {
        let start = cursor.current
        guard case .identifier(var name) = start.kind else {
            if Self.isLiteral(start) || cursor.isSymbol("-") { return try arithmetic(first: try arithmeticOperand()) }
            throw cursor.unexpected(expected: "an attribute")
        }
        if name == "nestedSetParent" { return try nestedSetParent() }
        // `parent.span.x`, `parent.resource.x`, `parent.x`: the same comparison on the parent.
        let onParent = name.hasPrefix("parent.") && name.count > 7
        if onParent {
            name = String(name.dropFirst(7))
            if !name.contains(".") && !name.contains(":") { name = "." + name }
        }
        let attribute = try Self.attribute(name, column: start.column)
        cursor.advance()
        let operatorToken = cursor.current
        if case .symbol(let symbol) = operatorToken.kind, Self.arithmeticOperators.contains(symbol) {
            if onParent { throw QueryParseError(column: operatorToken.column, "unsupported: arithmetic on parent. attributes") }
            try Self.checkNumeric(attribute, column: start.column)
            return try arithmetic(first: .attribute(attribute))
        }
        let comparison = try comparison(attribute)
        return onParent ? .parent(comparison) : comparison
    }

    static let arithmeticOperators: Set<String> = ["+", "-", "*", "/", "%", "^"]

    /// The rest of a comparison after its attribute: the operator and the value.
    mutating func comparison(_ attribute: TraceQLAttribute) throws(QueryParseError) -> TraceQLExpression {
        let operatorToken = cursor.current
        guard case .symbol(let symbol) = operatorToken.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol) else {
            throw cursor.unexpected(expected: "a comparison (=, !=, =~, !~, >, <, >=, <=)")
        }
        cursor.advance()
        let valueToken = cursor.current
        if cursor.isIdentifier("nil") {
            guard op == .equal || op == .notEqual else {
                throw QueryParseError(column: operatorToken.column, "invalid comparison: nil takes = or !=")
            }
            cursor.advance()
            return .exists(attribute, op == .notEqual)
        }
        let value: TraceQLValue
        switch valueToken.kind {
        case .string(let text): value = .string(text)
        case .number(let number): value = .number(number)
        case .duration(let nanos): value = .duration(nanos)
        case .identifier(let word):
            if word == "true" || word == "false" {
                value = .bool(word == "true")
            } else if attribute == .status, let code = TraceQLValue.statuses[word] {
                value = .status(code)
            } else if attribute == .kind, let kind = TraceQLValue.kinds[word] {
                value = .kind(kind)
            } else {
                throw QueryParseError(column: valueToken.column, "unexpected \(word): expected a value (a quoted string, number, duration, true, false\(attribute == .status ? ", error, ok, unset" : attribute == .kind ? ", server, client, …" : ""))")
            }
        case .symbol("-") where { if case .number = cursor.next.kind { return true }; return false }():
            cursor.advance()
            guard case .number(let number) = cursor.current.kind else { throw cursor.unexpected(expected: "a number") }
            value = .number(-number)
        default:
            throw cursor.unexpected(expected: "a value")
        }
        cursor.advance()
        try Self.check(attribute, op, value, column: operatorToken.column, valueColumn: valueToken.column)
        return .comparison(attribute, op, value)
    }

    /// `span.a + 1 > 2`, `duration / 2 < 5ms`: `+`, `-`, `*`, `/` (the last two binding
    /// tighter) over numeric attributes, numbers and durations, then a comparison with a number
    /// or duration.
    mutating func arithmetic(first: TraceQLArithmetic) throws(QueryParseError) -> TraceQLExpression {
        var terms: [TraceQLArithmetic] = []
        var operators: [Character] = []
        var term = first
        while case .symbol(let symbol) = cursor.current.kind, Self.arithmeticOperators.contains(symbol) {
            guard symbol != "%" && symbol != "^" else {
                throw QueryParseError(column: cursor.current.column, "unsupported: \(symbol) in a field expression (+, -, *, / are supported)")
            }
            cursor.advance()
            let next = try arithmeticOperand()
            if symbol == "*" || symbol == "/" {
                term = .binary(Character(symbol), term, next)
            } else {
                terms.append(term)
                operators.append(Character(symbol))
                term = next
            }
        }
        var result = terms.first ?? term
        for (index, op) in operators.enumerated() {
            result = .binary(op, result, index + 1 < terms.count ? terms[index + 1] : term)
        }
        let operatorToken = cursor.current
        guard case .symbol(let symbol) = operatorToken.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol), !op.isRegex else {
            throw cursor.unexpected(expected: "a comparison (=, !=, >, <, >=, <=) after arithmetic")
        }
        cursor.advance()
        guard case .number(let value) = try arithmeticOperand() else {
            throw QueryParseError(column: operatorToken.column, "unsupported: an attribute on both sides of a comparison (compare arithmetic with a number or duration)")
        }
        return .arithmetic(result, op, value)
    }

    /// A number, a duration (in nanoseconds), `-` and a number, or a numeric attribute.
    mutating func arithmeticOperand() throws(QueryParseError) -> TraceQLArithmetic {
        let token = cursor.current
        switch token.kind {
        case .number(let number): cursor.advance(); return .number(number)
        case .duration(let nanos): cursor.advance(); return .number(Double(nanos))
        case .symbol("-"):
            cursor.advance()
            guard case .number(let inner) = try arithmeticOperand() else { throw cursor.unexpected(expected: "a number after -") }
            return .number(-inner)
        case .identifier(let name):
            if name.hasPrefix("parent.") { throw QueryParseError(column: token.column, "unsupported: arithmetic on parent. attributes") }
            let attribute = try Self.attribute(name, column: token.column)
            try Self.checkNumeric(attribute, column: token.column)
            cursor.advance()
            return .attribute(attribute)
        default:
            throw cursor.unexpected(expected: "a number, duration or numeric attribute")
        }
    }

    /// Arithmetic takes the attributes that can hold numbers.
    static func checkNumeric(_ attribute: TraceQLAttribute, column: Int) throws(QueryParseError) {
        switch attribute {
        case .duration, .traceDuration, .childCount, .span, .resource, .unscoped, .instrumentation: return
        default: throw QueryParseError(column: column, "invalid arithmetic: \(attribute.text) is not a number")
        }
    }

    /// `nestedSetParent < 0` (root spans) and the comparisons with 0 or -1 that mean the same
    /// or its opposite; Sightline keeps no other nested-set numbers.
    mutating func nestedSetParent() throws(QueryParseError) -> TraceQLExpression {
        let start = cursor.current
        cursor.advance()
        guard case .symbol(let symbol) = cursor.current.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol), !op.isRegex else {
            throw cursor.unexpected(expected: "a comparison")
        }
        cursor.advance()
        let negative = cursor.take("-")
        guard case .number(let magnitude) = cursor.current.kind else { throw cursor.unexpected(expected: "0 or -1") }
        cursor.advance()
        let value = negative ? -magnitude : magnitude
        switch (op, value) {
        case (.less, 0), (.equal, -1), (.lessOrEqual, -1): return .root(true)
        case (.greaterOrEqual, 0), (.greater, -1), (.notEqual, -1): return .root(false)
        default: throw QueryParseError(column: start.column, "unsupported: nestedSetParent compared other than with 0 or -1 (Sightline answers root spans only: nestedSetParent < 0)")
        }
    }

    /// The comparisons that make sense for each attribute and value.
    static func check(_ attribute: TraceQLAttribute, _ op: TraceQLOperator, _ value: TraceQLValue, column: Int, valueColumn: Int) throws(QueryParseError) {
        func refuse(_ reason: String) -> QueryParseError { QueryParseError(column: column, "invalid comparison: \(attribute.text) \(op.rawValue) … \(reason)") }
        switch attribute {
        case .name, .statusMessage, .rootName, .rootServiceName, .eventName, .linkTraceID, .linkSpanID, .spanID, .traceID, .parentID,
             .instrumentationName, .instrumentationVersion:
            guard case .string = value else { throw refuse("(\(attribute.text) is a string)") }
        case .childCount:
            guard case .number = value else { throw refuse("(span:childCount is a number)") }
        case .status:
            guard case .status = value else { throw refuse("(status is error, ok or unset)") }
        case .kind:
            guard case .kind = value else { throw refuse("(kind is server, client, producer, consumer, internal or unspecified)") }
        case .duration, .traceDuration:
            guard case .duration = value else { throw refuse("(\(attribute.text) is a duration such as 100ms)") }
        case .span, .resource, .unscoped, .event, .link, .instrumentation:
            if case .status = value { throw refuse("") }
            if case .kind = value { throw refuse("") }
        }
        switch value {
        case .string(let pattern):
            if op.isOrdering { throw refuse("(strings take =, !=, =~, !~)") }
            if op.isRegex {
                do {
                    _ = try NSRegularExpression(pattern: pattern)
                } catch {
                    throw QueryParseError(column: valueColumn, "invalid regular expression \"\(pattern.prefix(80))\"")
                }
            }
        case .number, .duration:
            if op.isRegex { throw refuse("(=~ and !~ take a string)") }
        case .bool, .status, .kind:
            if op != .equal && op != .notEqual { throw refuse("(takes = or !=)") }
        }
    }
}
