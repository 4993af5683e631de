// A span condition as SQL over one span row (`enterprise.trace_spans s`) joined with its trace
// (`enterprise.traces t`). Every value is bound; attribute keys are bound too (JSON paths on
// SQLite, `->` keys on PostgreSQL). Regular expressions: `REGEXP` on SQLite (`SQLiteRegexp`),
// `~` on PostgreSQL, both anchored so the whole text must match.

extension SpanCondition {
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
        case .compare(let field, let op, let value):
            return SpanConditionSQL.comparison(field, op, value, &builder)
        }
    }
}

enum SpanConditionSQL {
    static func comparison(_ field: SpanField, _ op: SpanOperator, _ value: SpanValue, _ sql: inout SQLBuilder) -> String {
        switch field {
        case .spanName: return compare("s.operation_name", op, value, &sql)
        case .statusMessage: return compare("s.error_message", op, value, &sql)
        case .rootSpanName: return compare("t.root_span_name", op, value, &sql)
        case .rootServiceName: return compare("t.service_name", op, value, &sql)
        case .statusCode:
            guard case .code(let code) = value else { return "0 = 1" }
            return "s.status_code \(op == .equal ? "=" : "<>") \(sql.bind(Int64(code)))"
        case .spanKind:
            guard case .code(let kind) = value else { return "0 = 1" }
            return "s.span_kind \(op == .equal ? "=" : "<>") \(sql.bind(Int64(kind)))"
        case .duration:
            return compare("(s.end_time_unix_nano - s.start_time_unix_nano)", op, value, &sql)
        case .traceDuration:
            return compare("(t.end_time_unix_nano - t.start_time_unix_nano)", op, value, &sql)
        case .resourceAttribute("service.name"):
            return compare("s.service_name", op, value, &sql)
        case .spanAttribute(let key):
            return spanAttribute(key, op, value, &sql)
        case .resourceAttribute(let key):
            return resourceAttribute(SQLBuilder.resource(of: "s"), key, op, value, &sql)
        case .attribute("service.name"):
            let span = spanAttribute("service.name", op, value, &sql)
            let column = compare("s.service_name", op, value, &sql)
            return "(\(span) OR \(column))"
        case .attribute(let key):
            let span = spanAttribute(key, op, value, &sql)
            let resource = resourceAttribute(SQLBuilder.resource(of: "s"), key, op, value, &sql)
            return "(\(span) OR \(resource))"
        }
    }

    /// A column compared with a value; `!=` and `!~` are false where the column is NULL (as in
    /// Tempo, a missing attribute matches nothing).
    static func compare(_ column: String, _ op: SpanOperator, _ value: SpanValue, _ sql: inout SQLBuilder) -> String {
        switch value {
        case .text(let text):
            switch op {
            case .matches: return regex(column, text, &sql)
            case .notMatches: return "NOT \(regex(column, text, &sql))"
            default: return "\(column) \(sqlOperator(op)) \(sql.bind(text))"
            }
        case .number(let number): return "\(column) \(sqlOperator(op)) \(sql.bind(number))"
        case .duration(let nanos): return "\(column) \(sqlOperator(op)) \(sql.bind(nanos))"
        case .bool(let flag): return "\(column) \(sqlOperator(op)) \(sql.bind(Int64(flag ? 1 : 0)))"
        case .code(let code): return "\(column) \(sqlOperator(op)) \(sql.bind(Int64(code)))"
        }
    }

    /// `value REGEXP pattern` / `value ~ pattern`, anchored at both ends.
    static func regex(_ column: String, _ pattern: String, _ sql: inout SQLBuilder) -> String {
        sql.regex(column, RegexPattern.anchored(pattern))
    }

    static func sqlOperator(_ op: SpanOperator) -> String {
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
    static func spanAttribute(_ key: String, _ op: SpanOperator, _ value: SpanValue, _ sql: inout SQLBuilder) -> String {
        switch sql.dialect {
        case .sqlite:
            let path = "$.\"" + key + "\""
            switch value {
            case .text:
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
            case .code:
                return "0 = 1"
            }
        case .postgres:
            switch value {
            case .text:
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
            case .code:
                return "0 = 1"
            }
        }
    }

    /// An attribute of the OTLP/JSON resource object in `column`
    /// (`{"attributes": [{"key": …, "value": {"stringValue": …}}]}`).
    static func resourceAttribute(_ column: String, _ key: String, _ op: SpanOperator, _ value: SpanValue, _ sql: inout SQLBuilder) -> String {
        let element: String
        switch (value, sql.dialect) {
        case (.code, _): return "0 = 1"
        case (.text, .sqlite): element = "json_extract(a.value, '$.value.stringValue')"
        case (.number, .sqlite), (.duration, .sqlite):
            element = "coalesce(CAST(json_extract(a.value, '$.value.intValue') AS REAL), json_extract(a.value, '$.value.doubleValue'))"
        case (.bool, .sqlite): element = "json_extract(a.value, '$.value.boolValue')"
        case (.text, .postgres): element = "(a -> 'value' ->> 'stringValue')"
        case (.number, .postgres), (.duration, .postgres):
            element = "(CASE WHEN (a -> 'value' ->> 'intValue') IS NOT NULL THEN (a -> 'value' ->> 'intValue')::float8 WHEN jsonb_typeof(a -> 'value' -> 'doubleValue') = 'number' THEN (a -> 'value' ->> 'doubleValue')::float8 END)"
        case (.bool, .postgres): element = "(CASE (a -> 'value' ->> 'boolValue') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
        }
        let keyPlaceholder = sql.bind(key)
        let condition = compare(element, op, value, &sql)
        return "EXISTS (SELECT 1 FROM \(sql.resourceAttributes(column)) a WHERE \(sql.attributeKey("a")) = \(keyPlaceholder) AND \(condition))"
    }
}
