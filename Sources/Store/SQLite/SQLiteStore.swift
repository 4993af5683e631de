import Foundation
import Logging
import SQLiteMigrations
import SQLiteNIO

/// The embedded store: one SQLite file, attached as the database `enterprise` so the
/// tables have the same names as on PostgreSQL (`enterprise.traces`, ...).
///
/// The file runs in WAL mode with `synchronous=FULL`: a commit is on disk before `write`
/// returns. One connection writes (`SQLiteWriteConnection`, one transaction at a time);
/// another copies the log into the file (`SQLiteCheckpointer`); a third applies migrations;
/// these run on the store's own threads, so a write blocked on a busy file cannot starve other
/// SQLite users. Reads never share those threads: queries run on `readConnections` read-only
/// connections with threads of their own, each statement stopped at the read time limit, and
/// `ping` has a connection and thread of its own, so neither a commit nor a slow query delays
/// a probe, and slow queries cannot hold the threads the writer needs (docs/security-reads.md).
/// Alert statements (rules, instances, notification attempts) write on a connection and thread
/// of their own beside the group commits (WAL and the busy timeout let both write).
public final class SQLiteStore: TelemetryStore {
    public let path: String
    /// Migrations.
    private let connection: SQLiteConnection
    /// Group commits.
    let writer: SQLiteWriteConnection
    private let readers: SQLiteReaders
    private let pinger: SQLiteReaders
    /// Alert statements (`alertStore`).
    let alertStatements: SQLiteReaders
    let checkpointer: SQLiteCheckpointer
    private let threadPool: NIOThreadPool
    private let logger: Logger
    /// The ids of the resources and scopes committed so far.
    private let contextIDs = ContextIDCache()

    /// Queries running at once (one connection and thread each); as many more may wait for one.
    public static let readConnections = 4
    /// The probe's own time limit.
    static let pingTimeLimit: Duration = .seconds(2)

    /// The writer's own automatic checkpoint, in pages (64 MiB of 16 KiB pages), a bound for
    /// when the background checkpoint falls behind; SQLite's default, 1,000 pages, would run
    /// it inside nearly every group commit (see `SQLiteCheckpointer`).
    static let writerAutoCheckpointPages = 4_096

    private init(path: String, connection: SQLiteConnection, writer: SQLiteWriteConnection, readers: SQLiteReaders,
                 pinger: SQLiteReaders, alertStatements: SQLiteReaders, checkpointer: SQLiteCheckpointer, threadPool: NIOThreadPool,
                 logger: Logger) {
        self.path = path
        self.connection = connection
        self.writer = writer
        self.readers = readers
        self.pinger = pinger
        self.alertStatements = alertStatements
        self.checkpointer = checkpointer
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating when missing) the database file at `path` and its parent folder; each
    /// read statement stops at `readTimeLimit`.
    public static func open(path: String, readTimeLimit: Duration = ReadTimeLimit.default, logger: Logger) async throws -> SQLiteStore {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError(operation: "open", reason: "cannot create folder \(folder): \(error)")
        }
        // One thread each for the writer, the checkpointer and migrations.
        let threadPool = NIOThreadPool(numberOfThreads: 3)
        threadPool.start()
        var opened: [SQLiteConnection] = []
        var readers: [SQLiteReaders] = []
        do {
            // Migrations (first: it makes a new file WAL); the checkpointer.
            for _ in 0..<2 { opened.append(try await openConnection(path: path, threadPool: threadPool, logger: logger)) }
            // The checkpoint reads the log, not the page cache: a small cache is enough.
            _ = try await opened[1].query("PRAGMA enterprise.cache_size = -2048")
            readers.append(try await SQLiteReaders.open(path: path, pragmas: connectionPragmas, count: readConnections,
                                                        queueLimit: readConnections, timeLimit: readTimeLimit))
            // Probes one at a time on their connection; a burst of them waits its turn.
            readers.append(try await SQLiteReaders.open(path: path, pragmas: connectionPragmas + ["PRAGMA enterprise.cache_size = -512"],
                                                        count: 1, queueLimit: 64, timeLimit: pingTimeLimit))
            // Alert statements one at a time on a connection that may write.
            readers.append(try await SQLiteReaders.open(path: path, pragmas: connectionPragmas, count: 1, queueLimit: 64,
                                                        timeLimit: readTimeLimit, readOnly: false))
            let writer = try await SQLiteWriteConnection.open(path: path, pragmas: connectionPragmas + writerPragmas, threadPool: threadPool)
            let checkpointer = SQLiteCheckpointer(connection: opened[1], logger: logger)
            return SQLiteStore(path: path, connection: opened[0], writer: writer, readers: readers[0], pinger: readers[1],
                               alertStatements: readers[2], checkpointer: checkpointer, threadPool: threadPool, logger: logger)
        } catch {
            for reader in readers { await reader.close() }
            for connection in opened { try? await connection.close().get() }
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    /// Every connection's settings, in order.
    static let connectionPragmas = [
        // 16 KiB pages for a new file (an existing one keeps its own). A span row is about
        // 2.3 KB: at SQLite's default 4 KiB one fits per page, so half of every page was
        // empty, and each commit wrote twice the bytes, in twice as many 4 KiB log frames.
        // The raw baseline went from 14,300 to 25,400 spans/s in 5,000-row transactions
        // on a 1 M-span file, and the file shrank by 40% (docs/performance.md).
        "PRAGMA enterprise.page_size = 16384",
        // A new file gives the pages retention frees back to the file system in steps
        // (`PRAGMA incremental_vacuum` after each deletion slice); an existing file keeps its
        // mode until a VACUUM (docs/retention.md). Set before the file's first page is written.
        "PRAGMA enterprise.auto_vacuum = INCREMENTAL",
        "PRAGMA enterprise.journal_mode = WAL",
        "PRAGMA enterprise.synchronous = FULL",
        "PRAGMA busy_timeout = 10000",
        "PRAGMA foreign_keys = ON",
        // A 64 MiB page cache (the default is 2 MiB) keeps the indexes of a busy ingest in
        // memory instead of spilling and re-reading pages on every group commit; statement
        // journals stay in memory too.
        "PRAGMA enterprise.cache_size = -65536",
        "PRAGMA temp_store = MEMORY",
    ]

    /// The group-commit writer's settings besides `connectionPragmas`.
    static let writerPragmas = [
        "PRAGMA enterprise.wal_autocheckpoint = \(writerAutoCheckpointPages)",
        // Once the log starts over, its file is cut back to 64 MiB.
        "PRAGMA enterprise.journal_size_limit = 67108864",
    ]

    /// A connection with `path` attached as `enterprise` and Sightline's pragmas set.
    public static func openConnection(path: String, threadPool: NIOThreadPool = .singleton, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .memory, threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            _ = try await connection.query("ATTACH DATABASE ? AS enterprise", [.text(path)])
            for pragma in connectionPragmas { _ = try await connection.query(pragma) }
            // `REGEXP` for the Grafana query endpoints' regular expressions.
            try await connection.install(customFunction: SQLiteRegexp.function)
            // Duration percentiles in one pass (the trace summary, alert latency rules).
            try await connection.install(customFunction: SQLitePercentiles.function)
        } catch {
            try? await connection.close().get()
            throw StoreError(operation: "open", reason: "\(path): \(error)")
        }
        return connection
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS enterprise.schema_migrations (
                version TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            )
            """)
        let rows = try await connection.query("SELECT version FROM enterprise.schema_migrations")
        let applied = Set(rows.compactMap { $0.column("version")?.string })
        var newlyApplied: [String] = []
        for migration in sqliteMigrations where !applied.contains(migration.version) {
            try await inTransaction {
                for statement in SQLScript.statements(in: migration.sql) {
                    _ = try await self.connection.query(statement)
                }
                if migration.version == "020" { try await self.backfillErrorGroups() }
                if migration.version == "021" { _ = try await self.connection.query(SQLServiceGraphQueries.backfill(.sqlite)) }
                _ = try await self.connection.query(
                    "INSERT INTO enterprise.schema_migrations (version, name) VALUES (?, ?)",
                    [.text(migration.version), .text(migration.name)])
            }
            logger.info("applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            newlyApplied.append(migration.version)
        }
        return newlyApplied
    }

    /// Fills `error_group_minutes` from the errors already stored (migration 020).
    private func backfillErrorGroups() async throws {
        var tallies: [(minute: Int64, source: ErrorSource, tally: ErrorTally)] = []
        for source in ErrorSource.allCases {
            for row in try await connection.query(SQLErrorQueries.backfill(source, .sqlite)) {
                guard let minute = row.column("minute")?.string.flatMap(Timestamp.date)?.unixNano else { continue }
                let key = ErrorKey(type: row.column("type")?.string ?? "", message: row.column("message")?.string ?? "",
                                   service: row.column("service")?.string ?? "")
                tallies.append((minute, source, ErrorTally(
                    key: key, count: Int64(row.column("count")?.integer ?? 0), firstSeen: row.column("first_seen")?.string ?? "",
                    lastSeen: row.column("last_seen")?.string ?? "", traceID: row.column("trace_id")?.string)))
            }
        }
        let rows = ErrorGroupMinute.merging(tallies)
        for row in rows { _ = try await connection.query(SQLiteStatements.upsertErrorGroupMinute, row.sqliteBinds) }
        logger.info("error groups counted per minute from the stored errors", metadata: ["store.rows": "\(rows.count)"])
    }

    public func write(_ batch: WriteBatch) async throws {
        _ = try await commit(batch)
    }

    public func commit(_ batch: WriteBatch) async throws -> WriteBatch {
        guard !batch.isEmpty else { return batch }
        let traces = TraceRow.merging(batch.traces)
        let texts = ContextIDs.texts(of: batch)
        let cached = contextIDs.known(resources: texts.resources, scopes: texts.scopes)
        let added: WriteBatch
        let contexts: ContextIDs
        do {
            (added, contexts) = try await writer.transaction { session in
                // One writer: no other commit adds a trace's spans meanwhile (`TraceEdgeReads`).
                let edgeReads = TraceEdgeReads(newTraces: try session.unstoredTraces(traces))
                for trace in traces { try session.run(SQLiteStatements.upsertTrace, trace.sqliteBinds) }
                var contexts = cached
                for text in texts.resources where contexts.resources[text] == nil {
                    try session.run(SQLiteStatements.insertResource, [SQLiteData(text)])
                    contexts.resources[text] = try session.integer(SQLiteStatements.resourceID, [SQLiteData(text)])
                }
                for text in texts.scopes where contexts.scopes[text] == nil {
                    try session.run(SQLiteStatements.insertScope, [SQLiteData(text)])
                    contexts.scopes[text] = try session.integer(SQLiteStatements.scopeID, [SQLiteData(text)])
                }
                var inserted: [SpanKey] = []
                var allInserted = true
                let spanResources = try contexts.resourceIDs(batch.spans.lazy.map(\.resource))
                let spanScopes = try contexts.scopeIDs(batch.spans.lazy.map(\.scope))
                for (index, span) in batch.spans.enumerated() {
                    let binds = span.sqliteBinds(resourceID: spanResources[index], scopeID: spanScopes[index])
                    if try session.run(SQLiteStatements.insertSpan, binds) > 0 {
                        inserted.append(SpanKey(traceID: span.traceID, spanID: span.spanID))
                    } else {
                        allInserted = false
                    }
                }
                let added = allInserted ? batch : batch.keepingInserted(inserted)
                for call in added.llmCalls { try session.run(SQLiteStatements.insertLLMCall, call.sqliteBinds) }
                for minute in SpanOperationMinute.aggregate(added.spans) {
                    try session.run(SQLiteStatements.upsertOperationMinute, minute.sqliteBinds)
                }
                let logResources = try contexts.resourceIDs(batch.logs.lazy.map(\.resource))
                let logScopes = try contexts.scopeIDs(batch.logs.lazy.map(\.scope))
                for (index, log) in batch.logs.enumerated() {
                    try session.run(SQLiteStatements.insertLog, log.sqliteBinds(resourceID: logResources[index], scopeID: logScopes[index]))
                }
                for level in LogLevelMinute.aggregate(batch.logs) { try session.run(SQLiteStatements.upsertLevelMinute, level.sqliteBinds) }
                for group in ErrorGroupMinute.aggregate(spans: added.spans, logs: batch.logs) {
                    try session.run(SQLiteStatements.upsertErrorGroupMinute, group.sqliteBinds)
                }
                if !added.spans.isEmpty {
                    let stored = try session.callSpans(ofTraces: edgeReads.tracesToRead(added: added.spans))
                    let calls = ServiceCallSpan.calls(added: added.spans.map(ServiceCallSpan.init), stored: stored)
                    for edge in ServiceEdgeMinute.aggregate(calls) { try session.run(SQLiteStatements.upsertServiceEdgeMinute, edge.sqliteBinds) }
                }
                for series in MetricSeriesRow.merging(batch.metricSeries) {
                    try session.run(SQLiteStatements.upsertMetricSeries, series.sqliteBinds)
                }
                for point in batch.metricPoints { try session.run(SQLiteStatements.insertMetricPoint, point.sqliteBinds) }
                for reading in batch.systemMetrics { try session.run(SQLiteStatements.insertSystemMetric, reading.sqliteBinds) }
                return (added, contexts)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "write", reason: "\(error)")
        }
        contextIDs.remember(contexts)
        checkpointer.committed()
        return added
    }

    /// Reads the database file on the probe's own connection (so neither a commit in progress
    /// nor a slow query delays it).
    public func ping() async throws {
        _ = try await pinger.read(ReadQuery(sql: "SELECT count(*) FROM enterprise.schema_migrations"))
    }

    public var dialect: SQLDialect { .sqlite }

    public func read(_ query: ReadQuery) async throws -> [ResultRow] {
        try await readers.read(query)
    }

    /// Rules' SQL on connections of its own, each with an authorizer (`SQLiteRuleQueryRunner`).
    public func ruleQueryRunner(maxConcurrent: Int) async -> any RuleQueryRunner {
        SQLiteRuleQueryRunner(path: path, maxConcurrent: maxConcurrent)
    }

    public func close() async throws {
        await writer.close()
        await checkpointer.close()
        await readers.close()
        await pinger.close()
        await alertStatements.close()
        // Everything is closed even when one part fails or the caller is cancelled (sqlite-nio's
        // async `close()` gives up on a cancelled task and leaves the connection open; its
        // future does not); the first failure is reported after.
        var failure: (any Error)?
        do { try await connection.close().get() } catch { failure = error }
        do { try await threadPool.shutdownGracefully() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    private func inTransaction(_ body: () async throws -> Void) async throws {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            try await body()
            _ = try await connection.query("COMMIT")
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw StoreError(operation: "write", reason: "\(error)")
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
