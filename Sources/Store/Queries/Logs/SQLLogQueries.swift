/// `LogQueries` on either store. Lists without a search read the time index (or the filter's
/// own index, migration 014); a full-text search is found as each store's index allows
/// (`SQLLogQueries+SQLiteSearch.swift`, `SQLLogQueries+PostgresSearch.swift`).
struct SQLLogQueries: LogQueries {
    let reads: StoreReads

    func logList(_ filter: LogFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> LogListPage {
        var sql = SQLBuilder(reads.dialect)
        var conditions = filter.conditions(&sql, inWindow: true)
        var ftsMatch: String?
        var ftsFloor: Int64?
        var postgresSearch: (text: String, plan: PostgresSearchPlan)?
        if let search = filter.search {
            switch reads.dialect {
            case .postgres:
                // Found and counted apart (`postgresSearchPage`, `postgresSearchCount`).
                let plan = try await postgresSearchPlan(search, filter: filter, wanted: offset + limit, countLimit: countLimit)
                postgresSearch = (search, plan)
            case .sqlite:
                let words = Self.searchWords(search)
                if words.isEmpty {
                    conditions.append("0")
                } else {
                    let match = words.map { "\"\($0)\"" }.joined(separator: " ")
                    let floor = try await sqliteWindowFloor(since: filter.since)
                    (ftsMatch, ftsFloor) = (match, floor)
                    conditions.append(try await sqliteSearchCondition(match, floor: floor, filter: filter, wanted: offset + limit, sql: &sql))
                }
            }
        }
        let matching = conditions.joined(separator: " AND ")
        let countBuilder = sql // the page's statement binds two more values
        let page = "LIMIT \(sql.bind(Int64(limit))) OFFSET \(sql.bind(Int64(offset)))"
        let columns = LogListItem.selectList(reads.dialect)
        let logs = if let postgresSearch {
            try await postgresSearchPage(postgresSearch.text, plan: postgresSearch.plan, filter: filter, limit: limit, offset: offset)
        } else {
            try await reads.records(LogListItem.self, sql.query("""
                SELECT \(columns) FROM enterprise.structured_logs l
                WHERE \(matching) ORDER BY l.timestamp DESC, l.id \(page)
                """))
        }
        let total: CappedCount
        if logs.count < limit, !logs.isEmpty || offset == 0 {
            // The page holds the last match: the total needs no count.
            total = CappedCount(counted: Int64(offset + logs.count), limit: countLimit)
        } else if let postgresSearch {
            total = try await postgresSearchCount(postgresSearch.text, plan: postgresSearch.plan, filter: filter, countLimit: countLimit)
        } else if let ftsMatch {
            // Counted from the full-text index's matches from the window's smallest rowid on,
            // each looked up once, up to the limit.
            var counting = SQLBuilder(reads.dialect)
            let placeholder = counting.bind(ftsMatch)
            let countConditions = ["structured_logs_fts MATCH \(placeholder)"] + Self.rowidFloor(ftsFloor, of: "structured_logs_fts", &counting)
                + filter.conditions(&counting, inWindow: true)
            total = try await reads.cappedCount(counting, from: """
                enterprise.structured_logs_fts JOIN enterprise.structured_logs l ON l.rowid = structured_logs_fts.rowid
                """, filter: countConditions.joined(separator: " AND "), limit: countLimit)
        } else {
            total = try await reads.cappedCount(countBuilder, from: "enterprise.structured_logs l", filter: matching, limit: countLimit)
        }
        return LogListPage(logs: logs, total: total)
    }

    func log(id: String) async throws(StoreError) -> StoredLogRecord? {
        var sql = SQLBuilder(reads.dialect)
        let condition = reads.dialect == .postgres ? "id = \(sql.bind(id))::uuid" : "id = \(sql.bind(id))"
        return try await reads.records(StoredLogRecord.self, sql.query("""
            SELECT \(StoredLogRecord.selectList(alias: "l", replacing: [
                "resource": "\(SQLBuilder.resource(of: "l")) AS resource", "scope": "\(SQLBuilder.scope(of: "l")) AS scope",
                "attributes": "coalesce(CAST(l.attributes AS TEXT), '') AS attributes",
            ]))
            FROM enterprise.structured_logs l WHERE l.\(condition)
            """)).first?.withTypedAttributes()
    }

    /// Whole minutes from `log_level_minutes`; the minute `since` falls in from the records.
    func levelCounts(since: Int64) async throws(StoreError) -> [String: Int64] {
        let firstWholeMinute = SpanOperationMinute.minute(of: since) + SpanOperationMinute.minuteNano
        var minutes = SQLBuilder(reads.dialect)
        let minuteStart = minutes.bindTime(unixNano: firstWholeMinute)
        let wholeMinutes = try await reads.records(LevelCount.self, minutes.query("""
            SELECT level, CAST(sum(count) AS BIGINT) AS count FROM enterprise.log_level_minutes
            WHERE minute >= \(minuteStart) GROUP BY level
            """))
        var records = SQLBuilder(reads.dialect)
        let partial = "timestamp > \(records.bindTime(unixNano: since)) AND timestamp < \(records.bindTime(unixNano: firstWholeMinute))"
        let partialMinute = try await reads.records(LevelCount.self, records.query("""
            SELECT level, count(*) AS count FROM enterprise.structured_logs WHERE \(partial) GROUP BY level
            """))
        var counts: [String: Int64] = [:]
        for row in wholeMinutes + partialMinute { counts[row.level, default: 0] += row.count ?? 0 }
        return counts
    }

    private struct LevelCount: StoredRecord {
        var level: String
        var count: Int64?

        enum CodingKeys: String, CodingKey, CaseIterable { case level, count }
    }
}

extension LogFilter {
    /// The conditions over `enterprise.structured_logs l` besides the search, their values bound
    /// in `sql`; the window's start only when `inWindow`.
    func conditions(_ sql: inout SQLBuilder, inWindow: Bool) -> [String] {
        var conditions = inWindow ? ["l.timestamp > \(sql.bindTime(unixNano: since))"] : []
        if let level { conditions.append("l.level = \(sql.bind(level))") }
        if let loggerName { conditions.append("l.logger_name LIKE \(sql.bind("%" + Self.likeEscaped(loggerName) + "%")) ESCAPE '\\'") }
        if let service { conditions.append("l.service_name = \(sql.bind(service))") }
        if let traceID { conditions.append("l.trace_id = \(sql.bind(traceID))") }
        if let userEmail { conditions.append("l.user_email = \(sql.bind(userEmail))") }
        return conditions
    }

    /// `%`, `_` and `\` taken literally in a LIKE pattern (with `ESCAPE '\'`).
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
