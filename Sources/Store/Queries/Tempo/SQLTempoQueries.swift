/// `TempoQueries` on either store, over `enterprise.traces t` and `enterprise.trace_spans s`:
/// the statements are the same on both but for the JSON functions (`SpanConditionSQL`).
struct SQLTempoQueries: TempoQueries {
    let reader: DialectReader

    // MARK: Search

    func search(_ search: TraceSearch) async throws(StoreError) -> [FoundTrace] {
        var sql = reader.builder()
        var conditions: [String] = []
        if let start = search.start { conditions.append("t.start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = search.end { conditions.append("t.start_time <= \(sql.bindTime(unixNano: end))") }
        if let minDuration = search.minDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) >= \(sql.bind(minDuration))") }
        if let maxDuration = search.maxDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) <= \(sql.bind(maxDuration))") }
        if let condition = search.condition {
            let spanCondition = condition.sql(&sql)
            conditions.append("EXISTS (SELECT 1 FROM enterprise.trace_spans s WHERE s.trace_id = t.trace_id AND \(spanCondition))")
        }
        let limit = sql.bind(Int64(search.limit))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await reader.rows(sql.query("""
            SELECT t.trace_id, t.service_name, t.root_span_name, t.start_time_unix_nano, t.end_time_unix_nano
            FROM enterprise.traces t \(whereClause)
            ORDER BY t.start_time DESC, t.trace_id LIMIT \(limit)
            """))
        var traces: [FoundTrace] = []
        for row in rows {
            traces.append(FoundTrace(
                traceID: try row.text("trace_id") ?? "", rootServiceName: try row.text("service_name"),
                rootSpanName: try row.text("root_span_name"), startTimeUnixNano: try row.int("start_time_unix_nano"),
                endTimeUnixNano: try row.int("end_time_unix_nano"), spans: nil))
        }
        let matched = try await matchingSpans(traceIDs: traces.map(\.traceID), condition: search.condition, perTrace: search.spansPerTrace)
        for index in traces.indices { traces[index].spans = matched[traces[index].traceID] }
        return traces
    }

    /// Up to `perTrace` spans of each trace that match `condition` (all spans when nil), in start order.
    func matchingSpans(traceIDs: [String], condition: SpanCondition?, perTrace: Int) async throws(StoreError) -> [String: MatchedSpans] {
        guard !traceIDs.isEmpty else { return [:] }
        var sql = reader.builder()
        let ids = traceIDs.map { sql.bind($0) }.joined(separator: ", ")
        let spanCondition = condition?.sql(&sql) ?? "1 = 1"
        let cap = sql.bind(Int64(perTrace))
        let rows = try await reader.rows(sql.query("""
            SELECT * FROM (
                SELECT s.trace_id, s.span_id, s.operation_name, s.service_name, s.start_time_unix_nano, s.end_time_unix_nano, s.status_code,
                       ROW_NUMBER() OVER (PARTITION BY s.trace_id ORDER BY s.start_time_unix_nano, s.span_id) AS position,
                       COUNT(*) OVER (PARTITION BY s.trace_id) AS matched
                FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
                WHERE s.trace_id IN (\(ids)) AND \(spanCondition)
            ) x WHERE x.position <= \(cap) ORDER BY x.trace_id, x.position
            """))
        var sets: [String: MatchedSpans] = [:]
        for row in rows {
            let id = try row.text("trace_id") ?? ""
            let span = MatchedSpan(
                spanID: try row.text("span_id") ?? "", name: try row.text("operation_name") ?? "", serviceName: try row.text("service_name"),
                startTimeUnixNano: try row.int("start_time_unix_nano"), endTimeUnixNano: try row.int("end_time_unix_nano"),
                statusCode: try row.int("status_code"))
            let matched = try row.int("matched") ?? 0
            sets[id, default: MatchedSpans(spans: [], matched: matched)].spans.append(span)
        }
        return sets
    }

    // MARK: Tag names and values

    /// The spans of `sample`, newest first, as a subquery with `columns`.
    func sample(_ sql: inout SQLBuilder, _ sample: SpanSample, columns: String) -> String {
        var conditions: [String] = []
        if let start = sample.start { conditions.append("start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = sample.end { conditions.append("start_time <= \(sql.bindTime(unixNano: end))") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return "(SELECT \(columns) FROM enterprise.trace_spans \(whereClause) ORDER BY start_time DESC LIMIT \(sql.bind(Int64(sample.size))))"
    }

    func attributeNames(_ scope: SpanAttributeScope, in sample: SpanSample, limit: Int) async throws(StoreError) -> [String] {
        var sql = reader.builder()
        let text: String
        switch (scope, sql.dialect) {
        case (.span, .sqlite):
            let spans = self.sample(&sql, sample, columns: "tags")
            text = "SELECT DISTINCT j.key AS name FROM \(spans) s, json_each(s.tags) j WHERE json_valid(s.tags) ORDER BY name LIMIT \(sql.bind(Int64(limit)))"
        case (.span, .postgres):
            let spans = self.sample(&sql, sample, columns: "tags")
            text = "SELECT DISTINCT k AS name FROM \(spans) s, jsonb_object_keys(CASE WHEN jsonb_typeof(s.tags) = 'object' THEN s.tags ELSE '{}'::jsonb END) k ORDER BY name LIMIT \(sql.bind(Int64(limit)))"
        case (.resource, _):
            let spans = self.sample(&sql, sample, columns: "resource_id")
            text = """
                SELECT DISTINCT \(sql.attributeKey("a")) AS name
                FROM (SELECT DISTINCT x.resource_id FROM \(spans) x) s JOIN enterprise.resources r ON r.id = s.resource_id,
                     \(sql.resourceAttributes("r.resource")) a
                ORDER BY name LIMIT \(sql.bind(Int64(limit)))
                """
        }
        var names: [String] = []
        for row in try await reader.rows(sql.query(text)) {
            if let name = try row.text("name") { names.append(name) }
        }
        return names
    }

    func values(of field: SpanField, where condition: SpanCondition?, in sample: SpanSample, limit: Int) async throws(StoreError) -> [SpanFieldValue] {
        var sql = reader.builder()
        guard let selected = Self.valueAndType(field, &sql) else { return [] }
        var conditions: [String] = []
        if let start = sample.start { conditions.append("s.start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = sample.end { conditions.append("s.start_time <= \(sql.bindTime(unixNano: end))") }
        if let condition { conditions.append(condition.sql(&sql)) }
        let sampleLimit = sql.bind(Int64(sample.size))
        let limitPlaceholder = sql.bind(Int64(limit))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await reader.rows(sql.query("""
            SELECT DISTINCT x.v, x.ty FROM (
                SELECT \(selected.value) AS v, \(selected.type) AS ty FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
                \(whereClause) ORDER BY s.start_time DESC LIMIT \(sampleLimit)
            ) x WHERE x.v IS NOT NULL ORDER BY x.v LIMIT \(limitPlaceholder)
            """))
        var seen: Set<SpanFieldValue> = []
        var values: [SpanFieldValue] = []
        for row in rows {
            let text: String
            switch try row.value("v") {
            case .text(let string): text = string
            case .int(let number): text = String(number)
            case .double(let number): text = String(number)
            case .bool(let flag): text = String(flag)
            case .null: continue
            }
            let stored = try row.text("ty") ?? "string"
            // SQLite's json_extract gives booleans as 1 and 0.
            let value = SpanFieldValue(kind: Self.kind(stored), text: stored == "true" || stored == "false" ? stored : text)
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }

    /// SQL for the value of `field` on span `s` (with its trace `t`) and for its type, as
    /// SQLite's `json_type` or PostgreSQL's `jsonb_typeof` names it; nil for the fields without
    /// stored values. The value comes first in the statement, so it is bound first.
    static func valueAndType(_ field: SpanField, _ sql: inout SQLBuilder) -> (value: String, type: String)? {
        switch (field, sql.dialect) {
        case (.spanName, _): return ("s.operation_name", "'string'")
        case (.statusMessage, _): return ("s.error_message", "'string'")
        case (.rootSpanName, _): return ("t.root_span_name", "'string'")
        case (.rootServiceName, _), (.resourceAttribute("service.name"), _), (.attribute("service.name"), _):
            return ("s.service_name", "'string'")
        case (.statusCode, _), (.spanKind, _), (.duration, _), (.traceDuration, _):
            return nil
        case (.eventName, _):
            let each = SpanConditionSQL.elements(StoredEvents.typedForConditions(of: "s", sql.dialect), &sql)
            return ("(SELECT \(each.text("name")) FROM \(each.from) LIMIT 1)", "'string'")
        case (.linkTraceID, _), (.linkSpanID, _):
            let each = SpanConditionSQL.elements("s.links", &sql)
            return ("(SELECT \(each.text(field == .linkTraceID ? "traceId" : "spanId")) FROM \(each.from) LIMIT 1)", "'string'")
        case (.eventAttribute(let key), _), (.linkAttribute(let key), _):
            let each = SpanConditionSQL.elements(field == .eventAttribute(key) ? StoredEvents.typedForConditions(of: "s", sql.dialect) : "s.links", &sql)
            let attributes = sql.resourceAttributes(each.value)
            let placeholder = sql.bind(key)
            return ("(SELECT \(sql.attributeString("a")) FROM \(each.from), \(attributes) a WHERE \(sql.attributeKey("a")) = \(placeholder) AND \(sql.attributeString("a")) IS NOT NULL LIMIT 1)", "'string'")
        case (.spanAttribute(let key), .sqlite), (.attribute(let key), .sqlite):
            let path = "$.\"" + key + "\""
            let value = "json_extract(s.tags, \(sql.bind(path)))"
            return (value, "json_type(s.tags, \(sql.bind(path)))")
        case (.spanAttribute(let key), .postgres), (.attribute(let key), .postgres):
            let value = "(s.tags ->> \(sql.bind(key)))"
            let k1 = sql.bind(key)
            let k2 = sql.bind(key)
            return (value, "(CASE WHEN jsonb_typeof(s.tags -> \(k1)) = 'number' AND (s.tags ->> \(k2)) ~ '^-?[0-9]+$' THEN 'int' ELSE jsonb_typeof(s.tags -> \(k1)) END)")
        case (.resourceAttribute(let key), _):
            return contextAttribute(SQLBuilder.resource(of: "s"), key, &sql)
        case (.scopeAttribute(let key), _):
            return contextAttribute(SQLBuilder.scope(of: "s"), key, &sql)
        case (.traceID, _): return ("s.trace_id", "'string'")
        case (.spanID, _): return ("s.span_id", "'string'")
        case (.parentSpanID, _): return ("NULLIF(s.parent_span_id, '')", "'string'")
        case (.childCount, _): return (SpanConditionSQL.childCount, "'int'")
        case (.scopeName, _), (.scopeVersion, _):
            return (SpanConditionSQL.scopeText(field == .scopeName ? "name" : "version", &sql), "'string'")
        }
    }

    /// The value and type of attribute `key` of the OTLP/JSON resource or scope object `column`.
    static func contextAttribute(_ column: String, _ key: String, _ sql: inout SQLBuilder) -> (value: String, type: String) {
        switch sql.dialect {
        case .sqlite:
            let placeholder = sql.bind(key)
            let value = "(SELECT coalesce(json_extract(a.value, '$.value.stringValue'), json_extract(a.value, '$.value.intValue'), json_extract(a.value, '$.value.doubleValue'), CASE json_extract(a.value, '$.value.boolValue') WHEN 1 THEN 'true' WHEN 0 THEN 'false' END) FROM json_each(\(column), '$.attributes') a WHERE json_extract(a.value, '$.key') = \(placeholder) LIMIT 1)"
            let again = sql.bind(key)
            return (value, "(SELECT CASE WHEN json_extract(a.value, '$.value.stringValue') IS NOT NULL THEN 'string' WHEN json_extract(a.value, '$.value.intValue') IS NOT NULL THEN 'int' WHEN json_extract(a.value, '$.value.doubleValue') IS NOT NULL THEN 'float' ELSE 'bool' END FROM json_each(\(column), '$.attributes') a WHERE json_extract(a.value, '$.key') = \(again) LIMIT 1)")
        case .postgres:
            let placeholder = sql.bind(key)
            let attributes = sql.resourceAttributes(column)
            let value = "(SELECT coalesce(a -> 'value' ->> 'stringValue', a -> 'value' ->> 'intValue', a -> 'value' ->> 'doubleValue', a -> 'value' ->> 'boolValue') FROM \(attributes) a WHERE a ->> 'key' = \(placeholder) LIMIT 1)"
            let again = sql.bind(key)
            return (value, "(SELECT CASE WHEN (a -> 'value' ->> 'stringValue') IS NOT NULL THEN 'string' WHEN (a -> 'value' ->> 'intValue') IS NOT NULL THEN 'int' WHEN (a -> 'value' ->> 'doubleValue') IS NOT NULL THEN 'float' ELSE 'bool' END FROM \(attributes) a WHERE a ->> 'key' = \(again) LIMIT 1)")
        }
    }

    /// Tempo's value type from SQLite's `json_type`/PostgreSQL's `jsonb_typeof` (or the types the
    /// statement writes itself).
    static func kind(_ stored: String) -> SpanFieldValue.Kind {
        switch stored {
        case "integer", "int": return .int
        case "real", "float", "number": return .float
        case "true", "false", "boolean", "bool": return .bool
        default: return .string
        }
    }

    // MARK: Trace by id

    func spans(ofTrace traceID: String) async throws(StoreError) -> [StoredSpan] {
        var sql = reader.builder()
        let placeholder = sql.bind(traceID)
        let rows = try await reader.rows(sql.query("""
            SELECT s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, s.operation_name, s.span_kind,
                   s.start_time_unix_nano, s.end_time_unix_nano, \(StoredAttributes.column(of: "s")) AS attributes, s.tags,
                   s.dropped_attributes_count, \(StoredEvents.column(of: "s")) AS events, s.logs,
                   s.dropped_events_count, s.links, s.dropped_links_count, s.status_code, s.error_message,
                   \(SQLBuilder.resource(of: "s")) AS resource, \(SQLBuilder.scope(of: "s")) AS scope
            FROM enterprise.trace_spans s WHERE s.trace_id = \(placeholder)
            ORDER BY s.start_time_unix_nano, s.span_id
            """))
        var spans: [StoredSpan] = []
        for row in rows {
            spans.append(StoredSpan(
                traceID: try row.text("trace_id") ?? "", spanID: try row.text("span_id") ?? "",
                parentSpanID: try row.text("parent_span_id"), traceState: try row.text("trace_state"),
                flags: try row.int("flags") ?? 0, name: try row.text("operation_name") ?? "", kind: try row.int("span_kind") ?? 0,
                startTimeUnixNano: try row.int("start_time_unix_nano") ?? 0, endTimeUnixNano: try row.int("end_time_unix_nano") ?? 0,
                attributes: StoredAttributes.typed(stored: try row.text("attributes") ?? "", tags: try row.text("tags")), droppedAttributesCount: try row.int("dropped_attributes_count") ?? 0,
                events: StoredEvents.typed(stored: try row.text("events") ?? "", logs: try row.text("logs")), droppedEventsCount: try row.int("dropped_events_count") ?? 0,
                links: try row.text("links") ?? "[]", droppedLinksCount: try row.int("dropped_links_count") ?? 0,
                statusCode: try row.int("status_code") ?? 0, statusMessage: try row.text("error_message"),
                resource: try row.text("resource") ?? "{}", scope: try row.text("scope") ?? "{}"))
        }
        return spans
    }
}
