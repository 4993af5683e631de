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
        case .not(let inner):
            // A comparison with an absent value is NULL in SQL, and NOT NULL is NULL: the CASE
            // makes it false first, so `!` keeps the spans without the value.
            return "(CASE WHEN \(inner.sql(&builder)) THEN 0 ELSE 1 END = 1)"
        case .compare(let field, let op, let value):
            return SpanConditionSQL.comparison(field, op, value, &builder)
        case .exists(let field):
            return SpanConditionSQL.exists(field, &builder)
        case .isRoot:
            return "(s.parent_span_id IS NULL OR s.parent_span_id = '')"
        case .constant(let flag):
            return flag ? "1 = 1" : "0 = 1"
        case .compareNumber(let number, let op, let value):
            let left = number.sql(&builder)
            return "(\(left) \(SpanConditionSQL.sqlOperator(op)) \(builder.bind(value)))"
        case .parent(let inner):
            // Inside the subquery `s` is the parent; `t` is still the span's trace.
            return "s.parent_span_id IN (SELECT s.span_id FROM enterprise.trace_spans s WHERE s.trace_id = t.trace_id AND \(inner.sql(&builder)))"
        }
    }
}

extension SpanNumber {
    /// A numeric SQL expression over `s` and `t`, NULL where a field is absent or not a number
    /// and where a divisor is 0.
    func sql(_ builder: inout SQLBuilder) -> String {
        switch self {
        case .field(let field): return "CAST(\(SQLTempoQueries.number(field, &builder)) AS DOUBLE PRECISION)"
        case .constant(let value): return "CAST(\(builder.bind(value)) AS DOUBLE PRECISION)"
        case .add(let l, let r): return binary(l, "+", r, &builder)
        case .subtract(let l, let r): return binary(l, "-", r, &builder)
        case .multiply(let l, let r): return binary(l, "*", r, &builder)
        case .divide(let l, let r):
            let left = l.sql(&builder)
            let right = r.sql(&builder)
            return "(\(left) / NULLIF(\(right), 0))"
        }
    }

    private func binary(_ l: SpanNumber, _ op: String, _ r: SpanNumber, _ builder: inout SQLBuilder) -> String {
        let left = l.sql(&builder)
        let right = r.sql(&builder)
        return "(\(left) \(op) \(right))"
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
        case .eventName:
            let each = elements(StoredEvents.typedForConditions(of: "s", sql.dialect), &sql)
            return "EXISTS (SELECT 1 FROM \(each.from) WHERE \(compare(each.text("name"), op, value, &sql)))"
        case .linkTraceID, .linkSpanID:
            let each = elements("s.links", &sql)
            return "EXISTS (SELECT 1 FROM \(each.from) WHERE \(compare(each.text(field == .linkTraceID ? "traceId" : "spanId"), op, value, &sql)))"
        case .eventAttribute(let key):
            let each = elements(StoredEvents.typedForConditions(of: "s", sql.dialect), &sql)
            return "EXISTS (SELECT 1 FROM \(each.from) WHERE \(resourceAttribute(each.value, key, op, value, &sql)))"
        case .linkAttribute(let key):
            let each = elements("s.links", &sql)
            return "EXISTS (SELECT 1 FROM \(each.from) WHERE \(resourceAttribute(each.value, key, op, value, &sql)))"
        case .traceID: return compare("s.trace_id", op, value, &sql)
        case .spanID: return compare("s.span_id", op, value, &sql)
        case .parentSpanID: return compare("NULLIF(s.parent_span_id, '')", op, value, &sql)
        case .childCount: return compare(childCount, op, value, &sql)
        case .scopeName, .scopeVersion: return compare(scopeText(field == .scopeName ? "name" : "version", &sql), op, value, &sql)
        case .scopeAttribute(let key): return resourceAttribute(SQLBuilder.scope(of: "s"), key, op, value, &sql)
        }
    }

    /// The number of the span's children.
    static let childCount = "(SELECT COUNT(*) FROM enterprise.trace_spans c WHERE c.trace_id = s.trace_id AND c.parent_span_id = s.span_id)"

    /// A string member of the span's OTLP/JSON instrumentation scope (`name`, `version`), NULL
    /// where it is absent or empty.
    static func scopeText(_ member: String, _ sql: inout SQLBuilder) -> String {
        let scope = SQLBuilder.scope(of: "s")
        switch sql.dialect {
        case .sqlite: return "NULLIF(json_extract(\(scope), '$.\(member)'), '')"
        case .postgres: return "NULLIF((\(scope) ->> '\(member)'), '')"
        }
    }

    /// The rows of the JSON array in `column` (events, links) as a table function aliased `e`:
    /// `value` is one element, `text(key)` one of its string members.
    static func elements(_ column: String, _ sql: inout SQLBuilder) -> (from: String, value: String, text: (String) -> String) {
        switch sql.dialect {
        case .sqlite:
            return ("json_each(\(column)) e", "e.value", { "json_extract(e.value, '$.\($0)')" })
        case .postgres:
            return ("jsonb_array_elements(CASE WHEN jsonb_typeof(\(column)) = 'array' THEN \(column) ELSE '[]'::jsonb END) e", "e", { "(e ->> '\($0)')" })
        }
    }

    /// True where `field` has a value on the span (TraceQL's `!= nil`).
    static func exists(_ field: SpanField, _ sql: inout SQLBuilder) -> String {
        switch field {
        case .spanName: return "s.operation_name IS NOT NULL"
        case .statusMessage: return "(s.error_message IS NOT NULL AND s.error_message <> '')"
        case .rootSpanName: return "t.root_span_name IS NOT NULL"
        case .rootServiceName: return "t.service_name IS NOT NULL"
        case .statusCode, .spanKind, .duration, .traceDuration: return "1 = 1"
        case .resourceAttribute("service.name"): return "s.service_name IS NOT NULL"
        case .spanAttribute(let key):
            switch sql.dialect {
            case .sqlite: return "json_type(s.tags, \(sql.bind("$.\"" + key + "\""))) IS NOT NULL"
            case .postgres: return "(s.tags -> \(sql.bind(key))) IS NOT NULL"
            }
        case .resourceAttribute(let key):
            return attributePresent(sql.resourceAttributes(SQLBuilder.resource(of: "s")), key, &sql)
        case .attribute("service.name"):
            return "(\(exists(.spanAttribute("service.name"), &sql)) OR s.service_name IS NOT NULL)"
        case .attribute(let key):
            let span = exists(.spanAttribute(key), &sql)
            let resource = exists(.resourceAttribute(key), &sql)
            return "(\(span) OR \(resource))"
        case .eventName:
            return "EXISTS (SELECT 1 FROM \(elements(StoredEvents.typedForConditions(of: "s", sql.dialect), &sql).from))"
        case .linkTraceID, .linkSpanID:
            return "EXISTS (SELECT 1 FROM \(elements("s.links", &sql).from))"
        case .eventAttribute(let key), .linkAttribute(let key):
            let each = elements(field == .eventAttribute(key) ? StoredEvents.typedForConditions(of: "s", sql.dialect) : "s.links", &sql)
            return "EXISTS (SELECT 1 FROM \(each.from) WHERE \(attributePresent(sql.resourceAttributes(each.value), key, &sql)))"
        case .traceID, .spanID, .childCount: return "1 = 1"
        case .parentSpanID: return "NULLIF(s.parent_span_id, '') IS NOT NULL"
        case .scopeName, .scopeVersion: return "\(scopeText(field == .scopeName ? "name" : "version", &sql)) IS NOT NULL"
        case .scopeAttribute(let key): return attributePresent(sql.resourceAttributes(SQLBuilder.scope(of: "s")), key, &sql)
        }
    }

    /// True where the OTLP/JSON attribute rows `attributes` have one named `key`.
    static func attributePresent(_ attributes: String, _ key: String, _ sql: inout SQLBuilder) -> String {
        "EXISTS (SELECT 1 FROM \(attributes) a WHERE \(sql.attributeKey("a")) = \(sql.bind(key)))"
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
