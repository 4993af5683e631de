/// `LokiQueries` on either store, over `enterprise.structured_logs l`: the statements are the
/// same on both but for the JSON, time and size functions (`LokiLabels`).
struct SQLLokiQueries: LokiQueries {
    let reader: DialectReader

    func lines(_ selection: LokiSelection, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(StoreError) -> [LokiLine] {
        var sql = reader.builder()
        let nanos = LokiLabels.nanosSQL(sql.dialect)
        // The stored timestamp (microseconds) bounds the scan; the record's own time decides.
        let lower = sql.bindTime(unixNano: from - 1_000)
        let upper = sql.bindTime(unixNano: toExclusive + 1_000)
        let filter = selection.sql(&sql)
        let exactFrom = sql.bind(from)
        let exactTo = sql.bind(toExclusive)
        let limitPlaceholder = sql.bind(Int64(limit))
        let order = backward ? "DESC" : "ASC"
        let rows = try await reader.rows(sql.query("""
            SELECT \(nanos) AS ns, l.message, l.service_name, l.level, l.logger_name, l.trace_id, \(SQLBuilder.resource(of: "l")) AS resource
            FROM enterprise.structured_logs l
            WHERE l.timestamp >= \(lower) AND l.timestamp <= \(upper) AND \(filter)
              AND \(nanos) >= \(exactFrom) AND \(nanos) < \(exactTo)
            ORDER BY l.timestamp \(order), ns \(order)
            LIMIT \(limitPlaceholder)
            """))
        var resources: [String: [String: String]] = [:]
        var lines: [LokiLine] = []
        lines.reserveCapacity(rows.count)
        for row in rows {
            let labels = LokiLabels.labels(
                service: try row.text("service_name"), level: try row.text("level"), logger: try row.text("logger_name"),
                traceID: try row.text("trace_id"), resource: try row.text("resource"), resources: &resources)
            lines.append(LokiLine(nanos: try row.int("ns") ?? 0, text: try row.text("message") ?? "", labels: labels))
        }
        return lines
    }

    func bucketCounts(_ query: LokiBucketQuery) async throws(StoreError) -> [LokiBucketCount] {
        var sql = reader.builder()
        let bucketOrigin = sql.bind(query.origin)
        let bucketWidth = sql.bind(query.width)
        var labelColumns: [String] = []
        for (index, label) in query.groupBy.enumerated() {
            labelColumns.append("\(LokiLabels.valueSQL(label, &sql) ?? "NULL") AS g\(index)")
        }
        let from = sql.bindTime(unixNano: query.origin - 1_000)
        let to = sql.bindTime(unixNano: query.last + 1_000)
        let filter = query.selection.sql(&sql)
        let after = sql.bind(query.origin)
        let until = sql.bind(query.last)
        let groups = query.groupBy.indices.map { "x.g\($0)" }
        let inner = (labelColumns + ["\(LokiLabels.nanosSQL(sql.dialect)) AS ns", "\(LokiLabels.bytesSQL(sql.dialect)) AS bytes"]).joined(separator: ", ")
        let limit = sql.bind(Int64(query.limit))
        let text = """
            SELECT \((groups + ["(x.ns - \(bucketOrigin) - 1) / \(bucketWidth) AS bucket", "count(*) AS lines", "sum(x.bytes) AS bytes"]).joined(separator: ", "))
            FROM (SELECT \(inner) FROM enterprise.structured_logs l
                  WHERE l.timestamp > \(from) AND l.timestamp <= \(to) AND \(filter)) x
            WHERE x.ns > \(after) AND x.ns <= \(until)
            GROUP BY \((1...(query.groupBy.count + 1)).map(String.init).joined(separator: ", "))
            LIMIT \(limit)
            """
        var counts: [LokiBucketCount] = []
        for row in try await reader.rows(sql.query(text)) {
            var labels: [String: String] = [:]
            for (index, label) in query.groupBy.enumerated() {
                if let value = try row.text("g\(index)"), !value.isEmpty { labels[label] = value }
            }
            guard let bucket = try row.int("bucket") else { continue }
            counts.append(LokiBucketCount(labels: labels, bucket: bucket, lines: try row.double("lines") ?? 0, bytes: try row.double("bytes") ?? 0))
        }
        return counts
    }

    func labelNames(_ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int) async throws(StoreError) -> [String] {
        var sql = reader.builder()
        let filter = Self.timeFilter(&sql, start: start, end: end, selection: selection)
        let limit = sql.bind(Int64(sampleRows))
        // Few distinct resources: the JSON is read once each.
        let rows = try await reader.rows(sql.query("""
            SELECT y.service_name, y.logger_name, \(SQLBuilder.resource(of: "y")) AS resource
            FROM (SELECT DISTINCT x.service_name, x.logger_name, x.resource_id FROM (SELECT l.service_name, l.logger_name, l.resource_id
                  FROM enterprise.structured_logs l WHERE \(filter) ORDER BY l.timestamp DESC LIMIT \(limit)) x) y
            """))
        var names: Set<String> = []
        for row in rows {
            if try row.text("service_name")?.isEmpty == false { names.insert("service_name") }
            if try row.text("logger_name")?.isEmpty == false { names.insert("logger") }
            names.insert("level")
            names.insert("detected_level")
            if let resource = try row.text("resource"), resource.contains("\"attributes\"") {
                names.formUnion(LokiLabels.resourceLabels(resource).keys)
            }
        }
        return names.sorted()
    }

    func labelValues(_ name: String, _ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int, limit: Int) async throws(StoreError) -> [String] {
        var sql = reader.builder()
        guard let column = LokiLabels.valueSQL(name, &sql) else { return [] }
        let filter = Self.timeFilter(&sql, start: start, end: end, selection: selection)
        let text: String
        if LokiLabels.resourceLabels[name] != nil {
            // A JSON lookup per row: over the most recent rows only.
            let sampleLimit = sql.bind(Int64(sampleRows))
            let limitPlaceholder = sql.bind(Int64(limit))
            text = """
                SELECT DISTINCT x.v FROM (SELECT \(column) AS v FROM enterprise.structured_logs l WHERE \(filter)
                ORDER BY l.timestamp DESC LIMIT \(sampleLimit)) x WHERE x.v IS NOT NULL AND x.v <> '' ORDER BY x.v LIMIT \(limitPlaceholder)
                """
        } else {
            let limitPlaceholder = sql.bind(Int64(limit))
            text = """
                SELECT DISTINCT \(column) AS v FROM enterprise.structured_logs l
                WHERE \(filter) AND \(column) IS NOT NULL AND \(column) <> '' ORDER BY v LIMIT \(limitPlaceholder)
                """
        }
        var values: [String] = []
        for row in try await reader.rows(sql.query(text)) {
            if let value = try row.text("v") { values.append(value) }
        }
        return values
    }

    func series(_ selections: [LokiSelection], start: Int64, end: Int64, limit: Int) async throws(StoreError) -> [[String: String]] {
        var sql = reader.builder()
        var filter = Self.timeFilter(&sql, start: start, end: end, selection: nil)
        if !selections.isEmpty {
            var alternatives: [String] = []
            for selection in selections { alternatives.append("(\(selection.sql(&sql)))") }
            filter += " AND (\(alternatives.joined(separator: " OR ")))"
        }
        // Per resource too (its attributes give labels); resources that differ only in other
        // attributes give one label set, so more rows are read than sets returned.
        let limitPlaceholder = sql.bind(Int64(min(limit, 100_000) * 4))
        let rows = try await reader.rows(sql.query("""
            SELECT y.service_name, y.level, y.logger_name, \(SQLBuilder.resource(of: "y")) AS resource
            FROM (SELECT DISTINCT l.service_name, l.level, l.logger_name, l.resource_id FROM enterprise.structured_logs l
                  WHERE \(filter) ORDER BY l.service_name, l.level, l.logger_name LIMIT \(limitPlaceholder)) y
            """))
        var resources: [String: [String: String]] = [:]
        var seen: Set<[String: String]> = []
        var sets: [[String: String]] = []
        for row in rows where sets.count < limit {
            let labels = LokiLabels.labels(service: try row.text("service_name"), level: try row.text("level"),
                                           logger: try row.text("logger_name"), traceID: nil, resource: try row.text("resource"),
                                           resources: &resources)
            if seen.insert(labels).inserted { sets.append(labels) }
        }
        return sets.sorted { Self.seriesOrder($0).lexicographicallyPrecedes(Self.seriesOrder($1)) }
    }

    /// Series in label order: service, level, logger, then the resource labels by name.
    static func seriesOrder(_ labels: [String: String]) -> [String] {
        [labels["service_name"] ?? "", labels["level"] ?? "", labels["logger"] ?? ""]
            + labels.filter { !LokiLabels.streamLabels.contains($0.key) }.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
    }

    func indexStats(_ selection: LokiSelection, start: Int64, end: Int64) async throws(StoreError) -> LokiIndexStats {
        var sql = reader.builder()
        let filter = Self.timeFilter(&sql, start: start, end: end, selection: selection)
        let row = try await reader.rows(sql.query("""
            SELECT count(*) AS entries, coalesce(sum(\(LokiLabels.bytesSQL(sql.dialect))), 0) AS bytes,
                   count(DISTINCT coalesce(l.service_name, '') || '|' || l.level || '|' || l.logger_name) AS streams
            FROM enterprise.structured_logs l WHERE \(filter)
            """)).first
        return LokiIndexStats(streams: try row?.int("streams") ?? 0, entries: try row?.int("entries") ?? 0, bytes: try row?.int("bytes") ?? 0)
    }

    /// `l.timestamp` within `start...end` and the selection's conditions.
    static func timeFilter(_ sql: inout SQLBuilder, start: Int64, end: Int64, selection: LokiSelection?) -> String {
        let from = sql.bindTime(unixNano: start)
        let to = sql.bindTime(unixNano: end)
        var filter = "l.timestamp >= \(from) AND l.timestamp <= \(to)"
        if let selection { filter += " AND " + selection.sql(&sql) }
        return filter
    }
}
