import Store

// TraceQL as the store's description of what to match (`SpanCondition`): the store turns it into SQL.

extension TraceQLExpression {
    /// The same condition as the store takes it.
    public var spanCondition: SpanCondition {
        switch self {
        case .and(let left, let right): return .and(left.spanCondition, right.spanCondition)
        case .or(let left, let right): return .or(left.spanCondition, right.spanCondition)
        case .comparison(let attribute, let op, let value): return .compare(attribute.spanField, op.spanOperator, value.spanValue)
        case .exists(let attribute, let present): return present ? .exists(attribute.spanField) : .not(.exists(attribute.spanField))
        case .root(let root): return root ? .isRoot : .not(.isRoot)
        case .constant(let flag): return .constant(flag)
        case .not(let inner): return .not(inner.spanCondition)
        case .parent(let inner): return .parent(inner.spanCondition)
        case .arithmetic(let number, let op, let value): return .compareNumber(number.spanNumber, op.spanOperator, value)
        }
    }
}

extension TraceQLArithmetic {
    var spanNumber: SpanNumber {
        switch self {
        case .attribute(let attribute): return .field(attribute.spanField)
        case .number(let value): return .constant(value)
        case .binary(let op, let left, let right):
            switch op {
            case "+": return .add(left.spanNumber, right.spanNumber)
            case "-": return .subtract(left.spanNumber, right.spanNumber)
            case "*": return .multiply(left.spanNumber, right.spanNumber)
            default: return .divide(left.spanNumber, right.spanNumber)
            }
        }
    }
}

extension TraceQLAttribute {
    /// The store's field for the attribute.
    public var spanField: SpanField {
        switch self {
        case .name: return .spanName
        case .status: return .statusCode
        case .kind: return .spanKind
        case .duration: return .duration
        case .statusMessage: return .statusMessage
        case .rootName: return .rootSpanName
        case .rootServiceName: return .rootServiceName
        case .traceDuration: return .traceDuration
        case .eventName: return .eventName
        case .linkTraceID: return .linkTraceID
        case .linkSpanID: return .linkSpanID
        case .event(let key): return .eventAttribute(key)
        case .link(let key): return .linkAttribute(key)
        case .span(let key): return .spanAttribute(key)
        case .resource(let key): return .resourceAttribute(key)
        case .unscoped(let key): return .attribute(key)
        case .spanID: return .spanID
        case .traceID: return .traceID
        case .parentID: return .parentSpanID
        case .childCount: return .childCount
        case .instrumentationName: return .scopeName
        case .instrumentationVersion: return .scopeVersion
        case .instrumentation(let key): return .scopeAttribute(key)
        }
    }
}

extension TraceQLOperator {
    var spanOperator: SpanOperator {
        switch self {
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .matches: return .matches
        case .notMatches: return .notMatches
        case .greater: return .greater
        case .less: return .less
        case .greaterOrEqual: return .greaterOrEqual
        case .lessOrEqual: return .lessOrEqual
        }
    }
}

extension TraceQLValue {
    var spanValue: SpanValue {
        switch self {
        case .string(let text): return .text(text)
        case .number(let number): return .number(number)
        case .duration(let nanos): return .duration(nanos)
        case .bool(let flag): return .bool(flag)
        case .status(let code), .kind(let code): return .code(code)
        }
    }
}

extension TraceQLQuery {
    /// Tempo's legacy `tags=` search (logfmt `key=value` pairs, values quoted when they hold
    /// spaces) as a TraceQL filter: `service.name` is the resource's, `name` the span name,
    /// `status.code`/`status` the status, `error=true` a failed span, others any attribute.
    public static func fromTags(_ text: String) throws(QueryParseError) -> TraceQLExpression? {
        var comparisons: [TraceQLExpression] = []
        for (key, value) in try Logfmt.pairs(text) {
            let attribute: TraceQLAttribute
            var parsed: TraceQLValue = .string(value)
            switch key {
            case "service.name": attribute = .resource("service.name")
            case "name": attribute = .name
            case "status.code", "status":
                attribute = .status
                guard let code = TraceQLValue.statuses[value.lowercased()] ?? TraceQLValue.statuses[value.lowercased().replacingOccurrences(of: "status_code_", with: "")] else {
                    throw QueryParseError(column: 1, "tags: \(key) must be error, ok or unset")
                }
                parsed = .status(code)
            case "error" where value == "true":
                attribute = .status
                parsed = .status(2)
            default:
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "._-:/".contains($0) }) else {
                    throw QueryParseError(column: 1, "tags: invalid tag name \"\(key.prefix(40))\"")
                }
                attribute = .unscoped(key)
            }
            comparisons.append(.comparison(attribute, .equal, parsed))
        }
        guard var combined = comparisons.first else { return nil }
        for next in comparisons.dropFirst() { combined = .and(combined, next) }
        return combined
    }
}

/// logfmt: `key=value key2="quoted value"`.
enum Logfmt {
    static func pairs(_ text: String) throws(QueryParseError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            while index < characters.count, characters[index].isWhitespace { index += 1 }
            guard index < characters.count else { break }
            let keyStart = index
            while index < characters.count, characters[index] != "=", !characters[index].isWhitespace { index += 1 }
            let key = String(characters[keyStart..<index])
            guard index < characters.count, characters[index] == "=" else {
                throw QueryParseError(column: keyStart + 1, "tags: expected key=value, got \"\(key.prefix(40))\"")
            }
            index += 1
            var value = ""
            if index < characters.count, characters[index] == "\"" {
                index += 1
                var closed = false
                while index < characters.count {
                    if characters[index] == "\\", index + 1 < characters.count {
                        value.append(characters[index + 1])
                        index += 2
                        continue
                    }
                    if characters[index] == "\"" { closed = true; index += 1; break }
                    value.append(characters[index])
                    index += 1
                }
                guard closed else { throw QueryParseError(column: keyStart + 1, "tags: unterminated quoted value") }
            } else {
                while index < characters.count, !characters[index].isWhitespace {
                    value.append(characters[index])
                    index += 1
                }
            }
            pairs.append((key, value))
            guard pairs.count <= 64 else { throw QueryParseError(column: keyStart + 1, "tags: more than 64 pairs") }
        }
        return pairs
    }
}
