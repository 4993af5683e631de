import Foundation
import Logging
import Synchronization

/// The live log stream on PostgreSQL: LISTEN on `new_log`, whose trigger (migration 011) sends
/// the new records' ids for every insert, or for larger inserts their count and time range,
/// and read the records named. Marks are fences: a notice on the same channel, sent through
/// the pool, which reaches the listener after every record committed before it.
final class PostgresLogFeedSource: LogFeedSource {
    private let store: PostgresStore
    private let reads: StoreReads

    private struct State {
        /// LISTEN is in place, so fences arrive.
        var listening = false
        /// The transactions whose records were reported last (see `readRange`).
        var reportedTransactions: [String] = []
    }

    private let state = Mutex(State())

    /// Rows read back at once for an insert too large to list its ids.
    static let page = 1000

    init(store: PostgresStore) {
        self.store = store
        self.reads = StoreReads(store)
    }

    var followsWriterCommits: Bool { false }

    func follow(commits: AsyncStream<Void>, demand: @escaping @Sendable () -> LogFeedDemand, logger: Logger,
                report: @escaping @Sendable (LogFeedEvent) async -> Void) async {
        await store.listen(
            to: "new_log", logger: logger,
            onListening: {
                self.state.withLock { $0.listening = true }
                await report(.listening)
            },
            onLost: {
                self.state.withLock { $0.listening = false }
                await report(.notListening)
            },
            onNotification: { payload in await self.received(payload, demand: demand, logger: logger, report: report) })
    }

    /// A fence through the pool, once LISTEN is in place; `.now` when it is not, or the fence
    /// could not be sent.
    func mark(_ token: String) async throws(StoreError) -> LogFeedMark {
        // Right after start-up LISTEN may not be in place yet; while the database is down it
        // will not be soon, so the wait is short.
        for _ in 0..<250 where !state.withLock({ $0.listening }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard state.withLock({ $0.listening }) else { return .now }
        do {
            // Notifications reach listeners in commit order, so every record committed before
            // this fence is announced before it.
            _ = try await reads.rows(ReadQuery(sql: "SELECT pg_notify('new_log', $1)::text AS sent",
                                               binds: [.text(Self.fencePayload(token))]))
        } catch {
            return .now
        }
        return .fence
    }

    static func fencePayload(_ token: String) -> String { "{\"fence\":\"\(token)\"}" }

    /// What the `new_log` trigger sends: the new rows' ids, or for larger inserts their count
    /// and time range; or one of the feeds' fences.
    struct NewLogNotification: Decodable {
        var count: Int?
        var ids: [String]?
        var from: String?
        var to: String?
        var fence: String?
    }

    private func received(_ payload: String, demand: @Sendable () -> LogFeedDemand, logger: Logger,
                          report: @Sendable (LogFeedEvent) async -> Void) async {
        guard let notification = try? JSONDecoder().decode(NewLogNotification.self, from: Data(payload.utf8)) else {
            logger.debug("unexpected new_log payload")
            return
        }
        if let token = notification.fence {
            await report(.fence(token))
            return
        }
        guard demand() != .nothing else { return }
        do {
            if let ids = notification.ids {
                await report(.records(try await records(ids: ids)))
            } else if let from = notification.from, let to = notification.to {
                await report(.records(try await records(from: from, to: to, count: notification.count ?? Self.page)))
            }
        } catch {
            logger.logFeedReadFailed(error)
        }
    }

    /// The rows named, in the order the trigger listed them (insertion order).
    private func records(ids: [String]) async throws(StoreError) -> [LogFeedRecord] {
        let uuids = ids.compactMap { UUID(uuidString: $0)?.uuidString.lowercased() }
        guard !uuids.isEmpty else { return [] }
        var sql = SQLBuilder(.postgres)
        let array = sql.bind("{" + uuids.joined(separator: ",") + "}") + "::uuid[]"
        let rows = try await transactionRecords(sql.query("""
            SELECT l.xmin::text AS xid, \(LogListItem.selectList(.postgres)) FROM enterprise.structured_logs l
            WHERE l.id = ANY(\(array)) ORDER BY array_position(\(array), l.id)
            """))
        remember(transactions: Set(rows.map(\.transaction)))
        return rows.map(\.record)
    }

    /// An insert too large to list its ids: its rows are the newest in its time range that
    /// share one transaction (`xmin`), and not the transaction of rows already reported.
    /// Rows of another insert in the same range are told apart by their transaction.
    private func records(from: String, to: String, count: Int) async throws(StoreError) -> [LogFeedRecord] {
        var sql = SQLBuilder(.postgres)
        let limit = Int64(min(max(count, 1) * 2, 20 * Self.page))
        // The text first: `bind` adds to `sql`, which `query` then reads.
        let text = """
            SELECT l.xmin::text AS xid, \(LogListItem.selectList(.postgres)) FROM enterprise.structured_logs l
            WHERE l.timestamp >= \(sql.bind(from))::timestamptz AND l.timestamp <= \(sql.bind(to))::timestamptz
            ORDER BY l.timestamp DESC, l.id LIMIT \(sql.bind(limit))
            """
        let rows = try await transactionRecords(sql.query(text))
        let reported = Set(state.withLock { $0.reportedTransactions })
        let candidates = Dictionary(grouping: rows.filter { !reported.contains($0.transaction) }) { $0.transaction }
        guard let (transaction, newRows) = candidates.max(by: { $0.value.count < $1.value.count }) else { return [] }
        remember(transactions: [transaction])
        return newRows.reversed().map(\.record)
    }

    /// The records of a statement selecting `xid` and `LogListItem`'s columns, with their transactions.
    private func transactionRecords(_ query: ReadQuery) async throws(StoreError) -> [(transaction: String, record: LogFeedRecord)] {
        var records: [(transaction: String, record: LogFeedRecord)] = []
        for row in try await reads.rows(query) {
            records.append((try row.text("xid") ?? "", LogFeedRecord(sequence: nil, log: try row.decode(LogListItem.self))))
        }
        return records
    }

    private func remember(transactions: Set<String>) {
        state.withLock { state in
            state.reportedTransactions.append(contentsOf: transactions)
            if state.reportedTransactions.count > 256 {
                state.reportedTransactions.removeFirst(state.reportedTransactions.count - 256)
            }
        }
    }
}
