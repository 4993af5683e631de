import Foundation

/// A TraceQL query of the subset Sightline answers: one spanset filter,
/// `{ resource.service.name = "shop" && span.http.route = "/cart" && duration > 100ms }`,
/// with `&&`, `||`, parentheses and the comparisons `=`, `!=`, `=~`, `!~`, `>`, `<`, `>=`, `<=`.
/// `{}` matches every span. A trace matches when one of its spans does.
///
/// Attributes: the intrinsics `name`, `status` (`error`, `ok`, `unset`), `kind` (`server`, …),
/// `duration`, `statusMessage`, `rootName`, `rootServiceName`, `traceDuration`; scoped attributes
/// `span.x` and `resource.x`; unscoped `.x` (span or resource). Regular expressions are fully
/// anchored, as in Prometheus matchers.
public struct TraceQLQuery: Sendable, Equatable {
    /// nil for `{}`.
    public var filter: TraceQLExpression?

    public init(filter: TraceQLExpression?) { self.filter = filter }

    public static func parse(_ text: String) throws(QueryParseError) -> TraceQLQuery {
        var parser = TraceQLParser(cursor: TokenCursor(try QueryLexer.tokens(text, dashesInIdentifiers: true)))
        return try parser.query()
    }
}

public indirect enum TraceQLExpression: Sendable, Equatable {
    case and(TraceQLExpression, TraceQLExpression)
    case or(TraceQLExpression, TraceQLExpression)
    case comparison(TraceQLAttribute, TraceQLOperator, TraceQLValue)
}

public enum TraceQLAttribute: Sendable, Equatable, Hashable {
    case name, status, kind, duration, statusMessage, rootName, rootServiceName, traceDuration
    case span(String)
    case resource(String)
    /// `.key`: the span's attribute or its resource's.
    case unscoped(String)

    static let intrinsics: [String: TraceQLAttribute] = [
        "name": .name, "status": .status, "kind": .kind, "duration": .duration, "statusMessage": .statusMessage,
        "rootName": .rootName, "rootServiceName": .rootServiceName, "traceDuration": .traceDuration,
    ]

    /// The attribute named `text` as Tempo spells it (`span.http.route`, `resource.service.name`,
    /// `.foo`, `name`), or nil.
    public init?(_ text: String) {
        if let intrinsic = Self.intrinsics[text] {
            self = intrinsic
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

    mutating func query() throws(QueryParseError) -> TraceQLQuery {
        try cursor.expect("{", " to open a spanset")
        var filter: TraceQLExpression?
        if !cursor.isSymbol("}") { filter = try orExpression() }
        try cursor.expect("}", " to close the spanset")
        guard cursor.current.kind == .end else {
            if cursor.isSymbol("|") || cursor.isSymbol("&&") || cursor.isSymbol("||") {
                throw QueryParseError(column: cursor.current.column, "unsupported: only one spanset filter is supported (no pipelines or spanset operators)")
            }
            throw cursor.unexpected(expected: "end of query")
        }
        return TraceQLQuery(filter: filter)
    }

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
        return try comparison()
    }

    mutating func comparison() throws(QueryParseError) -> TraceQLExpression {
        let start = cursor.current
        guard case .identifier(let name) = start.kind else { throw cursor.unexpected(expected: "an attribute") }
        guard let attribute = TraceQLAttribute(name) else {
            throw QueryParseError(column: start.column, "unknown attribute \"\(name)\": use span.<name>, resource.<name>, .<name> or an intrinsic (\(TraceQLAttribute.intrinsics.keys.sorted().joined(separator: ", ")))")
        }
        cursor.advance()
        let operatorToken = cursor.current
        guard case .symbol(let symbol) = operatorToken.kind, let op = TraceQLOperator(rawValue: symbol == "==" ? "=" : symbol) else {
            throw cursor.unexpected(expected: "a comparison (=, !=, =~, !~, >, <, >=, <=)")
        }
        cursor.advance()
        let valueToken = cursor.current
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

    /// The comparisons that make sense for each attribute and value.
    static func check(_ attribute: TraceQLAttribute, _ op: TraceQLOperator, _ value: TraceQLValue, column: Int, valueColumn: Int) throws(QueryParseError) {
        func refuse(_ reason: String) -> QueryParseError { QueryParseError(column: column, "invalid comparison: \(attribute.text) \(op.rawValue) … \(reason)") }
        switch attribute {
        case .name, .statusMessage, .rootName, .rootServiceName:
            guard case .string = value else { throw refuse("(\(attribute.text) is a string)") }
        case .status:
            guard case .status = value else { throw refuse("(status is error, ok or unset)") }
        case .kind:
            guard case .kind = value else { throw refuse("(kind is server, client, producer, consumer, internal or unspecified)") }
        case .duration, .traceDuration:
            guard case .duration = value else { throw refuse("(\(attribute.text) is a duration such as 100ms)") }
        case .span, .resource, .unscoped:
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
