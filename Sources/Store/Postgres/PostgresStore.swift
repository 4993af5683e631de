import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresMigrations
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL store: the `enterprise` schema (migrations/postgres), through two pools of postgres-nio's
/// `PostgresClient` (run by its `backgroundService`): the writer's (commits and probes) and
/// the readers' (every read), so slow queries never hold the connections commits and health
/// checks need.
///
/// A write is one transaction with one statement per table, each binding whole columns as
/// arrays (`unnest`). Every write and probe has a time limit, so an unreachable server turns
/// into an error (the receiver's 503) rather than a hang; the pools reconnect by themselves.
/// Reads run at most one per read connection, as many more wait, any more are refused
/// (`ReadGate`), and each statement stops at `Configuration.readTimeout`.
public final class PostgresStore: TelemetryStore {
    public let configuration: Configuration
    let writer: PostgresClient
    private let reader: PostgresClient
    private let gate: ReadGate
    /// The read replica (`Configuration.readStorage`), if any.
    let standby: PostgresStandby?
    /// The alert evaluator's lock (`alertStore`).
    let evaluatorLock: PostgresEvaluatorLock
    /// Retention's leader lock and connection (`retentionQueries`).
    let retentionSession: PostgresRetentionSession
    let logger: Logger
    /// The ids of the resources and scopes committed so far.
    let contextIDs = ContextIDCache()

    public var backgroundService: (any Service)? { Pools(writer: writer, reader: reader, standby: standby) }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.writer = PostgresClient(configuration: configuration.writerClientConfiguration, backgroundLogger: logger)
        self.reader = PostgresClient(configuration: configuration.readerClientConfiguration, backgroundLogger: logger)
        self.gate = ReadGate(slots: configuration.readerConnections, queueLimit: configuration.readerConnections,
                             maxWait: configuration.readTimeout * 2 + .seconds(1))
        self.standby = configuration.readStorage.map { PostgresStandby(configuration: $0.configuration, logger: logger) }
        self.evaluatorLock = PostgresEvaluatorLock(configuration: configuration, logger: logger)
        self.retentionSession = PostgresRetentionSession(configuration: configuration, logger: logger)
    }

    /// The pools (and the standby's pool and probe), run together until graceful shutdown.
    private struct Pools: Service {
        let writer: PostgresClient
        let reader: PostgresClient
        let standby: PostgresStandby?

        func run() async throws {
            await withDiscardingTaskGroup { group in
                group.addTask { await writer.run() }
                group.addTask { await reader.run() }
                if let standby { group.addTask { await standby.run() } }
            }
        }
    }

    public var readStorageStatus: ReadStorageStatus? { standby?.status }

    @discardableResult
    public func migrate() async throws -> [String] {
        // Its own connection: migrations run before the pool's service is started.
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 0, logger: logger)
        } catch {
            throw StoreError(operation: "connect", reason: Self.describe(error))
        }
        defer { Task { try? await connection.close() } }
        do {
            // Replicas starting together migrate one at a time.
            try await connection.query("SELECT pg_advisory_lock(7468697201)", logger: logger)
            defer { Task { try? await connection.query("SELECT pg_advisory_unlock(7468697201)", logger: self.logger) } }
            try await connection.query("CREATE SCHEMA IF NOT EXISTS enterprise", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS enterprise.schema_migrations (
                    version TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: Set<String> = []
            for try await version in try await connection.query(
                "SELECT version FROM enterprise.schema_migrations", logger: logger).decode(String.self) {
                applied.insert(version)
            }
            var newlyApplied: [String] = []
            for migration in postgresMigrations where !applied.contains(migration.version) {
                try await connection.query("BEGIN", logger: logger)
                do {
                    // A migration may rewrite a large table (015 takes minutes on millions of
                    // records): the per-statement limit guards queries, not the schema.
                    try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    if migration.version == "020" { try await Self.backfillErrorGroups(on: connection, logger: logger) }
                    if migration.version == "021" {
                        try await connection.query(PostgresQuery(unsafeSQL: SQLServiceGraphQueries.backfill(.postgres)), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO enterprise.schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                logger.info("applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                newlyApplied.append(migration.version)
                // A rewritten table has an empty visibility map (index-only scans read the table
                // again until autovacuum, which a rewrite does not prompt, comes by) and no
                // statistics for its new columns. VACUUM cannot run in a transaction.
                if let table = postgresRewrittenTables[migration.version] {
                    try await connection.query("SET statement_timeout = 0", logger: logger)
                    try await connection.query(PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) \(table)"), logger: logger)
                }
            }
            // The coming days' partitions (migration 017), before the first write needs them.
            try await PostgresPartitionUpkeep.ensure(
                on: connection, around: Int64(Date().timeIntervalSince1970 * 1e9), logger: logger)
            // Roles and grants live outside the schema's history: checked on every start.
            await PostgresRulesRole.ensure(configuration: configuration, on: connection, logger: logger)
            return newlyApplied
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "migrate", reason: Self.describe(error))
        }
    }

    /// Fills `error_group_minutes` from the errors already stored (migration 020).
    static func backfillErrorGroups(on connection: PostgresConnection, logger: Logger) async throws {
        func text(_ date: Date) -> String { Timestamp.iso8601(unixNano: Int64((date.timeIntervalSince1970 * 1e6).rounded()) * 1_000) }
        var tallies: [(minute: Int64, source: ErrorSource, tally: ErrorTally)] = []
        for source in ErrorSource.allCases {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: SQLErrorQueries.backfill(source, .postgres)), logger: logger)
            for try await (minute, type, message, service, count, first, last, trace)
                in rows.decode((Date, String?, String?, String, Int64, Date, Date, String?).self) {
                tallies.append((Int64((minute.timeIntervalSince1970 * 1e6).rounded()) * 1_000, source, ErrorTally(
                    key: ErrorKey(type: type ?? "", message: message ?? "", service: service), count: count,
                    firstSeen: text(first), lastSeen: text(last), traceID: trace)))
            }
        }
        let rows = ErrorGroupMinute.merging(tallies)
        for chunk in rows.chunked(5_000) {
            try await connection.query(PostgresStatements.upsertErrorGroupMinutes(Array(chunk)), logger: logger)
        }
        logger.info("error groups counted per minute from the stored errors", metadata: ["store.rows": "\(rows.count)"])
    }

    public func write(_ batch: WriteBatch) async throws {
        _ = try await commit(batch)
    }

    public func commit(_ batch: WriteBatch) async throws -> WriteBatch {
        guard !batch.isEmpty else { return batch }
        // Two commits may run at once (`concurrentCommits`): rows that both touch are locked in
        // one order (trace id; span key; the minute tables sort their rows), so neither waits
        // for the other in a cycle.
        let traces = TraceRow.merging(batch.traces).sorted { $0.traceID < $1.traceID }
        let spans = batch.spans.sorted { ($0.traceID, $0.spanID) < ($1.traceID, $1.spanID) }
        let texts = ContextIDs.texts(of: batch)
        let cached = contextIDs.known(resources: texts.resources, scopes: texts.scopes)
        do {
            let (added, contexts) = try await withTimeLimit(configuration.writeTimeout) {
                try await self.writer.withConnection { connection in
                    var added = batch
                    var contexts = cached
                    try await Self.transaction(on: connection, logger: self.logger) { statement in
                        // Resources and scopes first: a commit waiting for another's new
                        // resource then holds no row lock the other could need.
                        contexts.resources = try await Self.contextIDs(
                            texts.resources, known: contexts.resources, table: .resources, on: connection, logger: self.logger)
                        contexts.scopes = try await Self.contextIDs(
                            texts.scopes, known: contexts.scopes, table: .scopes, on: connection, logger: self.logger)
                        // Trace rows lock in id order; spans without their trace's row lock the
                        // stored row instead, so that every commit holding a trace's spans waits
                        // for the others (`TraceEdgeReads`).
                        let unlisted = TraceEdgeReads.unlistedTraces(spans: batch.spans, traces: traces)
                        if !unlisted.isEmpty { try await statement(PostgresStatements.lockTraces(unlisted)) }
                        let edgeReads = TraceEdgeReads(newTraces: try await Self.upsertTraces(traces, on: connection, logger: self.logger))
                        if !batch.spans.isEmpty {
                            let inserted = try await Self.insertedSpanKeys(
                                try PostgresStatements.insertSpans(spans, contexts: contexts), on: connection, logger: self.logger)
                            added = batch.keepingInserted(inserted)
                        }
                        if !added.llmCalls.isEmpty { try await statement(PostgresStatements.insertLLMCalls(added.llmCalls)) }
                        let minutes = SpanOperationMinute.aggregate(added.spans)
                        if !minutes.isEmpty { try await statement(PostgresStatements.upsertOperationMinutes(minutes)) }
                        if !batch.logs.isEmpty {
                            try await statement(try PostgresStatements.insertLogs(batch.logs, contexts: contexts))
                            try await statement(PostgresStatements.upsertLevelMinutes(LogLevelMinute.aggregate(batch.logs)))
                        }
                        let errorGroups = ErrorGroupMinute.aggregate(spans: added.spans, logs: batch.logs)
                        if !errorGroups.isEmpty { try await statement(PostgresStatements.upsertErrorGroupMinutes(errorGroups)) }
                        let series = MetricSeriesRow.merging(batch.metricSeries)
                        if !series.isEmpty { try await statement(PostgresStatements.upsertMetricSeries(series)) }
                        if !batch.metricPoints.isEmpty {
                            let points = batch.metricPoints.sorted { ($0.seriesID, $0.timeUnixNano) < ($1.seriesID, $1.timeUnixNano) }
                            try await statement(PostgresStatements.insertMetricPoints(points))
                        }
                        if !batch.systemMetrics.isEmpty { try await statement(PostgresStatements.insertSystemMetrics(batch.systemMetrics)) }
                        try await Self.upsertServiceEdges(added: added.spans, reads: edgeReads, on: connection, logger: self.logger)
                    }
                    return (added, contexts)
                }
            }
            contextIDs.remember(contexts)
            return added
        } catch {
            throw StoreError(operation: "write", reason: Self.describe(error))
        }
    }

    public var dialect: SQLDialect { .postgres }

    /// Rules' SQL on connections of its own, as the rules role (`PostgresRuleQueryRunner`).
    public func ruleQueryRunner(maxConcurrent: Int) async -> any RuleQueryRunner {
        await PostgresRuleQueryRunner.open(configuration: configuration, maxConcurrent: maxConcurrent, logger: logger)
    }

    /// A second group commit builds and sends its statements while the first waits for its
    /// WAL flush: one connection keeps the server's backend busy about half the time.
    public var concurrentCommits: Int { 2 }

    public func read(_ query: ReadQuery) async throws -> [ResultRow] {
        try await read(query, pool: reader, gate: gate)
    }

    /// A read of the query concerns (traces, logs, errors, Tempo, Loki, metrics, the alert
    /// metrics): on the standby when one is configured and answers, else on the primary's read
    /// pool. A standby that cannot be reached (or is shutting down, or cancelled the read for a
    /// conflict with its replay) has the read run on the primary (docs/scaling.md).
    func replicaRead(_ query: ReadQuery) async throws -> [ResultRow] {
        guard let standby, standby.isUp else { return try await read(query) }
        do {
            return try await read(query, pool: standby.client, gate: standby.gate, connectionWait: PostgresStandby.connectionWait)
        } catch let failure as StandbyFailure {
            switch StandbyHealth.reaction(to: failure.failure) {
            case .fail:
                throw failure.error
            case .retryOnPrimary(let standbyDown):
                if standbyDown { standby.readFailedToConnect(failure.error.reason) }
                return try await read(query)
            }
        }
    }

    /// A read's failure on the standby, with what `StandbyHealth.reaction` needs.
    private struct StandbyFailure: Error {
        var failure: StandbyHealth.Failure
        var error: StoreError
    }

    private func read(_ query: ReadQuery, pool: PostgresClient, gate: ReadGate, connectionWait: Duration? = nil) async throws -> [ResultRow] {
        let statement = PostgresQuery(unsafeSQL: query.sql, binds: Self.bindings(query.binds))
        let onStandby = connectionWait != nil
        let leased = LeaseFlag()
        do {
            return try await gate.run {
                // The server stops the statement at `readTimeout`; this bounds the wait for a
                // connection and a server that does not answer.
                try await withTimeLimit(configuration.readTimeout + .seconds(5), connectionWait: connectionWait.map { ($0, leased) }) {
                    try await pool.withConnection { connection in
                        leased.set()
                        var rows: [ResultRow] = []
                        var columns: [String]?
                        for try await row in try await connection.query(statement, logger: self.logger) {
                            var values: [SQLValue] = []
                            var names: [String] = []
                            for cell in row {
                                if columns == nil { names.append(cell.columnName) }
                                values.append(try Self.value(of: cell))
                            }
                            if columns == nil { columns = names }
                            rows.append(ResultRow(columns: columns ?? [], values: values))
                        }
                        return rows
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.queryCanceled {
            throw StoreError(operation: "read", reason: Self.describe(error), kind: .timeLimitExceeded(configuration.readTimeout))
        } catch {
            let storeError = StoreError(operation: "read", reason: Self.describe(error))
            guard onStandby else { throw storeError }
            if let state = (error as? PSQLError)?.serverInfo?[.sqlState] {
                throw StandbyFailure(failure: .server(sqlState: state), error: storeError)
            }
            // No connection within `connectionWait`, the connection lost, or no answer: the
            // overall time limit after a connection was leased is the read's own, not the standby's.
            if error is TimeLimitExceeded, leased.isSet { throw storeError }
            throw StandbyFailure(failure: .unreachable, error: storeError)
        }
    }

    /// A query's values as postgres-nio binds them.
    static func bindings(_ values: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .int(let number): bindings.append(number)
            case .double(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bool(let flag): bindings.append(flag)
            }
        }
        return bindings
    }

    /// SQLSTATE `query_canceled`: what `statement_timeout` stops a statement with.
    static let queryCanceled = "57014"

    /// A result cell as the query API sees it: JSON as text, times as the stores' ISO 8601 text.
    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        // numeric (sums of `cost_usd`, a `custom_sql` rule's value) arrives in PostgreSQL's
        // decimal form, which does not decode as Double.
        case .numeric: return .double(NSDecimalNumber(decimal: try cell.decode(Decimal.self)).doubleValue)
        case .bool: return .bool(try cell.decode(Bool.self))
        case .timestamptz, .timestamp:
            let date = try cell.decode(Date.self)
            return .text(Timestamp.iso8601(unixNano: Int64((date.timeIntervalSince1970 * 1e6).rounded()) * 1_000))
        case .uuid: return .text(try cell.decode(UUID.self).uuidString.lowercased())
        case .jsonb:
            // Binary jsonb: a version byte (1), then the JSON text.
            if cell.format == .binary { bytes.moveReaderIndex(forwardBy: 1) }
            return .text(String(buffer: bytes))
        default:
            return .text(try cell.decode(String.self))
        }
    }

    /// `SELECT 1` through the writer's pool, which keeps a connection beyond its commits.
    public func ping() async throws {
        do {
            try await withTimeLimit(.seconds(2)) {
                try await self.writer.withConnection { connection in
                    try await Self.run("SELECT 1", on: connection, logger: self.logger)
                }
            }
        } catch {
            throw StoreError(operation: "ping", reason: Self.describe(error))
        }
    }

    /// BEGIN, `body`'s statements, COMMIT (ROLLBACK on error), like postgres-nio's
    /// `withTransaction`, except that no statement is ever sent on a connection that has closed.
    ///
    /// postgres-nio (1.33) loses a query written to a closed channel: its promise is never
    /// completed and the wait ignores cancellation. `withTransaction` sends ROLLBACK after the
    /// failure that a server shutdown causes, on the connection that shutdown just closed, so the
    /// write, and with it the group-commit writer, would wait forever.
    static func transaction(
        on connection: PostgresConnection, logger: Logger,
        _ body: (_ statement: (PostgresQuery) async throws -> Void) async throws -> Void
    ) async throws {
        try await run("BEGIN", on: connection, logger: logger)
        do {
            try await body { query in try await run(query, on: connection, logger: logger) }
            try await run("COMMIT", on: connection, logger: logger)
        } catch {
            if !connection.isClosed, !endedTheSession(error) { await rollBack(on: connection, logger: logger) }
            throw error
        }
    }

    /// Whether `error` says the server ended the session (it is shutting down, crashed, or the
    /// connection was lost): its transaction is gone with it, and a ROLLBACK would only be
    /// written to a channel about to close.
    static func endedTheSession(_ error: any Error) -> Bool {
        if error is ConnectionClosed { return true }
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] { return state.hasPrefix("57P") || state.hasPrefix("08") }
        return [.serverClosedConnection, .uncleanShutdown, .connectionError].contains(error.code)
    }

    /// How long a ROLLBACK is waited for.
    static let rollbackWait: Duration = .seconds(5)

    /// ROLLBACK, waited for at most `rollbackWait`. A ROLLBACK written just as the channel
    /// closes is never answered (see `transaction`); past the wait the connection is closed,
    /// so the pool drops it, and the writer goes on. The unanswered query's task is left
    /// suspended: postgres-nio gives no way to end it.
    static func rollBack(on connection: PostgresConnection, logger: Logger) async {
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let outcome = FirstOutcome(continuation)
            Task { _ = try? await connection.query("ROLLBACK", logger: logger); outcome.resume(true) }
            Task { try? await Task.sleep(for: rollbackWait); outcome.resume(false) }
        }
        if !ended {
            logger.warning("ROLLBACK unanswered; closing the connection")
            Task { try? await connection.close() }
        }
    }

    /// `known` with the ids of the rest of `texts`, stored first when missing (inside the commit's
    /// transaction; a second statement reads them, so it also sees what another commit stored
    /// meanwhile).
    static func contextIDs(_ texts: [String], known: [String: Int64], table: PostgresStatements.ContextTable,
                           on connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        let missing = texts.filter { known[$0] == nil }
        guard !missing.isEmpty else { return known }
        try await run(PostgresStatements.insertContexts(missing, table: table), on: connection, logger: logger)
        guard !connection.isClosed else { throw ConnectionClosed() }
        var ids = known
        let rows = try await connection.query(PostgresStatements.contextIDs(missing, table: table), logger: logger)
        for try await (position, id) in rows.decode((Int64, Int64).self) {
            ids[missing[Int(position) - 1]] = id
        }
        return ids
    }

    /// Runs `query` unless the connection has closed (see `transaction`).
    static func run(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws {
        guard !connection.isClosed else { throw ConnectionClosed() }
        try await connection.query(query, logger: logger)
    }

    /// The pools stop with their service.
    /// The pools stop with `backgroundService`; what is left is retention's own connection
    /// (with its lock), closed here so a store never goes away with a connection open.
    public func close() async throws {
        await retentionSession.release()
    }

    /// Error text for logs: the server's message and code, never the query's parameters.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(error.code): \(message) (\(error.serverInfo?[.sqlState] ?? "?"))"
            }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

/// Resumes a continuation with the first of two outcomes that race.
private final class FirstOutcome: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ outcome: Bool) {
        continuation.withLock { waiting in
            waiting?.resume(returning: outcome)
            waiting = nil
        }
    }
}

struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to PostgreSQL is closed" }
}

struct TimeLimitExceeded: Error, CustomStringConvertible {
    var description: String { "time limit exceeded" }
}

/// Set once a read has its connection (`withTimeLimit`'s `connectionWait`).
final class LeaseFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// Runs `body`, cancelling it and throwing `TimeLimitExceeded` after `limit`, or already after
/// `connectionWait`'s duration unless its flag is set by then (the body got its connection).
///
/// Returns at the limit even if `body` ignores its cancellation (a task group would wait for
/// it): a wait inside postgres-nio that never ends must not stall the caller. Such a `body`
/// is left behind, cancelled.
func withTimeLimit<T: Sendable>(_ limit: Duration, connectionWait: (Duration, LeaseFlag)? = nil,
                                _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = Outcome<T>()
    let work = Task { try await body() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.wait(continuation)
            let timer = Task {
                if let (wait, leased) = connectionWait, wait < limit {
                    try? await Task.sleep(for: wait)
                    if !Task.isCancelled, !leased.isSet {
                        outcome.finish(.failure(TimeLimitExceeded()))
                        work.cancel()
                        return
                    }
                    try? await Task.sleep(for: limit - wait)
                } else {
                    try? await Task.sleep(for: limit)
                }
                if !Task.isCancelled { outcome.finish(.failure(TimeLimitExceeded())) }
                work.cancel()
            }
            Task {
                let result = await work.result
                timer.cancel()
                outcome.finish(result)
            }
        }
    } onCancel: {
        work.cancel()
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first result wins; it is delivered once the continuation is there.
private final class Outcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var delivered = false
    }

    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let ready: Result<T, any Error>? = state.withLock { state in
            guard let result = state.result, !state.delivered else {
                state.continuation = continuation
                return nil
            }
            state.delivered = true
            return result
        }
        if let ready { continuation.resume(with: ready) }
    }

    func finish(_ result: Result<T, any Error>) {
        let waiting: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            guard let continuation = state.continuation else { return nil }
            state.continuation = nil
            state.delivered = true
            return continuation
        }
        waiting?.resume(with: result)
    }
}
