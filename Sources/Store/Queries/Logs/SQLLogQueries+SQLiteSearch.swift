// Full-text search over log messages on SQLite (`GET /logs?search=`), newest first, through the
// FTS5 index `structured_logs_fts` (migration 009), whose rowids are the records' rowids.

extension SQLLogQueries {
    /// The condition on `l.rowid` that keeps the records matching the FTS5 query `match`, for a
    /// page of `wanted` records (offset plus limit); its values are bound in `sql`.
    func sqliteSearchCondition(_ match: String, filter: LogFilter, wanted: Int,
                               sql: inout SQLBuilder) async throws(StoreError) -> String {
        if let rowids = try await newestMatches(match, wanted: wanted, filter: filter) {
            return rowids.isEmpty ? "0" : "l.rowid IN (\(rowids.map { sql.bind($0) }.joined(separator: ", ")))"
        }
        let frequent = try await prefersProbing(match, wanted: wanted)
        // Few matches: collect them, then order them by time. Many: read the newest records
        // first, each probed in the full-text index, until the page is full.
        let placeholder = sql.bind(match)
        return frequent
            ? "EXISTS (SELECT 1 FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder) AND rowid = l.rowid)"
            : "l.rowid IN (SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH \(placeholder))"
    }

    /// Whether to find a search's page by probing the newest records one by one in the
    /// full-text index, rather than by collecting every match and ordering them by time.
    /// Probing costs about `probeCost` per record read, and a page of `wanted` rows reads about
    /// `wanted / share` records, `share` being the part of all records that match; collecting
    /// costs about `collectCost` per match. The matches are counted in the full-text index
    /// alone (quick), up to `matchCountLimit`; the record count is SQLite's largest rowid.
    private func prefersProbing(_ match: String, wanted: Int) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(.sqlite)
        let placeholder = sql.bind(match)
        let text = """
            SELECT (SELECT count(*) FROM (SELECT rowid FROM enterprise.structured_logs_fts
                    WHERE structured_logs_fts MATCH \(placeholder) LIMIT \(Self.matchCountLimit))) AS matches,
                   (SELECT max(rowid) FROM enterprise.structured_logs) AS records
            """
        let row = try await reads.rows(sql.query(text)).first
        let matches = Double(try row?.int("matches") ?? 0), records = Double(try row?.int("records") ?? 0)
        return Self.prefersProbing(matches: matches, records: records, wanted: Double(wanted))
    }

    /// The rowids of the newest `wanted` records (by time) that match the full-text `match` and
    /// pass `filter`, possibly with some more; nil when this way cannot tell (the filter leaves
    /// too few of the newest matches), or `wanted` is large.
    ///
    /// Records are mostly stored in time order, so the full-text index's newest matches by
    /// rowid (it reads them newest first and stops early) hold nearly all of the page:
    /// 1. take the `16 × wanted` largest matching rowids (all of them for a rare word: then
    ///    step 2 is the answer);
    /// 2. keep the newest `wanted` of those records that pass the filter; the last one's
    ///    time is `T`;
    /// 3. add the records below the scanned rowids that pass the filter, are not older than
    ///    `T` (stored late: found through the time index) and match (their rowids looked up in
    ///    the full-text index).
    /// A record of the true page is either scanned, and then in step 2's page, or ranks before
    /// step 2's last record, so is not older than `T`, and then found in step 3.
    private func newestMatches(_ match: String, wanted: Int, filter: LogFilter) async throws(StoreError) -> [Int64]? {
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
