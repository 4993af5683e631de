import Foundation
import Logging
import Store

// Where the feed's records come from: the writer's commits on SQLite, LISTEN/NOTIFY on PostgreSQL.

extension LogFeed {
    /// Rows read back at once.
    static let page = 1000

    // MARK: SQLite: read back what the writer committed

    /// After each of the writer's commits, reads the rows past the last one published, in
    /// rowid (insertion) order, while anyone is subscribed.
    func tail() async {
        var cursor: Int64?
        for await _ in commits {
            while true {
                guard let floor = lowestStart() else {
                    cursor = nil
                    break
                }
                let from = max(cursor ?? floor, floor)
                var sql = SQLBuilder(.sqlite)
                // The text first: `bind` adds to `sql`, which `query` then reads.
                let text = """
                    SELECT l.rowid AS sequence, \(LiveLogRecord.columns(.sqlite)) FROM enterprise.structured_logs l
                    WHERE l.rowid > \(sql.bind(from)) ORDER BY l.rowid LIMIT \(sql.bind(Int64(Self.page)))
                    """
                let rows: [ResultRow]
                do {
                    rows = try await store.read(sql.query(text))
                } catch {
                    warn("log stream read failed", error)
                    try? await Task.sleep(for: .seconds(1))
                    commitSignal.yield()
                    break
                }
                let records = rows.map(LiveLogRecord.init)
                publish(records)
                cursor = records.last?.sequence ?? from
                if rows.count < Self.page { break }
            }
        }
    }

    /// The earliest position a started subscriber reads from, or nil when none has started.
    private func lowestStart() -> Int64? {
        state.withLock { state in
            state.subscribers.values.compactMap { subscriber -> Int64? in
                if case .after(let position) = subscriber.start { return position }
                return nil
            }.min()
        }
    }

    // MARK: PostgreSQL: LISTEN new_log

    /// What the `new_log` trigger sends (migrations/postgres/011): the new rows' ids, or for
    /// larger inserts their count and time range; or one of the feeds' fences.
    struct NewLogNotification: Decodable {
        var count: Int?
        var ids: [String]?
        var from: String?
        var to: String?
        var fence: String?
    }

    func listen(_ postgres: PostgresStore) async {
        await postgres.listen(
            to: "new_log", logger: logger,
            onListening: { self.listening(true) },
            onLost: { self.listening(false) },
            onNotification: { payload in await self.received(payload) })
    }

    /// LISTEN is in place (or lost). Either way no awaited fence may come: start those
    /// subscribers now. After a loss, tell clients that records may be missing.
    private func listening(_ listening: Bool) {
        let interrupted = state.withLock { state -> Bool in
            var wasInterrupted = false
            if listening {
                wasInterrupted = state.interrupted
                state.interrupted = false
            } else if state.listening {
                state.interrupted = true
            }
            state.listening = listening
            for (id, subscriber) in state.subscribers {
                if case .fence = subscriber.start { state.subscribers[id]?.start = .all }
            }
            return wasInterrupted
        }
        if interrupted {
            notify("the connection to the database was lost and is back; records written meanwhile are not shown")
        }
    }

    private func received(_ payload: String) async {
        guard let notification = try? JSONDecoder().decode(NewLogNotification.self, from: Data(payload.utf8)) else {
            logger.debug("unexpected new_log payload")
            return
        }
        if let token = notification.fence {
            state.withLock { state in
                for (id, subscriber) in state.subscribers where subscriber.start == .fence(token) {
                    state.subscribers[id]?.start = .all
                }
            }
            return
        }
        let anyoneListening = state.withLock { state in
            state.subscribers.values.contains { $0.start == .all }
        }
        guard anyoneListening else { return }
        do {
            if let ids = notification.ids {
                try await readIDs(ids)
            } else if let from = notification.from, let to = notification.to {
                try await readRange(from: from, to: to, count: notification.count ?? Self.page)
            }
        } catch {
            warn("log stream read failed", error)
        }
    }

    /// The rows named, in the order the trigger listed them (insertion order).
    private func readIDs(_ ids: [String]) async throws {
        let uuids = ids.compactMap { UUID(uuidString: $0)?.uuidString.lowercased() }
        guard !uuids.isEmpty else { return }
        var sql = SQLBuilder(.postgres)
        let array = sql.bind("{" + uuids.joined(separator: ",") + "}") + "::uuid[]"
        let text = """
            SELECT l.xmin::text AS xid, \(LiveLogRecord.columns(.postgres)) FROM enterprise.structured_logs l
            WHERE l.id = ANY(\(array)) ORDER BY array_position(\(array), l.id)
            """
        let rows = try await store.read(sql.query(text))
        remember(transactions: Set(rows.compactMap { $0["xid"].text }))
        publish(rows.map(LiveLogRecord.init))
    }

    /// An insert too large to list its ids: its rows are the newest in its time range that
    /// share one transaction (`xmin`), and not the transaction of rows already published.
    /// Rows of another insert in the same range are told apart by their transaction.
    private func readRange(from: String, to: String, count: Int) async throws {
        var sql = SQLBuilder(.postgres)
        let limit = Int64(min(max(count, 1) * 2, 20 * Self.page))
        let text = """
            SELECT l.xmin::text AS xid, \(LiveLogRecord.columns(.postgres)) FROM enterprise.structured_logs l
            WHERE l.timestamp >= \(sql.bind(from))::timestamptz AND l.timestamp <= \(sql.bind(to))::timestamptz
            ORDER BY l.timestamp DESC, l.id LIMIT \(sql.bind(limit))
            """
        let rows = try await store.read(sql.query(text))
        let published = Set(state.withLock { $0.publishedTransactions })
        let candidates = Dictionary(grouping: rows.filter { !published.contains($0["xid"].text ?? "") }) { $0["xid"].text ?? "" }
        guard let (transaction, newRows) = candidates.max(by: { $0.value.count < $1.value.count }) else { return }
        remember(transactions: [transaction])
        publish(newRows.reversed().map(LiveLogRecord.init))
    }

    private func remember(transactions: Set<String>) {
        state.withLock { state in
            state.publishedTransactions.append(contentsOf: transactions)
            if state.publishedTransactions.count > 256 {
                state.publishedTransactions.removeFirst(state.publishedTransactions.count - 256)
            }
        }
    }
}
