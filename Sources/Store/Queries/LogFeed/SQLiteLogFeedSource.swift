import Logging

/// The live log stream on SQLite: after each of the writer's commits, the records past the last
/// one read, in rowid (insertion) order, while anyone waits for them.
struct SQLiteLogFeedSource: LogFeedSource {
    let reads: StoreReads

    /// Records read back at once.
    static let page = 1000

    var followsWriterCommits: Bool { true }

    func follow(commits: AsyncStream<Void>, demand: @escaping @Sendable () -> LogFeedDemand, logger: Logger,
                report: @escaping @Sendable (LogFeedEvent) async -> Void) async {
        var cursor: Int64?
        for await _ in commits {
            while !Task.isCancelled {
                guard case .after(let floor) = demand() else {
                    cursor = nil
                    break
                }
                let from = max(cursor ?? floor, floor)
                var sql = SQLBuilder(.sqlite)
                let text = """
                    SELECT l.rowid AS sequence, \(LogListItem.selectList(.sqlite)) FROM enterprise.structured_logs l
                    WHERE l.rowid > \(sql.bind(from)) ORDER BY l.rowid LIMIT \(sql.bind(Int64(Self.page)))
                    """
                var records: [LogFeedRecord] = []
                do {
                    for row in try await reads.rows(sql.query(text)) {
                        records.append(LogFeedRecord(sequence: try row.int("sequence"), log: try row.decode(LogListItem.self)))
                    }
                } catch {
                    logger.logFeedReadFailed(error)
                    // Again after a pause, as if the writer had committed once more.
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                await report(.records(records))
                cursor = records.last?.sequence ?? from
                if records.count < Self.page { break }
            }
        }
    }

    /// The largest rowid so far: the records committed later have larger ones.
    func mark(_ token: String) async throws(StoreError) -> LogFeedMark {
        let rows = try await reads.rows(ReadQuery(sql: "SELECT coalesce(max(rowid), 0) AS sequence FROM enterprise.structured_logs"))
        return .after(try rows.first?.int("sequence") ?? 0)
    }
}

extension Logger {
    /// A failed read of the live log stream, without SQL or data.
    func logFeedReadFailed(_ error: any Error) {
        warning("log stream read failed", metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
    }
}
