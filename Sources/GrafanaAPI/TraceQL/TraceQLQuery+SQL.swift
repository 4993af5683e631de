import Store

// TraceQL compiled to a condition over one span row (`enterprise.trace_spans s`) joined with
// its trace (`enterprise.traces t`). Every value is bound; attribute keys are bound too (JSON
// paths on SQLite, `->` keys on PostgreSQL). Regular expressions: `REGEXP` on SQLite (a
// function the SQLite store registers, NSRegularExpression), `~` on PostgreSQL, both anchored.

extension TraceQLExpression {
    /// A boolean SQL expression over `s` (span) and `t` (trace).
    func sql(_ builder: inout SQLBuilder) -> String {
        switch self {
        case .and(let left, let right):
            let l = left.sql(&builder)
            let r = right.sql(&builder)
            return "(\(l) AND \(r))"
        case .or(let left, let right):
            let l = left.sql(&builder)
            let r = right.sql(&builder)
            return "(\(l) OR \(r))"
        case .comparison(let attribute, let op, let value):
            return TraceQLSQL.comparison(attribute, op, value, &builder)
        }
    }
}

enum TraceQLSQL {
    static func comparison(_ attribute: TraceQLAttribute, _ op: TraceQLOperator, _ value: TraceQLValue, _ sql: inout SQLBuilder) -> String {
        switch attribute {
        case .name: return compare("s.operation_name", op, value, &sql)
        case .statusMessage: return compare("s.error_message", op, value, &sql)
        case .rootName: return compare("t.root_span_name", op, value, &sql)
        case .rootServiceName: return compare("t.service_name", op, value, &sql)
        case .status:
            guard case .status(let code) = value else { return "0 = 1" }
            return "s.status_code \(op == .equal ? "=" : "<>") \(sql.bind(Int64(code)))"
        case .kind:
            guard case .kind(let kind) = value else { return "0 = 1" }
            return "s.span_kind \(op == .equal ? "=" : "<>") \(sql.bind(Int64(kind)))"
        case .duration:
            return compare("(s.end_time_unix_nano - s.start_time_unix_nano)", op, value, &sql)
        case .traceDuration:
            return compare("(t.end_time_unix_nano - t.start_time_unix_nano)", op, value, &sql)
        case .resource("service.name"):
            return compare("s.service_name", op, value, &sql)
        case .span(let key):
            return spanAttribute(key, op, value, &sql)
        case .resource(let key):
            return resourceAttribute("s.resource", key, op, value, &sql)
        case .unscoped("service.name"):
            let span = spanAttribute("service.name", op, value, &sql)
            let column = compare("s.service_name", op, value, &sql)
            return "(\(span) OR \(column))"
        case .unscoped(let key):
            let span = spanAttribute(key, op, value, &sql)
            let resource = resourceAttribute("s.resource", key, op, value, &sql)
            return "(\(span) OR \(resource))"
        }
    }

    /// A column compared with a value; `!=` and `!~` are false where the column is NULL (as in
    /// Tempo, a missing attribute matches nothing).
    static func compare(_ column: String, _ op: TraceQLOperator, _ value: TraceQLValue, _ sql: inout SQLBuilder) -> String {
        switch value {
        case .string(let text):
            switch op {
            case .matches: return regex(column, text, &sql)
            case .notMatches: return "NOT \(regex(column, text, &sql))"
            default: return "\(column) \(sqlOperator(op)) \(sql.bind(text))"
            }
        case .number(let number): return "\(column) \(sqlOperator(op)) \(sql.bind(number))"
        case .duration(let nanos): return "\(column) \(sqlOperator(op)) \(sql.bind(nanos))"
        case .bool(let flag): return "\(column) \(sqlOperator(op)) \(sql.bind(Int64(flag ? 1 : 0)))"
        case .status(let code), .kind(let code): return "\(column) \(sqlOperator(op)) \(sql.bind(Int64(code)))"
        }
    }

    /// `value REGEXP pattern` / `value ~ pattern`, anchored at both ends.
    static func regex(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String {
        let anchored = LogQLRegex.anchored(pattern)
        switch sql.dialect {
        case .sqlite: return "(\(column) REGEXP \(sql.bind(anchored)))"
        case .postgres: return "(\(column) ~ \(sql.bind(anchored)))"
        }
    }

    static func sqlOperator(_ op: TraceQLOperator) -> String {
        switch op {
        case .equal: return "="
        case .notEqual: return "<>"
        case .greater: return ">"
        case .less: return "<"
        case .greaterOrEqual: return ">="
        case .lessOrEqual: return "<="
        case .matches, .notMatches: return "="
        }
    }

    /// A span attribute in the flat `tags` object, type-checked like Tempo (a string never
    /// equals a number).
    static func spanAttribute(_ key: String, _ op: TraceQLOperator, _ value: TraceQLValue, _ sql: inout SQLBuilder) -> String {
        switch sql.dialect {
        case .sqlite:
            let path = "$.\"" + key + "\""
            switch value {
            case .string:
                let p1 = sql.bind(path)
                let guardText = "json_type(s.tags, \(p1)) = 'text'"
                let p2 = sql.bind(path)
                return "(\(guardText) AND \(compare("json_extract(s.tags, \(p2))", op, value, &sql)))"
            case .number, .duration:
                let p1 = sql.bind(path)
                let guardText = "json_type(s.tags, \(p1)) IN ('integer', 'real')"
                let p2 = sql.bind(path)
                return "(\(guardText) AND \(compare("json_extract(s.tags, \(p2))", op, value, &sql)))"
            case .bool(let flag):
                let p1 = sql.bind(path)
                return "(json_type(s.tags, \(p1)) = '\(flag == (op == .equal) ? "true" : "false")')"
            case .status, .kind:
                return "0 = 1"
            }
        case .postgres:
            switch value {
            case .string:
                let k1 = sql.bind(key)
                let guardText = "jsonb_typeof(s.tags -> \(k1)) = 'string'"
                let k2 = sql.bind(key)
                return "(\(guardText) AND \(compare("(s.tags ->> \(k2))", op, value, &sql)))"
            case .number, .duration:
                let k1 = sql.bind(key)
                let k2 = sql.bind(key)
                let number = "(CASE WHEN jsonb_typeof(s.tags -> \(k1)) = 'number' THEN (s.tags ->> \(k2))::float8 END)"
                return "(\(number) IS NOT NULL AND \(compare(number, op, value, &sql)))"
            case .bool(let flag):
                let k1 = sql.bind(key)
                return "(s.tags -> \(k1) = '\(flag == (op == .equal) ? "true" : "false")'::jsonb)"
            case .status, .kind:
                return "0 = 1"
            }
        }
    }

    /// An attribute of the OTLP/JSON resource object in `column`
    /// (`{"attributes": [{"key": …, "value": {"stringValue": …}}]}`).
    static func resourceAttribute(_ column: String, _ key: String, _ op: TraceQLOperator, _ value: TraceQLValue, _ sql: inout SQLBuilder) -> String {
        switch sql.dialect {
        case .sqlite:
            let keyPlaceholder = sql.bind(key)
            let element: String
            switch value {
            case .string: element = "json_extract(a.value, '$.value.stringValue')"
            case .number, .duration:
                element = "coalesce(CAST(json_extract(a.value, '$.value.intValue') AS REAL), json_extract(a.value, '$.value.doubleValue'))"
            case .bool: element = "json_extract(a.value, '$.value.boolValue')"
            case .status, .kind: return "0 = 1"
            }
            let condition = compare(element, op, value, &sql)
            return "EXISTS (SELECT 1 FROM json_each(\(column), '$.attributes') a WHERE json_extract(a.value, '$.key') = \(keyPlaceholder) AND \(condition))"
        case .postgres:
            let keyPlaceholder = sql.bind(key)
            let element: String
            switch value {
            case .string: element = "(a -> 'value' ->> 'stringValue')"
            case .number, .duration:
                element = "(CASE WHEN (a -> 'value' ->> 'intValue') IS NOT NULL THEN (a -> 'value' ->> 'intValue')::float8 WHEN jsonb_typeof(a -> 'value' -> 'doubleValue') = 'number' THEN (a -> 'value' ->> 'doubleValue')::float8 END)"
            case .bool: element = "(CASE (a -> 'value' ->> 'boolValue') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
            case .status, .kind: return "0 = 1"
            }
            let condition = compare(element, op, value, &sql)
            return "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(\(column) -> 'attributes') = 'array' THEN \(column) -> 'attributes' ELSE '[]'::jsonb END) a WHERE a ->> 'key' = \(keyPlaceholder) AND \(condition))"
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
