// Full-text search over log messages on PostgreSQL (`GET /logs?search=`), newest first.
//
// A GIN index cannot hand out its matches in time order, so a search page is found one of two
// ways, and PostgreSQL's planner picks the wrong one for the words that matter: it guesses how
// many records match two words by multiplying their shares (words that occur together, like
// "pool exhausted", match 30 times more often than that), and then orders 150,000 matches by
// time to show 100 of them.
// - walking: read the window's records newest first through the time index and test each
//   against the stored vector (`message_search`, migration 015), about 1.5 µs a record; the
//   cost is the records read, `wanted / share` for a page.
// - collecting: the GIN index's matches, each record fetched, then ordered by time; the cost
//   is the number of matches.
// Which one is measured, not guessed: the newest `probeSize` records of the window are tested
// against the filters and the search (a few milliseconds), and their share of matches says how
// far a walk would read. The same choice is made again for the total, counted up to the
// count limit: walking reads `(limit + 1) / share` records, collecting hands the rest to the
// planner, whose guesses for one word come from the column's statistics.
// A walk is bounded: it reads a few times the records the share predicts, then gives up and
// collects, so a word that is frequent only among the newest records (a burst) costs a bounded
// detour, not a walk through the whole window.

struct PostgresSearchPlan: Equatable, Sendable {
    /// Find the page by walking the time index (else from the GIN index's matches).
    var walkPage: Bool
    /// Count the total by walking the time index (else from the GIN index's matches).
    var walkCount: Bool
    /// The share of matches among the newest records; nil when the probe read the whole window.
    var share: Double? = nil

    /// Records tested for the share of matches.
    static let probeSize = 1_000
    /// The most records a page's walk should read (about 30 ms), and a count's (about 90 ms).
    static let pageWalkRecords = 20_000.0
    static let countWalkRecords = 60_000.0

    /// The plan for a page of `wanted` records (offset plus limit) and a total counted to
    /// `countLimit`, given that `matched` of the window's newest `probed` records pass the
    /// filters and match.
    static func choose(probed: Int, matched: Int, wanted: Int, countLimit: Int) -> PostgresSearchPlan {
        // The probe read the whole window: a walk reads no more than it did.
        guard probed >= probeSize else { return PostgresSearchPlan(walkPage: true, walkCount: true) }
        // None of the newest records match: a walk could read the whole window for nothing.
        guard matched > 0 else { return PostgresSearchPlan(walkPage: false, walkCount: false) }
        let share = Double(matched) / Double(probed)
        return PostgresSearchPlan(walkPage: Double(wanted) / share <= pageWalkRecords,
                                  walkCount: Double(countLimit + 1) / share <= countWalkRecords, share: share)
    }

    /// The most records a page's walk reads before it collects instead: four times the
    /// prediction (at most 80,000); nil for the whole window (the probe read all of it).
    func pageWalkLimit(wanted: Int) -> Int? {
        share.map { Int(min(4 * Double(wanted) / $0, 4 * Self.pageWalkRecords).rounded(.up)) }
    }

    /// The same for a count to `countLimit`: twice the prediction (at most 120,000).
    func countWalkLimit(countLimit: Int) -> Int? {
        share.map { Int(min(2 * Double(countLimit + 1) / $0, 2 * Self.countWalkRecords).rounded(.up)) }
    }

    /// The search condition for `placeholder` (the bound search text). Walking, it is a plain
    /// function call, which no index serves, so the planner walks the time index; collecting,
    /// the `@@` operator the GIN index serves.
    static func condition(_ placeholder: String, walking: Bool) -> String {
        walking
            ? "ts_match_vq(l.message_search, plainto_tsquery('english', \(placeholder)))"
            : "l.message_search @@ plainto_tsquery('english', \(placeholder))"
    }
}

extension SQLLogQueries {
    /// Measures the share of matches among the window's newest records and chooses the plan.
    /// The probe reads at most `probeSize` records however selective the filter is: it is
    /// tested in the select list, not used to find records.
    func postgresSearchPlan(_ search: String, filter: LogFilter, wanted: Int,
                            countLimit: Int) async throws(StoreError) -> PostgresSearchPlan {
        var sql = SQLBuilder(.postgres)
        let window = sql.bindTime(unixNano: filter.since)
        let size = sql.bind(Int64(PostgresSearchPlan.probeSize))
        let tests = filter.conditions(&sql, inWindow: false) + [PostgresSearchPlan.condition(sql.bind(search), walking: true)]
        let text = """
            SELECT count(*) AS probed, count(*) FILTER (WHERE \(tests.joined(separator: " AND "))) AS matched
            FROM (SELECT l.level, l.logger_name, l.service_name, l.trace_id, l.user_email, l.message_search
                  FROM enterprise.structured_logs l WHERE l.timestamp > \(window)
                  ORDER BY l.timestamp DESC LIMIT \(size)) l
            """
        let row = try await reads.rows(sql.query(text)).first
        return PostgresSearchPlan.choose(probed: Int(try row?.int("probed") ?? 0), matched: Int(try row?.int("matched") ?? 0),
                                         wanted: wanted, countLimit: countLimit)
    }

    /// The window's records that pass the filter, newest first, at most `limit` of them (all
    /// when nil): the time index read in order, stopped early by whatever reads from it.
    private static func newestRecords(_ sql: inout SQLBuilder, filter: LogFilter, limit: Int?) -> String {
        let conditions = filter.conditions(&sql, inWindow: true)
        let cut = limit.map { "LIMIT \(sql.bind(Int64($0)))" } ?? ""
        return """
            SELECT * FROM enterprise.structured_logs l WHERE \(conditions.isEmpty ? "TRUE" : conditions.joined(separator: " AND "))
            ORDER BY l.timestamp DESC, l.id \(cut)
            """
    }

    /// A search's page, newest first. Walking, the newest records are tested one by one (the
    /// subquery is in the page's order, so its matches come in that order too); when the walk's
    /// bound leaves the page short, the GIN index's matches are collected instead.
    func postgresSearchPage(_ search: String, plan: PostgresSearchPlan, filter: LogFilter, limit: Int,
                            offset: Int) async throws(StoreError) -> [LogListItem] {
        let columns = LogListItem.selectList(.postgres)
        if plan.walkPage {
            var sql = SQLBuilder(.postgres)
            let walkLimit = plan.pageWalkLimit(wanted: offset + limit)
            let newest = Self.newestRecords(&sql, filter: filter, limit: walkLimit)
            let match = PostgresSearchPlan.condition(sql.bind(search), walking: true)
            let page = "LIMIT \(sql.bind(Int64(limit))) OFFSET \(sql.bind(Int64(offset)))"
            let logs = try await reads.records(LogListItem.self, sql.query("""
                SELECT \(columns) FROM (\(newest)) l
                WHERE \(match) ORDER BY l.timestamp DESC, l.id \(page)
                """))
            // A full page, or a walk through the whole window: exact.
            if logs.count == limit || walkLimit == nil { return logs }
        }
        var sql = SQLBuilder(.postgres)
        let conditions = filter.conditions(&sql, inWindow: true) + [PostgresSearchPlan.condition(sql.bind(search), walking: false)]
        let page = "LIMIT \(sql.bind(Int64(limit))) OFFSET \(sql.bind(Int64(offset)))"
        return try await reads.records(LogListItem.self, sql.query("""
            SELECT \(columns) FROM enterprise.structured_logs l
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY l.timestamp DESC, l.id \(page)
            """))
    }

    /// A search's matches in the window, counted up to `countLimit`. Walking, the count stops at
    /// the limit; short of it, the walk's bound decides: if the window has no more records than
    /// the walk read, the count is exact, else the GIN index's matches are counted instead.
    func postgresSearchCount(_ search: String, plan: PostgresSearchPlan, filter: LogFilter,
                             countLimit: Int) async throws(StoreError) -> CappedCount {
        if plan.walkCount {
            let walkLimit = plan.countWalkLimit(countLimit: countLimit)
            var sql = SQLBuilder(.postgres)
            let newest = Self.newestRecords(&sql, filter: filter, limit: walkLimit)
            let match = PostgresSearchPlan.condition(sql.bind(search), walking: true)
            let counted = try await reads.rows(sql.query("""
                SELECT count(*) AS total FROM (SELECT 1 FROM (\(newest)) l WHERE \(match) LIMIT \(countLimit + 1)) counted
                """)).first?.int("total") ?? 0
            if counted > countLimit { return CappedCount(total: Int64(countLimit), capped: true) }
            guard let walkLimit else { return CappedCount(total: counted, capped: false) }
            var records = SQLBuilder(.postgres)
            let window = Self.newestRecords(&records, filter: filter, limit: walkLimit)
            let read = try await reads.rows(records.query("SELECT count(*) AS n FROM (\(window)) l")).first?.int("n") ?? 0
            if read < walkLimit { return CappedCount(total: counted, capped: false) }
        }
        var sql = SQLBuilder(.postgres)
        let conditions = filter.conditions(&sql, inWindow: true) + [PostgresSearchPlan.condition(sql.bind(search), walking: false)]
        return try await reads.cappedCount(sql, from: "enterprise.structured_logs l", filter: conditions.joined(separator: " AND "),
                                           limit: countLimit)
    }
}
