import Foundation
import Logging
import SQLiteNIO
import Store
import Testing

/// A fresh database file in its own temporary folder.
func temporaryDatabasePath() -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sightline-store-\(UUID().uuidString)")
    return folder.appendingPathComponent("test.db").path
}

func span(_ trace: String, _ id: String, parent: String? = nil, start: Int64, end: Int64, error: Bool = false,
          name: String = "op", context: TraceContext? = nil) -> (SpanRow, TraceRow) {
    let row = SpanRow(
        traceID: trace, spanID: id, parentSpanID: parent, operationName: name, serviceName: "svc",
        startTimeUnixNano: start, endTimeUnixNano: end, status: error ? "error" : "completed",
        errorMessage: error ? "boom \(id)" : nil, tags: "{\"k\":\"\(id)\"}", logs: "[]", kind: 2, traceState: nil,
        flags: 256, statusCode: error ? 2 : 0, attributes: "[]", events: "[]", links: "[]", resource: "{}", scope: "{}",
        droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0)
    let traceRow = TraceRow(
        traceID: trace, startTimeUnixNano: start, endTimeUnixNano: end, status: row.status,
        errorMessage: row.errorMessage,
        context: context ?? TraceContext(
            fromRoot: parent == nil, sourceStartUnixNano: start, entryPoint: parent == nil ? "http" : "internal",
            endpoint: name, method: parent == nil ? "GET" : nil, sessionID: nil, userEmail: parent == nil ? "root@example.com" : "child@example.com",
            department: nil, serviceName: "svc", rootSpanName: name, tags: "{}"))
    return (row, traceRow)
}

func log(_ message: String, level: String = "INFO", at time: Int64 = 1_700_000_000_000_000_000) -> LogRow {
    LogRow(
        timestampUnixNano: time, timeUnixNano: time, observedTimeUnixNano: 0, level: level, loggerName: "app",
        message: message, traceID: nil, spanID: nil, userEmail: nil, department: nil, sessionID: nil, endpoint: nil,
        extra: "{}", exceptionType: nil, exceptionMessage: nil, exceptionTraceback: nil, severityNumber: 9,
        severityText: "INFO", body: nil, attributes: "[]", resource: "{}", scope: "{}", flags: 0, eventName: nil,
        droppedAttributesCount: 0, serviceName: "svc")
}

/// Runs `body` against a migrated store on a new file, closing it afterwards.
func withStore<T>(path: String = temporaryDatabasePath(), _ body: (SQLiteStore, SQLiteConnection) async throws -> T) async throws -> T {
    let store = try await SQLiteStore.open(path: path, logger: quietLogger)
    try await store.migrate()
    let reader = try await SQLiteStore.openConnection(path: path, logger: quietLogger)
    do {
        let result = try await body(store, reader)
        try await reader.close()
        try await store.close()
        return result
    } catch {
        try? await reader.close()
        try? await store.close()
        throw error
    }
}

func count(_ connection: SQLiteConnection, _ table: String) async throws -> Int {
    try await connection.query("SELECT count(*) AS n FROM enterprise.\(table)").first?.column("n")?.integer ?? -1
}

@Suite struct SQLiteStoreTests {
    @Test func migrationsApplyOnceAndAreRecorded() async throws {
        let path = temporaryDatabasePath()
        let store = try await SQLiteStore.open(path: path, logger: quietLogger)
        #expect(try await store.migrate() == ["007", "008", "009", "010", "011"])
        #expect(try await store.migrate() == [])
        try await store.close()

        let reopened = try await SQLiteStore.open(path: path, logger: quietLogger)
        #expect(try await reopened.migrate() == [])
        try await reopened.close()

        let reader = try await SQLiteStore.openConnection(path: path, logger: quietLogger)
        let versions = try await reader.query("SELECT version FROM enterprise.schema_migrations ORDER BY version")
            .compactMap { $0.column("version")?.string }
        #expect(versions == ["007", "008", "009", "010", "011"])
        // The seed's five default alert rules, once.
        let rules = try await reader.query("SELECT name FROM enterprise.alert_rules ORDER BY name").compactMap { $0.column("name")?.string }
        #expect(rules == ["High Error Rate", "High Memory Usage", "LLM Cost Spike", "Low Cache Hit Rate", "Slow RAG Queries"])
        let mode = try await reader.query("PRAGMA enterprise.journal_mode").first?.column("journal_mode")?.string
        #expect(mode == "wal")
        for table in ["request_metrics", "system_metrics", "llm_call_metrics", "rag_metrics", "cache_metrics", "alert_instances"] {
            #expect(try await count(reader, table) == 0)
        }
        try await reader.close()
    }

    @Test func spansAreIdempotentAndTracesMergeInAnyOrder() async throws {
        try await withStore { store, reader in
            let trace = "0af7651916cd43dd8448eb211c80319c"
            let root = span(trace, "b7ad6b7169203331", start: 1_000, end: 9_000, name: "GET /a")
            let child = span(trace, "00f067aa0ba902b7", parent: "b7ad6b7169203331", start: 500, end: 12_000, error: true, name: "db")
            // The child arrives first, alone.
            try await store.write(WriteBatch(traces: [child.1], spans: [child.0]))
            var row = try #require(try await reader.query("SELECT * FROM enterprise.traces").first)
            #expect(row.column("entry_point")?.string == "internal")
            #expect(row.column("user_email")?.string == "child@example.com")
            // Then the root; the same child again.
            try await store.write(WriteBatch(traces: [root.1, child.1], spans: [root.0, child.0]))
            try await store.write(WriteBatch(traces: [root.1], spans: [root.0]))
            #expect(try await count(reader, "trace_spans") == 2)
            #expect(try await count(reader, "traces") == 1)
            row = try #require(try await reader.query("SELECT * FROM enterprise.traces").first)
            #expect(row.column("entry_point")?.string == "http")
            #expect(row.column("method")?.string == "GET")
            #expect(row.column("endpoint")?.string == "GET /a")
            #expect(row.column("user_email")?.string == "root@example.com")
            #expect(row.column("context_from_root")?.integer == 1)
            #expect(row.column("start_time_unix_nano")?.integer == 500)
            #expect(row.column("end_time_unix_nano")?.integer == 12_000)
            #expect(row.column("duration_ms")?.double == 0.0115)
            #expect(row.column("status")?.string == "error")
            #expect(row.column("error_message")?.string == "boom 00f067aa0ba902b7")
            #expect(row.column("start_time")?.string == "1970-01-01T00:00:00.000000Z")
        }
    }

    @Test func earliestSpanGivesContextUntilTheRootArrives() async throws {
        try await withStore { store, reader in
            let trace = "11111111111111111111111111111111"
            let late = span(trace, "2222222222222222", parent: "9999999999999999", start: 5_000, end: 6_000, name: "late")
            let early = span(trace, "3333333333333333", parent: "9999999999999999", start: 1_000, end: 2_000, name: "early")
            try await store.write(WriteBatch(traces: [late.1], spans: [late.0]))
            try await store.write(WriteBatch(traces: [early.1], spans: [early.0]))
            try await store.write(WriteBatch(traces: [late.1], spans: [late.0]))
            let row = try #require(try await reader.query("SELECT endpoint, root_span_name FROM enterprise.traces").first)
            #expect(row.column("endpoint")?.string == "early")
        }
    }

    @Test func logsAreSearchableByFullText() async throws {
        try await withStore { store, reader in
            try await store.write(WriteBatch(logs: [log("payment gateway timed out"), log("user logged in"), log("retrying payments", level: "WARNING")]))
            #expect(try await count(reader, "structured_logs") == 3)
            let hits = try await reader.query("""
                SELECT l.message FROM enterprise.structured_logs l
                JOIN enterprise.structured_logs_fts f ON f.rowid = l.rowid
                WHERE structured_logs_fts MATCH ? ORDER BY l.message
                """, [.text("payment")]).compactMap { $0.column("message")?.string }
            // Porter stemming: "payments" matches "payment".
            #expect(hits == ["payment gateway timed out", "retrying payments"])
            let id = try await reader.query("SELECT id FROM enterprise.structured_logs LIMIT 1").first?.column("id")?.string
            #expect(id?.count == 36)
        }
    }

    @Test func aFailedWriteCommitsNothing() async throws {
        try await withStore { store, reader in
            var bad = log("x")
            bad.level = "INFO"
            // A span whose trace row is missing violates the foreign key: the whole batch rolls back.
            let orphan = span("44444444444444444444444444444444", "5555555555555555", start: 1, end: 2).0
            await #expect(throws: StoreError.self) {
                try await store.write(WriteBatch(spans: [orphan], logs: [bad]))
            }
            #expect(try await count(reader, "structured_logs") == 0)
            #expect(try await count(reader, "trace_spans") == 0)
            // The store keeps working afterwards.
            try await store.write(WriteBatch(logs: [log("after")]))
            #expect(try await count(reader, "structured_logs") == 1)
        }
    }

    @Test func largeBatchesSpanSeveralStatements() async throws {
        try await withStore { store, reader in
            var batch = WriteBatch()
            for index in 0..<1_000 {
                let trace = String(format: "%032x", index + 1)
                let pair = span(trace, String(format: "%016x", index + 1), start: Int64(index), end: Int64(index + 10))
                batch.spans.append(pair.0)
                batch.traces.append(pair.1)
                batch.logs.append(log("line \(index)"))
            }
            try await store.write(batch)
            #expect(try await count(reader, "trace_spans") == 1_000)
            #expect(try await count(reader, "traces") == 1_000)
            #expect(try await count(reader, "structured_logs") == 1_000)
        }
    }

    @Test func dataSurvivesReopening() async throws {
        let path = temporaryDatabasePath()
        try await withStore(path: path) { store, _ in
            try await store.write(WriteBatch(logs: [log("kept")]))
        }
        try await withStore(path: path) { _, reader in
            let stored = try await count(reader, "structured_logs")
            #expect(stored == 1)
        }
    }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
