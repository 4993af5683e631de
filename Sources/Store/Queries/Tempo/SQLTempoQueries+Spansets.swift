// Spanset operators and TraceQL metrics: the candidate traces, every span of them with the
// conditions' results, and span counts per step and group.

extension SQLTempoQueries {
    // MARK: Spanset operators

    func candidateTraces(_ candidates: TraceCandidates, limit: Int) async throws(StoreError) -> [String] {
        var sql = reader.builder()
        var conditions: [String] = []
        if let start = candidates.start { conditions.append("t.start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = candidates.end { conditions.append("t.start_time <= \(sql.bindTime(unixNano: end))") }
        if let minDuration = candidates.minDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) >= \(sql.bind(minDuration))") }
        if let maxDuration = candidates.maxDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) <= \(sql.bind(maxDuration))") }
        if let required = Self.requirement(candidates.required, &sql) { conditions.append(required) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let cap = sql.bind(Int64(limit))
        let rows = try await reader.rows(sql.query("""
            SELECT t.trace_id FROM enterprise.traces t \(whereClause) ORDER BY t.start_time DESC, t.trace_id LIMIT \(cap)
            """))
        var ids: [String] = []
        for row in rows { ids.append(try row.text("trace_id") ?? "") }
        return ids
    }

    /// SQL true where trace `t` holds what `requirement` asks; nil for anything.
    static func requirement(_ requirement: TraceRequirement, _ sql: inout SQLBuilder) -> String? {
        switch requirement {
        case .anything: return nil
        case .span(let condition):
            return "EXISTS (SELECT 1 FROM enterprise.trace_spans s WHERE s.trace_id = t.trace_id AND \(condition.sql(&sql)))"
        case .both(let left, let right):
            let l = Self.requirement(left, &sql)
            let r = Self.requirement(right, &sql)
            return [l, r].compactMap { $0 }.isEmpty ? nil : "(" + [l, r].compactMap { $0 }.joined(separator: " AND ") + ")"
        case .either(let left, let right):
            guard let l = Self.requirement(left, &sql), let r = Self.requirement(right, &sql) else { return nil }
            return "(\(l) OR \(r))"
        }
    }

    func spanTable(traceIDs: [String], _ request: SpanTableRequest, maxSpans: Int) async throws(StoreError) -> [SpanTableRow] {
        guard !traceIDs.isEmpty else { return [] }
        var sql = reader.builder()
        var columns: [String] = []
        for (index, condition) in request.conditions.enumerated() {
            columns.append("CASE WHEN \(condition.sql(&sql)) THEN 1 ELSE 0 END AS m\(index)")
        }
        for (index, field) in request.fields.enumerated() {
            if let selected = Self.valueAndType(field, &sql) {
                columns.append("\(selected.value) AS v\(index), \(selected.type) AS ty\(index)")
            } else {
                columns.append("NULL AS v\(index), NULL AS ty\(index)")
            }
        }
        let ids = traceIDs.map { sql.bind($0) }.joined(separator: ", ")
        let cap = sql.bind(Int64(maxSpans + 1))
        let extra = columns.isEmpty ? "" : ", " + columns.joined(separator: ", ")
        let rows = try await reader.rows(sql.query("""
            SELECT s.trace_id, s.span_id, s.parent_span_id, s.operation_name, s.service_name, s.start_time_unix_nano, s.end_time_unix_nano,
                   s.status_code, s.span_kind, t.root_span_name, t.service_name AS root_service_name,
                   t.start_time_unix_nano AS trace_start, t.end_time_unix_nano AS trace_end\(extra)
            FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
            WHERE s.trace_id IN (\(ids)) ORDER BY s.trace_id, s.start_time_unix_nano, s.span_id LIMIT \(cap)
            """))
        var spans: [SpanTableRow] = []
        for row in rows {
            var matches: [Bool] = []
            for index in request.conditions.indices { matches.append((try row.int("m\(index)") ?? 0) != 0) }
            var values: [SpanFieldValue?] = []
            for index in request.fields.indices { values.append(try Self.fieldValue(row, "v\(index)", "ty\(index)")) }
            let parent = try row.text("parent_span_id")
            spans.append(SpanTableRow(
                traceID: try row.text("trace_id") ?? "", spanID: try row.text("span_id") ?? "",
                parentSpanID: parent?.isEmpty == true ? nil : parent, name: try row.text("operation_name") ?? "",
                serviceName: try row.text("service_name"), startTimeUnixNano: try row.int("start_time_unix_nano") ?? 0,
                endTimeUnixNano: try row.int("end_time_unix_nano") ?? 0, statusCode: try row.int("status_code") ?? 0,
                kind: try row.int("span_kind") ?? 0, rootSpanName: try row.text("root_span_name"),
                rootServiceName: try row.text("root_service_name"), traceStartUnixNano: try row.int("trace_start"),
                traceEndUnixNano: try row.int("trace_end"), matches: matches, values: values))
        }
        return spans
    }

    /// A value read with `valueAndType`, typed as Tempo names it.
    static func fieldValue(_ row: ResultRow, _ value: String, _ type: String) throws(StoreError) -> SpanFieldValue? {
        let text: String
        switch try row.value(value) {
        case .text(let string): text = string
        case .int(let number): text = String(number)
        case .double(let number): text = number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): text = String(flag)
        case .null: return nil
        }
        let stored = try row.text(type) ?? "string"
        if stored == "true" || stored == "false" { return SpanFieldValue(kind: .bool, text: stored) }
        return SpanFieldValue(kind: kind(stored), text: text)
    }

    // MARK: Metrics

    func spanMetrics(_ request: SpanMetricsRequest, maxRows: Int) async throws(StoreError) -> [SpanMetricsRow] {
        var sql = reader.builder()
        let origin = sql.bind(request.start)
        let step = sql.bind(request.step)
        var selected = ["((s.start_time_unix_nano - \(origin)) / \(step)) AS step_index"]
        var grouped = ["step_index"]
        for (index, field) in request.groupBy.enumerated() {
            if let value = Self.valueAndType(field, &sql) {
                selected.append("\(value.value) AS g\(index), \(value.type) AS gt\(index)")
            } else {
                selected.append("\(Self.builtIn(field) ?? "NULL") AS g\(index), \(Self.builtIn(field) == nil ? "NULL" : "'int'") AS gt\(index)")
            }
            grouped += ["g\(index)", "gt\(index)"]
        }
        let number = request.value.map { Self.number($0, &sql) } ?? "NULL"
        selected.append("CAST(\(number) AS DOUBLE PRECISION) AS x")
        // Start times have 19 digits from 2001 to 2286: the text order is the time order.
        selected.append("(CAST(s.start_time_unix_nano AS TEXT) || ':' || s.trace_id) AS latest")
        var bucket = "NULL"
        if request.buckets {
            // The least power of two at or above the value (values up to 1 in bucket 1).
            bucket = "CASE " + (0...62).map { "WHEN i.x <= \(Int64(1) << $0) THEN \(Int64(1) << $0)" }.joined(separator: " ") + " ELSE NULL END"
            grouped.append("bucket")
        }
        var conditions = ["s.start_time >= \(sql.bindTime(unixNano: request.start))", "s.start_time < \(sql.bindTime(unixNano: request.end))",
                          "s.start_time_unix_nano >= \(sql.bind(request.start))", "s.start_time_unix_nano < \(sql.bind(request.end))"]
        if let condition = request.condition { conditions.append(condition.sql(&sql)) }
        let cap = sql.bind(Int64(maxRows + 1))
        let groupList = grouped.joined(separator: ", ")
        let rows = try await reader.rows(sql.query("""
            SELECT \(groupList), COUNT(*) AS n, SUM(x) AS total, MIN(x) AS least, MAX(x) AS greatest, COUNT(x) AS valued, MAX(latest) AS latest
            FROM (SELECT i.*, \(bucket) AS bucket FROM (
                      SELECT \(selected.joined(separator: ", "))
                      FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
                      WHERE \(conditions.joined(separator: " AND "))) i) m
            GROUP BY \(groupList) ORDER BY \(groupList) LIMIT \(cap)
            """))
        var result: [SpanMetricsRow] = []
        for row in rows {
            var group: [SpanFieldValue?] = []
            for index in request.groupBy.indices { group.append(try Self.fieldValue(row, "g\(index)", "gt\(index)")) }
            let latest = try row.text("latest")
            let parts = latest?.split(separator: ":", maxSplits: 1)
            result.append(SpanMetricsRow(
                step: try row.int("step_index") ?? 0, group: group, bucket: request.buckets ? (try row.double("bucket")) : nil,
                count: try row.int("n") ?? 0, sum: try row.double("total"), min: try row.double("least"), max: try row.double("greatest"),
                valued: try row.int("valued") ?? 0, exemplarTraceID: parts?.count == 2 ? String(parts![1]) : nil,
                exemplarUnixNano: parts.flatMap { $0.first.flatMap { Int64($0) } }))
        }
        return result
    }

    /// The column of a field kept as a number of its own (status, kind), or nil.
    static func builtIn(_ field: SpanField) -> String? {
        switch field {
        case .statusCode: return "s.status_code"
        case .spanKind: return "s.span_kind"
        case .duration: return "(s.end_time_unix_nano - s.start_time_unix_nano)"
        case .traceDuration: return "(t.end_time_unix_nano - t.start_time_unix_nano)"
        case .childCount: return SpanConditionSQL.childCount
        default: return nil
        }
    }

    /// A field as a number (NULL where it is absent or not a number): durations in
    /// nanoseconds, numeric span and resource attributes.
    static func number(_ field: SpanField, _ sql: inout SQLBuilder) -> String {
        if let column = builtIn(field) { return column }
        switch (field, sql.dialect) {
        case (.spanAttribute(let key), .sqlite), (.attribute(let key), .sqlite):
            let p1 = sql.bind("$.\"" + key + "\"")
            let p2 = sql.bind("$.\"" + key + "\"")
            return "(CASE WHEN json_type(s.tags, \(p1)) IN ('integer', 'real') THEN json_extract(s.tags, \(p2)) END)"
        case (.spanAttribute(let key), .postgres), (.attribute(let key), .postgres):
            let k1 = sql.bind(key)
            let k2 = sql.bind(key)
            return "(CASE WHEN jsonb_typeof(s.tags -> \(k1)) = 'number' THEN (s.tags ->> \(k2))::float8 END)"
        case (.resourceAttribute(let key), _):
            return contextNumber(SQLBuilder.resource(of: "s"), key, &sql)
        case (.scopeAttribute(let key), _):
            return contextNumber(SQLBuilder.scope(of: "s"), key, &sql)
        default:
            return "NULL"
        }
    }

    /// Attribute `key` of the OTLP/JSON resource or scope object `column` as a number (NULL
    /// where it is absent or not a number).
    static func contextNumber(_ column: String, _ key: String, _ sql: inout SQLBuilder) -> String {
        switch sql.dialect {
        case .sqlite:
            return "(SELECT coalesce(CAST(json_extract(a.value, '$.value.intValue') AS REAL), json_extract(a.value, '$.value.doubleValue')) FROM json_each(\(column), '$.attributes') a WHERE json_extract(a.value, '$.key') = \(sql.bind(key)) LIMIT 1)"
        case .postgres:
            return "(SELECT CASE WHEN (a -> 'value' ->> 'intValue') IS NOT NULL THEN (a -> 'value' ->> 'intValue')::float8 WHEN jsonb_typeof(a -> 'value' -> 'doubleValue') = 'number' THEN (a -> 'value' ->> 'doubleValue')::float8 END FROM \(sql.resourceAttributes(column)) a WHERE a ->> 'key' = \(sql.bind(key)) LIMIT 1)"
        }
    }
}
