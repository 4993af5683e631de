// Full-text search over log messages on SQLite (`GET /logs?search=`), newest first, through the
// FTS5 index `structured_logs_fts` (migration 009), whose rowids are the records' rowids. Its
// matches are read only from the window's smallest rowid on (`sqliteWindowFloor`), so a search
// over a day costs the same on a file holding a month.

extension SQLLogQueries {
    /// The condition on `l.rowid` that keeps the records matching the FTS5 query `match`, for a
    /// page of `wanted` records (offset plus limit); its values are bound in `sql`.
    /// `floor` is the window's smallest rowid (`sqliteWindowFloor`), nil when unknown.
    func sqliteSearchCondition(_ match: String, floor: Int64?, filter: LogFilter, wanted: Int,
                               sql: inout SQLBuilder) async throws(StoreError) -> String {
        if floor == Int64.max { return "0" } // no record in the window
        if let rowids = try await newestMatches(match, floor: floor, wanted: wanted, filter: filter) {
            return rowids.isEmpty ? "0" : "l.rowid IN (\(rowids.map { sql.bind($0) }.joined(separator: ", ")))"
        }
        let frequent = try await prefersProbing(match, floor: floor, wanted: wanted)
        // Few matches: collect them, then order them by time. Many: read the newest records
        // first, each probed in the full-text index, until the page is full.
        let placeholder = sql.bind(match)
        if frequent {
            return "EXISTS (SELECT 1 FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder) AND rowid = l.rowid)"
        }
        let fromFloor = Self.rowidFloor(floor, of: "structured_logs_fts", &sql).map { " AND " + $0 }.joined()
        return "l.rowid IN (SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder)\(fromFloor))"
    }

    /// The smallest rowid a record of the window (`timestamp > since`) can have: the smallest
    /// rowid among the records of the window's first hour and of each later hour up to the
    /// newest record's, one seek per hour in `idx_logs_hour` (migration 023). Records are not
    /// always stored in time order (late exports, clocks ahead), so the window's first record
    /// need not have its smallest rowid; counting every hour is what makes the bound exact.
    /// `Int64.max` when no record is in those hours; nil (no bound) when the newest record is
    /// more than `floorHoursLimit` hours after `since` (a clock years ahead).
    func sqliteWindowFloor(since: Int64) async throws(StoreError) -> Int64? {
        var sql = SQLBuilder(.sqlite)
        let start = sql.bindTime(unixNano: since)
        let limit = sql.bind(Int64(Self.floorHoursLimit))
        let row = try await reads.rows(sql.query("""
            WITH RECURSIVE hours(hour, n) AS (
                SELECT substr(\(start), 1, 13), 1
                UNION ALL
                SELECT strftime('%Y-%m-%dT%H', hour || ':00:00', '+1 hour'), n + 1 FROM hours
                WHERE hour < (SELECT substr(max(timestamp), 1, 13) FROM enterprise.structured_logs) AND n < \(limit)
            )
            SELECT min((SELECT min(rowid) FROM enterprise.structured_logs WHERE substr(timestamp, 1, 13) = hours.hour)) AS floor,
                   max(n) AS hours
            FROM hours
            """)).first
        guard let row, let hours = try row.int("hours"), hours < Self.floorHoursLimit else { return nil }
        return try row.int("floor") ?? Int64.max
    }

    /// `[TABLE.rowid >= floor]`, bound in `sql`; nothing when there is no floor.
    static func rowidFloor(_ floor: Int64?, of table: String, _ sql: inout SQLBuilder) -> [String] {
        guard let floor else { return [] }
        return ["\(table).rowid >= \(sql.bind(floor))"]
    }

    /// Hours a window's floor looks at, at most (about 14 months).
    static let floorHoursLimit = 10_000

    /// Whether to find a search's page by probing the newest records one by one in the
    /// full-text index, rather than by collecting every match and ordering them by time.
    /// Probing costs about `probeCost` per record read, and a page of `wanted` rows reads about
    /// `wanted / share` records, `share` being the part of all records that match; collecting
    /// costs about `collectCost` per match. The matches are counted in the full-text index
    /// alone (quick), from the window's `floor` on, up to `matchCountLimit`; the record count
    /// is the rowids from the floor to SQLite's largest.
    private func prefersProbing(_ match: String, floor: Int64?, wanted: Int) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(.sqlite)
        let placeholder = sql.bind(match)
        let fromFloor = Self.rowidFloor(floor, of: "structured_logs_fts", &sql).map { " AND " + $0 }.joined()
        let text = """
            SELECT (SELECT count(*) FROM (SELECT rowid FROM enterprise.structured_logs_fts
                    WHERE structured_logs_fts MATCH \(placeholder)\(fromFloor) LIMIT \(Self.matchCountLimit))) AS matches,
                   (SELECT max(rowid) FROM enterprise.structured_logs) AS newest
            """
        let row = try await reads.rows(sql.query(text)).first
        let newest = try row?.int("newest") ?? 0, first = floor ?? 1
        let matches = Double(try row?.int("matches") ?? 0), records = Double(max(0, newest - first + 1))
        return Self.prefersProbing(matches: matches, records: records, wanted: Double(wanted))
    }

    /// The rowids of the newest `wanted` records (by time) that match the full-text `match` and
    /// pass `filter`, possibly with some more; nil when this way cannot tell (the filter leaves
    /// too few of the newest matches), or `wanted` is large.
    ///
    /// Records are mostly stored in time order, so the full-text index's newest matches by
    /// rowid (it reads them newest first and stops early) hold nearly all of the page:
    /// 1. take the `16 × wanted` largest matching rowids from the window's `floor` on (all of
    ///    them for a word rare in the window: then step 2 is the answer);
    /// 2. keep the newest `wanted` of those records that pass the filter; the last one's
    ///    time is `T`;
    /// 3. add the records below the scanned rowids that pass the filter, are not older than
    ///    `T` (stored late: found through the time index) and match (their rowids looked up in
    ///    the full-text index).
    /// A record of the true page is either scanned, and then in step 2's page, or ranks before
    /// step 2's last record, so is not older than `T`, and then found in step 3.
    private func newestMatches(_ match: String, floor: Int64?, wanted: Int, filter: LogFilter) async throws(StoreError) -> [Int64]? {
        guard wanted <= Self.rowidScanMaxWanted else { return nil }
        let scanSize = Int64(max(16 * wanted, 400))
        let newestMatches = { (sql: inout SQLBuilder) -> String in
            let placeholder = sql.bind(match)
            let fromFloor = Self.rowidFloor(floor, of: "structured_logs_fts", &sql).map { " AND " + $0 }.joined()
            return """
                SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder)\(fromFloor)
                ORDER BY rowid DESC LIMIT \(sql.bind(scanSize))
                """
        }
        var scan = SQLBuilder(.sqlite)
        let scanText = newestMatches(&scan)
        guard let scanned = try await reads.rows(scan.query("SELECT min(rowid) AS low, count(*) AS n FROM (\(scanText))")).first,
              let scannedCount = try scanned.int("n") else { return nil }
        guard scannedCount > 0, let lowest = try scanned.int("low") else { return [] }

        var pick = SQLBuilder(.sqlite)
        let pickConditions = filter.conditions(&pick, inWindow: true)
        let pickMatches = newestMatches(&pick)
        let pickLimit = pick.bind(Int64(wanted))
        let picked = try await reads.records(PickedRecord.self, pick.query("""
            SELECT l.rowid AS rid, l.timestamp AS ts FROM enterprise.structured_logs l
            WHERE \(pickConditions.joined(separator: " AND ")) AND l.rowid IN (\(pickMatches))
            ORDER BY l.timestamp DESC, l.id LIMIT \(pickLimit)
            """))
        let pickedIDs = picked.map(\.rid)
        if scannedCount < scanSize { return pickedIDs } // every match was scanned
        guard picked.count == wanted, let oldest = picked.last?.ts else { return nil }

        // Stored late: below the scanned rowids, not older than the page's last record. The
        // time bound alone (not the window's start too) so SQLite reads the time index from it.
        var late = SQLBuilder(.sqlite)
        let notOlder = late.bind(oldest)
        let below = late.bind(lowest)
        let lateConditions = ["l.timestamp >= \(notOlder)", "l.rowid < \(below)"] + filter.conditions(&late, inWindow: false)
        let lateIDs = try await reads.records(RowID.self, late.query("""
            SELECT l.rowid AS rid FROM enterprise.structured_logs l WHERE \(lateConditions.joined(separator: " AND "))
            """)).map(\.rid)
        guard let first = lateIDs.min() else { return pickedIDs }
        // Many records far out of time order (clients with clocks far ahead): the other plans.
        guard lateIDs.count <= Self.lateRecordsLimit else { return nil }
        // Which of them match: one pass over the full-text index's matches in their rowid range.
        var matching = SQLBuilder(.sqlite)
        let rangeMatch = matching.bind(match)
        let rangeStart = matching.bind(first)
        let rangeEnd = matching.bind(lowest)
        let matchingIDs = Set(try await reads.records(RowID.self, matching.query("""
            SELECT rowid AS rid FROM enterprise.structured_logs_fts
            WHERE structured_logs_fts MATCH \(rangeMatch) AND rowid >= \(rangeStart) AND rowid < \(rangeEnd)
            """)).map(\.rid))
        return pickedIDs + lateIDs.filter { matchingIDs.contains($0) }
    }

    private struct RowID: StoredRecord {
        var rid: Int64

        enum CodingKeys: String, CodingKey, CaseIterable { case rid }
    }

    private struct PickedRecord: StoredRecord {
        var rid: Int64
        var ts: String

        enum CodingKeys: String, CodingKey, CaseIterable { case rid, ts }
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

    /// The words of a search, for an FTS5 query: letters and digits only, each then quoted,
    /// so no FTS5 syntax from the user reaches the query.
    static func searchWords(_ text: String) -> [String] {
        text.split { !$0.isLetter && !$0.isNumber }.map(String.init).prefix(32).map { $0 }
    }
}
