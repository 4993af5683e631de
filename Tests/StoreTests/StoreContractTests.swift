import Foundation
import Logging
import Store
import StoreTestSupport
import Testing

func span(_ trace: String, _ id: String, parent: String? = nil, start: Int64, end: Int64, error: Bool = false,
          name: String = "op") -> (SpanRow, TraceRow) {
    let row = SpanRow(
        traceID: trace, spanID: id, parentSpanID: parent, operationName: name, serviceName: "svc",
        startTimeUnixNano: start, endTimeUnixNano: end, status: error ? "error" : "completed",
        errorMessage: error ? "boom \(id)" : nil, tags: "{\"k\":\"\(id)\"}", logs: "[]", kind: 2, traceState: nil,
        flags: 256, statusCode: error ? 2 : 0, attributes: "[]", events: "[]", links: "[]", resource: "{}", scope: "{}",
        droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0)
    let traceRow = TraceRow(
        traceID: trace, startTimeUnixNano: start, endTimeUnixNano: end, status: row.status,
        errorMessage: row.errorMessage,
        context: TraceContext(
            fromRoot: parent == nil, sourceStartUnixNano: start, entryPoint: parent == nil ? "http" : "internal",
            endpoint: name, method: parent == nil ? "GET" : nil, sessionID: nil,
            userEmail: parent == nil ? "root@example.com" : "child@example.com",
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

/// The behaviour every store must have, run against SQLite and PostgreSQL.
@Suite struct StoreContractTests {
    @Test(arguments: StoreKind.available)
    func migrationsApplyOnceAndAreRecorded(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            let first = try await database.openStore()
            #expect(try await first.migrate() == ["007", "008", "009", "010", "011", "012", "013", "014", "015", "016", "017", "018", "019", "020", "021", "022", "023", "024", "025", "027"])
            #expect(try await first.migrate() == [])
            try await first.close()
            let second = try await database.openStore()
            #expect(try await second.migrate() == [])
            try await second.close()

            let versions = try await database.rows("SELECT version FROM enterprise.schema_migrations ORDER BY version")
            #expect(versions.compactMap { $0.string("version") } == ["007", "008", "009", "010", "011", "012", "013", "014", "015", "016", "017", "018", "019", "020", "021", "022", "023", "024", "025", "027"])
            // The seed's five default alert rules, once.
            let rules = try await database.rows("SELECT name FROM enterprise.alert_rules ORDER BY name").compactMap { $0.string("name") }
            #expect(rules == ["High Error Rate", "High Memory Usage", "LLM Cost Spike", "Low Cache Hit Rate", "Slow RAG Queries"])
            for table in ["request_metrics", "system_metrics", "llm_call_metrics", "rag_metrics", "cache_metrics",
                          "alert_instances", "traces", "trace_spans", "structured_logs"] {
                #expect(try await database.count(table) == 0, "\(table)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func everySpanColumnIsStored(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let row = SpanRow(
                traceID: "0af7651916cd43dd8448eb211c80319c", spanID: "b7ad6b7169203331", parentSpanID: "00f067aa0ba902b7",
                operationName: String(repeating: "long-operation-name-", count: 10), serviceName: String(repeating: "svc", count: 30),
                startTimeUnixNano: 1_700_000_000_123_456_789, endTimeUnixNano: 1_700_000_000_623_456_789, status: "error",
                errorMessage: "it broke", tags: #"{"http.route":"/x","n":1200,"ok":true,"nul":"a\u0000b"}"#,
                logs: #"[{"timestamp":"2023-11-14T22:13:20.123456Z","name":"exception","attributes":{"exception.type":"E"}}]"#,
                kind: 3, traceState: "vendor=abc", flags: 768, statusCode: 2,
                attributes: #"[{"key":"n","value":{"intValue":"1200"}}]"#,
                events: #"[{"timeUnixNano":"1700000000123456789","name":"exception"}]"#,
                links: #"[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}]"#,
                resource: #"{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}"#,
                scope: #"{"name":"scope","version":"1.0"}"#,
                droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3)
            let trace = span(row.traceID, "9999999999999999", start: row.startTimeUnixNano, end: row.endTimeUnixNano).1
            try await store.write(WriteBatch(traces: [trace], spans: [row]))
            let stored = try #require(try await database.rows("SELECT s.*, r.resource, c.scope FROM enterprise.trace_spans s JOIN enterprise.resources r ON r.id = s.resource_id JOIN enterprise.scopes c ON c.id = s.scope_id").first)
            #expect(stored.string("trace_id") == row.traceID)
            #expect(stored.string("span_id") == row.spanID)
            #expect(stored.string("parent_span_id") == row.parentSpanID)
            #expect(stored.string("operation_name") == row.operationName)
            #expect(stored.string("service_name") == row.serviceName)
            #expect(stored.microseconds("start_time") == 1_700_000_000_123_456)
            #expect(stored.microseconds("end_time") == 1_700_000_000_623_456)
            #expect(stored.double("duration_ms") == 500)
            #expect(stored.string("status") == "error")
            #expect(stored.string("error_message") == "it broke")
            let tags = try #require(try JSONSerialization.jsonObject(with: Data((stored.string("tags") ?? "").utf8)) as? [String: Any])
            #expect(tags["http.route"] as? String == "/x" && tags["n"] as? Int == 1200 && tags["ok"] as? Bool == true)
            #expect((tags["nul"] as? String)?.hasPrefix("a") == true)
            #expect(stored.string("logs")?.contains("exception.type") == true)
            #expect(stored.int("span_kind") == 3)
            #expect(stored.string("trace_state") == "vendor=abc")
            #expect(stored.int("flags") == 768)
            #expect(stored.int("status_code") == 2)
            #expect(stored.int("start_time_unix_nano") == 1_700_000_000_123_456_789)
            #expect(stored.int("end_time_unix_nano") == 1_700_000_000_623_456_789)
            #expect(stored.string("attributes")?.contains("\"intValue\":\"1200\"") == true)
            #expect(stored.string("events")?.contains("1700000000123456789") == true)
            #expect(stored.string("links")?.contains("4bf92f3577b34da6a3ce929d0e0e4736") == true)
            #expect(stored.string("resource")?.contains("service.name") == true)
            #expect(stored.string("scope")?.contains("\"version\":\"1.0\"") == true)
            #expect(stored.int("dropped_attributes_count") == 1)
            #expect(stored.int("dropped_events_count") == 2)
            #expect(stored.int("dropped_links_count") == 3)
            #expect(stored.string("id")?.count == 36)
        }
    }

    @Test(arguments: StoreKind.available)
    func everyLogColumnIsStored(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let row = LogRow(
                timestampUnixNano: 1_700_000_000_000_001_000, timeUnixNano: 0, observedTimeUnixNano: 1_700_000_000_000_001_000,
                level: "CRITICAL", loggerName: String(repeating: "logger.", count: 30), message: "disk \u{0} full",
                traceID: "0af7651916cd43dd8448eb211c80319c", spanID: "b7ad6b7169203331", userEmail: "a@example.com",
                department: "a-department-name-longer-than-fifty-characters-for-sure-yes", sessionID: "s-1", endpoint: "/x",
                extra: #"{"disk.free":1024}"#, exceptionType: "OSError", exceptionMessage: "no space",
                exceptionTraceback: "Traceback (most recent call last):\n  ...", severityNumber: 21, severityText: "FATAL",
                body: #"{"stringValue":"disk full"}"#, attributes: #"[{"key":"disk.free","value":{"intValue":"1024"}}]"#,
                resource: #"{"attributes":[]}"#, scope: #"{"name":"app"}"#, flags: 1, eventName: "disk.alert",
                droppedAttributesCount: 4, serviceName: "svc")
            try await store.write(WriteBatch(logs: [row]))
            let stored = try #require(try await database.rows("SELECT l.*, r.resource, c.scope FROM enterprise.structured_logs l JOIN enterprise.resources r ON r.id = l.resource_id JOIN enterprise.scopes c ON c.id = l.scope_id").first)
            #expect(stored.microseconds("timestamp") == 1_700_000_000_000_001)
            #expect(stored.microseconds("observed_timestamp") == 1_700_000_000_000_001)
            #expect(stored.string("level") == "CRITICAL")
            #expect(stored.string("logger_name") == row.loggerName)
            #expect(stored.string("message")?.hasPrefix("disk ") == true && stored.string("message")?.hasSuffix(" full") == true)
            #expect(stored.string("trace_id") == row.traceID)
            #expect(stored.string("span_id") == row.spanID)
            #expect(stored.string("user_email") == "a@example.com")
            #expect(stored.string("department") == row.department)
            #expect(stored.string("session_id") == "s-1")
            #expect(stored.string("endpoint") == "/x")
            #expect(stored.string("extra")?.contains("\"disk.free\":1024") == true)
            #expect(stored.string("exception_type") == "OSError")
            #expect(stored.string("exception_message") == "no space")
            #expect(stored.string("exception_traceback") == row.exceptionTraceback)
            #expect(stored.int("time_unix_nano") == 0)
            #expect(stored.int("observed_time_unix_nano") == 1_700_000_000_000_001_000)
            #expect(stored.int("severity_number") == 21)
            #expect(stored.string("severity_text") == "FATAL")
            #expect(stored.string("body")?.contains("disk full") == true)
            #expect(stored.string("attributes")?.contains("1024") == true)
            #expect(stored.string("scope")?.contains("app") == true)
            #expect(stored.int("flags") == 1)
            #expect(stored.string("event_name") == "disk.alert")
            #expect(stored.int("dropped_attributes_count") == 4)
            #expect(stored.string("service_name") == "svc")
        }
    }

    @Test(arguments: StoreKind.available)
    func spansAreIdempotentAndTracesMergeInAnyOrder(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let trace = "0af7651916cd43dd8448eb211c80319c"
            let root = span(trace, "b7ad6b7169203331", start: 1_000, end: 9_000, name: "GET /a")
            let child = span(trace, "00f067aa0ba902b7", parent: "b7ad6b7169203331", start: 500, end: 12_000, error: true, name: "db")
            try await store.write(WriteBatch(traces: [child.1], spans: [child.0]))
            var row = try #require(try await database.rows("SELECT * FROM enterprise.traces").first)
            #expect(row.string("entry_point") == "internal")
            #expect(row.string("user_email") == "child@example.com")
            // Then the root, with the child again in the same batch, then the root alone again.
            try await store.write(WriteBatch(traces: [root.1, child.1], spans: [root.0, child.0]))
            try await store.write(WriteBatch(traces: [root.1], spans: [root.0]))
            #expect(try await database.count("trace_spans") == 2)
            #expect(try await database.count("traces") == 1)
            row = try #require(try await database.rows("SELECT * FROM enterprise.traces").first)
            #expect(row.string("entry_point") == "http")
            #expect(row.string("method") == "GET")
            #expect(row.string("endpoint") == "GET /a")
            #expect(row.string("user_email") == "root@example.com")
            #expect(row.int("context_from_root") == 1)
            #expect(row.int("start_time_unix_nano") == 500)
            #expect(row.int("end_time_unix_nano") == 12_000)
            #expect(row.double("duration_ms") == 0.0115)
            #expect(row.string("status") == "error")
            #expect(row.string("error_message") == "boom 00f067aa0ba902b7")
            #expect(row.microseconds("start_time") == 0)
        }
    }

    @Test(arguments: StoreKind.available)
    func earliestSpanGivesContextUntilTheRootArrives(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let trace = "11111111111111111111111111111111"
            let late = span(trace, "2222222222222222", parent: "9999999999999999", start: 5_000, end: 6_000, name: "late")
            let early = span(trace, "3333333333333333", parent: "9999999999999999", start: 1_000, end: 2_000, name: "early")
            try await store.write(WriteBatch(traces: [late.1], spans: [late.0]))
            try await store.write(WriteBatch(traces: [early.1], spans: [early.0]))
            try await store.write(WriteBatch(traces: [late.1], spans: [late.0]))
            let row = try #require(try await database.rows("SELECT endpoint FROM enterprise.traces").first)
            #expect(row.string("endpoint") == "early")
        }
    }

    /// Ids are UUID version 7 in the order rows were written, so the `id` primary keys grow at
    /// their right edge instead of taking every insert on a random page.
    @Test(arguments: StoreKind.available)
    func rowIdsAreTimeOrderedUUIDs(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            for batch in 0..<3 {
                var write = WriteBatch()
                for index in 0..<4 {
                    let start = Int64(batch * 10 + index)
                    let pair = span(String(format: "%032x", batch + 1), String(format: "%016x", batch * 10 + index + 1),
                                    parent: index == 0 ? nil : String(format: "%016x", batch * 10 + 1), start: start, end: start + 5)
                    write.spans.append(pair.0)
                    write.traces.append(pair.1)
                    write.logs.append(log("line \(start)", at: 1_700_000_000_000_000_000 + start))
                }
                try await store.write(write)
            }
            let uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
            for (table, order) in [("trace_spans", "start_time_unix_nano"), ("structured_logs", "time_unix_nano"),
                                   ("traces", "start_time_unix_nano")] {
                let ids = try await database.rows("SELECT CAST(id AS TEXT) AS id FROM enterprise.\(table) ORDER BY \(order)")
                    .compactMap { $0.string("id") }
                #expect(ids.count == (table == "traces" ? 3 : 12), "\(table)")
                #expect(ids.allSatisfy { $0.wholeMatch(of: uuidV7) != nil }, "\(table): \(ids)")
                #expect(ids == ids.sorted() && Set(ids).count == ids.count, "\(table) ids in write order: \(ids)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aFailedWriteCommitsNothing(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            // A span whose trace row is missing violates the foreign key: the whole batch rolls back.
            let orphan = span("44444444444444444444444444444444", "5555555555555555", start: 1, end: 2).0
            await #expect(throws: StoreError.self) {
                try await store.write(WriteBatch(spans: [orphan], logs: [log("x")]))
            }
            #expect(try await database.count("structured_logs") == 0)
            #expect(try await database.count("trace_spans") == 0)
            try await store.write(WriteBatch(logs: [log("after")]))
            #expect(try await database.count("structured_logs") == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func largeBatchesAreWrittenWhole(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            var batch = WriteBatch()
            for index in 0..<2_000 {
                let pair = span(String(format: "%032x", index / 4 + 1), String(format: "%016x", index + 1),
                                start: Int64(index), end: Int64(index + 10))
                batch.spans.append(pair.0)
                batch.traces.append(pair.1)
                batch.logs.append(log("line \(index)"))
            }
            try await store.write(batch)
            #expect(try await database.count("trace_spans") == 2_000)
            #expect(try await database.count("traces") == 500)
            #expect(try await database.count("structured_logs") == 2_000)
        }
    }

    @Test(arguments: StoreKind.available)
    func dataSurvivesReopening(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await withTestStore(kind, database: database) { store, _ in
                try await store.write(WriteBatch(logs: [log("kept")]))
            }
            try await withTestStore(kind, database: database) { store, database in
                #expect(try await store.migrate() == [])
                let kept = try await database.count("structured_logs")
                #expect(kept == 1)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func logMessagesAreSearchableByFullText(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(WriteBatch(logs: [log("payment gateway timed out"), log("user logged in"),
                                                    log("retrying payments", level: "WARNING")]))
            let sql = switch kind {
            case .sqlite: """
                SELECT l.message FROM enterprise.structured_logs l
                JOIN enterprise.structured_logs_fts f ON f.rowid = l.rowid
                WHERE structured_logs_fts MATCH 'payment' ORDER BY l.message
                """
            case .postgres: """
                SELECT message FROM enterprise.structured_logs
                WHERE message_search @@ plainto_tsquery('english', 'payment') ORDER BY message
                """
            }
            // English stemming in both: "payments" matches "payment". PostgreSQL searches the
            // stored vector (migration 015), computed from the message on insert.
            let hits = try await database.rows(sql).compactMap { $0.string("message") }
            #expect(hits == ["payment gateway timed out", "retrying payments"])
        }
    }

    /// Sightline's sessions carry its settings: a statement time limit, and room for a full-text
    /// search's bitmap of matches (`PostgresStore.Configuration.workMem`).
    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func postgresSessionsCarrySightlinesSettings() async throws {
        try await withTestStore(.postgres) { store, _ in
            let rows = try await store.read(ReadQuery(sql: """
                SELECT current_setting('work_mem') AS work_mem, current_setting('statement_timeout') AS timeout,
                       current_setting('application_name') AS name
                """, binds: []))
            #expect(rows.first?["work_mem"].text == "32MB")
            #expect(rows.first?["timeout"].text == "30s")
            #expect(rows.first?["name"].text == "sightline")
        }
    }
}
