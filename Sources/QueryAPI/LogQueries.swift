import Foundation
import Hummingbird
import OTLP
import Store

// GET /logs, /logs/{id}, /logs/stats/levels (DESIGN §5, seed 002 §4.2).

extension ObservabilityAPI {
    static let levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    /// Names clients also use for the stored levels.
    static let levelAliases = ["warn": "WARNING", "fatal": "CRITICAL", "trace": "DEBUG"]
    static let logListColumns = [
        "id", "timestamp", "level", "logger_name", "message", "trace_id", "span_id", "user_email", "department",
        "session_id", "endpoint", "extra", "exception_type", "exception_message", "service_name", "severity_number",
        "severity_text",
    ]

    /// `GET /logs?hours=&level=&logger_name=&service=&trace_id=&user_email=&search=&limit=&offset=`
    /// (`logger_name` matches a part of the name, `search` is full-text over the message:
    /// every word must occur, stemmed as English).
    func listLogs(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let limit = try parameters.int("limit", default: 100, in: 1...1000)
        let offset = try parameters.int("offset", default: 0, in: 0...1_000_000)
        let level = try parameters.choice("level", Self.levels, aliases: Self.levelAliases)
        let loggerName = try parameters.text("logger_name")
        let service = try parameters.text("service")
        let traceID = try parameters.traceID("trace_id")
        let userEmail = try parameters.text("user_email")
        let search = try parameters.text("search")

        // The filters besides the search, built anew for each statement (SQLite's parameters
        // are positional: each statement's text must take its own binds in order).
        let filters = { @Sendable (sql: inout SQLBuilder, inWindow: Bool) -> [String] in
            var conditions = inWindow ? ["l.timestamp > \(sql.bindTime(unixNano: window.sinceUnixNano))"] : []
            if let level { conditions.append("l.level = \(sql.bind(level))") }
            if let loggerName { conditions.append("l.logger_name LIKE \(sql.bind("%" + Self.likeEscaped(loggerName) + "%")) ESCAPE '\\'") }
            if let service { conditions.append("l.service_name = \(sql.bind(service))") }
            if let traceID { conditions.append("l.trace_id = \(sql.bind(traceID))") }
            if let userEmail { conditions.append("l.user_email = \(sql.bind(userEmail))") }
            return conditions
        }
        var sql = SQLBuilder(store.dialect)
        var conditions = filters(&sql, true)
        var ftsMatch: String?
        var postgresSearch: (text: String, plan: PostgresSearchPlan)?
        if let search {
            switch store.dialect {
            case .postgres:
                // Found and counted apart (`postgresSearchPage`, `postgresSearchCount`).
                let plan = try await postgresSearchPlan(search, since: window.sinceUnixNano, wanted: offset + limit, filters: filters)
                postgresSearch = (search, plan)
            case .sqlite:
                let words = Self.searchWords(search)
                if words.isEmpty {
                    conditions.append("0")
                } else {
                    let match = words.map { "\"\($0)\"" }.joined(separator: " ")
                    ftsMatch = match
                    let wanted = offset + limit
                    if let rowids = try await newestMatches(match, wanted: wanted, filters: filters) {
                        conditions.append(rowids.isEmpty ? "0" : "l.rowid IN (\(rowids.map { sql.bind($0) }.joined(separator: ", ")))")
                    } else {
                        let frequent = try await prefersProbing(match, wanted: wanted)
                        // Few matches: collect them, then order them by time. Many: read the newest
                        // records first, each probed in the full-text index, until the page is full.
                        let placeholder = sql.bind(match)
                        conditions.append(frequent
                            ? "EXISTS (SELECT 1 FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder) AND rowid = l.rowid)"
                            : "l.rowid IN (SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder))")
                    }
                }
            }
        }
        let filter = conditions.joined(separator: " AND ")
        let countBuilder = sql // the page's statement binds two more values
        let page = "LIMIT \(sql.bind(Int64(limit))) OFFSET \(sql.bind(Int64(offset)))"
        let idColumn = store.dialect == .postgres ? "l.id::text AS id" : "l.id"
        let columns = [idColumn] + Self.logListColumns.dropFirst().map { "l.\($0)" }
        let rows = if let postgresSearch {
            try await postgresSearchPage(postgresSearch.text, plan: postgresSearch.plan, columns: columns,
                                         limit: limit, offset: offset, filters: filters)
        } else {
            try await read(sql.query("""
                SELECT \(columns.joined(separator: ", ")) FROM enterprise.structured_logs l
                WHERE \(filter) ORDER BY l.timestamp DESC, l.id \(page)
                """))
        }
        let total: (total: Int64, capped: Bool)
        if rows.count < limit, !rows.isEmpty || offset == 0 {
            // The page holds the last match: the total needs no count.
            let known = offset + rows.count
            total = known > countLimit ? (Int64(countLimit), true) : (Int64(known), false)
        } else if let postgresSearch {
            total = try await postgresSearchCount(postgresSearch.text, plan: postgresSearch.plan, filters: filters)
        } else if let ftsMatch {
            // Counted from the full-text index's matches, each looked up once, up to the limit.
            var counting = SQLBuilder(store.dialect)
            let placeholder = counting.bind(ftsMatch)
            let countConditions = ["structured_logs_fts MATCH \(placeholder)"] + filters(&counting, true)
            total = try await cappedCount(counting, from: """
                enterprise.structured_logs_fts JOIN enterprise.structured_logs l ON l.rowid = structured_logs_fts.rowid
                """, filter: countConditions.joined(separator: " AND "))
        } else {
            total = try await cappedCount(countBuilder, from: "enterprise.structured_logs l", filter: filter)
        }
        return .jsonObject { body in
            body.key("logs")
            body.beginArray()
            for row in rows {
                body.beginObject()
                RowJSON.write(row, into: &body)
                body.endObject()
            }
            body.endArray()
            body.key("total"); body.int(total.total)
            body.key("total_capped"); body.bool(total.capped)
            body.key("limit"); body.int(Int64(limit))
            body.key("offset"); body.int(Int64(offset))
        }
    }

    /// Whether to find a search's page by probing the newest records one by one in the
    /// full-text index, rather than by collecting every match and ordering them by time.
    /// Probing costs about `probeCost` per record read, and a page of `wanted` rows reads about
    /// `wanted / share` records, `share` being the part of all records that match; collecting
    /// costs about `collectCost` per match. The matches are counted in the full-text index
    /// alone (quick), up to `matchCountLimit`; the record count is SQLite's largest rowid.
    private func prefersProbing(_ match: String, wanted: Int) async throws(QueryFailure) -> Bool {
        var sql = SQLBuilder(store.dialect)
        let placeholder = sql.bind(match)
        let text = """
            SELECT (SELECT count(*) FROM (SELECT rowid FROM enterprise.structured_logs_fts
                    WHERE structured_logs_fts MATCH \(placeholder) LIMIT \(Self.matchCountLimit))) AS matches,
                   (SELECT max(rowid) FROM enterprise.structured_logs) AS records
            """
        let row = try await read(sql.query(text)).first
        let matches = Double(row?["matches"].int ?? 0), records = Double(row?["records"].int ?? 0)
        return Self.prefersProbing(matches: matches, records: records, wanted: Double(wanted))
    }

    /// The rowids of the newest `wanted` records (by time) that match the full-text `match` and
    /// pass `filters`, possibly with some more; nil when this way cannot tell (the filters
    /// leave too few of the newest matches), or `wanted` is large.
    ///
    /// Records are mostly stored in time order, so the full-text index's newest matches by
    /// rowid (it reads them newest first and stops early) hold nearly all of the page:
    /// 1. take the `16 × wanted` largest matching rowids (all of them for a rare word: then
    ///    step 2 is the answer);
    /// 2. keep the newest `wanted` of those records that pass the filters; the last one's
    ///    time is `T`;
    /// 3. add the records below the scanned rowids that pass the filters, are not older than
    ///    `T` (stored late: found through the time index) and match (their rowids looked up in
    ///    the full-text index).
    /// A record of the true page is either scanned, and then in step 2's page, or ranks before
    /// step 2's last record, so is not older than `T`, and then found in step 3.
    private func newestMatches(_ match: String, wanted: Int,
                               filters: (inout SQLBuilder, Bool) -> [String]) async throws(QueryFailure) -> [Int64]? {
        guard wanted <= Self.rowidScanMaxWanted else { return nil }
        let scanSize = Int64(max(16 * wanted, 400))
        let newestMatches = { (sql: inout SQLBuilder) -> String in
            let placeholder = sql.bind(match)
            return """
                SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder)
                ORDER BY rowid DESC LIMIT \(sql.bind(scanSize))
                """
        }
        var scan = SQLBuilder(.sqlite)
        let scanText = newestMatches(&scan)
        guard let scanned = try await read(scan.query("SELECT min(rowid) AS low, count(*) AS n FROM (\(scanText))")).first,
              let scannedCount = scanned["n"].int else { return nil }
        guard scannedCount > 0, let lowest = scanned["low"].int else { return [] }

        var pick = SQLBuilder(.sqlite)
        let pickConditions = filters(&pick, true)
        let pickMatches = newestMatches(&pick)
        let pickLimit = pick.bind(Int64(wanted))
        let picked = try await read(pick.query("""
            SELECT l.rowid AS rid, l.timestamp AS ts FROM enterprise.structured_logs l
            WHERE \(pickConditions.joined(separator: " AND ")) AND l.rowid IN (\(pickMatches))
            ORDER BY l.timestamp DESC, l.id LIMIT \(pickLimit)
            """))
        let pickedIDs = picked.compactMap { $0["rid"].int }
        if scannedCount < scanSize { return pickedIDs } // every match was scanned
        guard picked.count == wanted, let oldest = picked.last?["ts"].text else { return nil }

        // Stored late: below the scanned rowids, not older than the page's last record. The
        // time bound alone (not the window's start too) so SQLite reads the time index from it.
        var late = SQLBuilder(.sqlite)
        let notOlder = late.bind(oldest)
        let below = late.bind(lowest)
        let lateConditions = ["l.timestamp >= \(notOlder)", "l.rowid < \(below)"] + filters(&late, false)
        let lateIDs = try await read(late.query("""
            SELECT l.rowid AS rid FROM enterprise.structured_logs l WHERE \(lateConditions.joined(separator: " AND "))
            """)).compactMap { $0["rid"].int }
        guard let first = lateIDs.min() else { return pickedIDs }
        // Many records far out of time order (clients with clocks far ahead): the other plans.
        guard lateIDs.count <= Self.lateRecordsLimit else { return nil }
        // Which of them match: one pass over the full-text index's matches in their rowid range.
        var matching = SQLBuilder(.sqlite)
        let rangeMatch = matching.bind(match)
        let rangeStart = matching.bind(first)
        let rangeEnd = matching.bind(lowest)
        let matchingIDs = Set(try await read(matching.query("""
            SELECT rowid AS rid FROM enterprise.structured_logs_fts
            WHERE structured_logs_fts MATCH \(rangeMatch) AND rowid >= \(rangeStart) AND rowid < \(rangeEnd)
            """)).compactMap { $0["rid"].int })
        return pickedIDs + lateIDs.filter { matchingIDs.contains($0) }
    }

    /// Pages further than this (offset plus limit) are found by probing instead.
    static let rowidScanMaxWanted = 1_000
    /// Records stored late that one search takes by rowid (each is a parameter of the page's
    /// statement; SQLite takes 32,766).
    static let lateRecordsLimit = 10_000

    static func prefersProbing(matches: Double, records: Double, wanted: Double) -> Bool {
        guard matches > 0, records > 0 else { return false }
        let share = min(1, matches / records)
        return wanted / share * probeCost < matches * collectCost
    }

    /// Measured on SQLite (2 M records): a probe ~100 µs, collecting and ordering ~2.4 µs a match.
    static let probeCost = 100.0, collectCost = 2.4
    static let matchCountLimit = 1_000_000

    /// Every column of a record as stored, in the table's order (not PostgreSQL's search
    /// vector, migration 015, which is the message again).
    static let logColumns = [
        "id", "timestamp", "level", "logger_name", "message", "trace_id", "span_id", "user_email", "department", "session_id",
        "endpoint", "extra", "exception_type", "exception_message", "exception_traceback", "time_unix_nano",
        "observed_time_unix_nano", "observed_timestamp", "severity_number", "severity_text", "body", "attributes", "resource",
        "scope", "flags", "event_name", "dropped_attributes_count", "service_name",
    ]

    /// `GET /logs/{id}`: every column of one record.
    func log(_ request: Request, id text: String) async throws(QueryFailure) -> Response {
        guard let uuid = UUID(uuidString: text) else { throw .badParameter("id", "expected a UUID") }
        let id = uuid.uuidString.lowercased()
        var sql = SQLBuilder(store.dialect)
        let condition = store.dialect == .postgres ? "id = \(sql.bind(id))::uuid" : "id = \(sql.bind(id))"
        guard let row = try await read(sql.query("""
            SELECT \(Self.logColumns.joined(separator: ", ")) FROM enterprise.structured_logs WHERE \(condition)
            """)).first else {
            throw .notFound("log \(id)")
        }
        return .jsonObject { body in RowJSON.write(row, into: &body) }
    }

    /// `GET /logs/stats/levels?hours=`: how many records of each level.
    func logLevels(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        // Whole minutes from `log_level_minutes`; the minute the window starts in from the records.
        let since = window.sinceUnixNano
        let firstWholeMinute = SpanOperationMinute.minute(of: since) + SpanOperationMinute.minuteNano
        var minutes = SQLBuilder(store.dialect)
        let minuteStart = minutes.bindTime(unixNano: firstWholeMinute)
        let wholeMinutes = try await read(minutes.query("""
            SELECT level, CAST(sum(count) AS BIGINT) AS count FROM enterprise.log_level_minutes
            WHERE minute >= \(minuteStart) GROUP BY level
            """))
        var records = SQLBuilder(store.dialect)
        let partial = "timestamp > \(records.bindTime(unixNano: since)) AND timestamp < \(records.bindTime(unixNano: firstWholeMinute))"
        let partialMinute = try await read(records.query("""
            SELECT level, count(*) AS count FROM enterprise.structured_logs WHERE \(partial) GROUP BY level
            """))
        var counts: [String: Int64] = [:]
        for row in wholeMinutes + partialMinute { counts[row["level"].text ?? "", default: 0] += row["count"].int ?? 0 }
        let rows = counts.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("levels")
            body.beginObject()
            for (level, count) in rows {
                body.key(level); body.int(count)
            }
            body.endObject()
        }
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

    /// The words of a search, for an FTS5 query: letters and digits only, each then quoted,
    /// so no FTS5 syntax from the user reaches the query.
    static func searchWords(_ text: String) -> [String] {
        text.split { !$0.isLetter && !$0.isNumber }.map(String.init).prefix(32).map { $0 }
    }
}
