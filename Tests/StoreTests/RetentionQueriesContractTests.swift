import Foundation
import Store
import StoreTestSupport
import Testing

/// `RetentionQueries` on both databases: each signal's rows older than its cutoff deleted in
/// bounded slices and newer ones kept, a trace with all its spans, full-text and per-minute
/// rows with their records, resolved alert history but never a firing instance.
@Suite struct RetentionQueriesContractTests {
    static let day: Int64 = 86_400_000_000_000
    static let now: Int64 = 1_800_000_000_000_000_000
    static let cutoff = now - 14 * day

    /// Deletes `signal` before `cutoff` slice by slice until a slice finds nothing (bounded).
    static func drain(_ retention: any RetentionQueries, _ signal: RetentionSignal, before cutoff: Int64,
                      limit: Int = 1) async throws -> DeletedRows {
        var total = DeletedRows()
        for _ in 0..<100 {
            let slice = try await retention.deleteExpired(signal, before: cutoff, limit: limit)
            if slice.isEmpty { return total }
            total.add(slice)
        }
        Issue.record("\(signal) still deleting after 100 slices")
        return total
    }

    static func call(_ trace: String, at time: Int64, model: String) -> LLMCallRow {
        LLMCallRow(traceID: trace, spanID: "0000000000000001", timestampUnixNano: time, model: model, provider: "openai",
                   promptTokens: 1, completionTokens: 1, totalTokens: 2, elapsedMs: 1, firstTokenMs: nil, userEmail: nil,
                   department: nil, costUSD: 0.1, success: true, errorMessage: nil)
    }

    @Test("traces with all their spans, logs with their full-text and per-minute rows, LLM rows, error data", arguments: StoreKind.available)
    func telemetry(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let retention = store.queries.retention
            #expect(await retention.acquireLeadership())
            let old = Self.now - 20 * Self.day, older = Self.now - 21 * Self.day, recent = Self.now - Self.day
            let ms: Int64 = 1_000_000
            let a = String(repeating: "a", count: 32), b = String(repeating: "b", count: 32), c = String(repeating: "c", count: 32)
            // Trace a started before the cutoff; its last span started after it: it goes whole.
            let spans = [
                span(a, "a000000000000001", start: old, end: old + 5 * ms),
                span(a, "a000000000000002", parent: "a000000000000001", start: old + ms, end: old + 2 * ms),
                span(a, "a000000000000003", parent: "a000000000000001", start: Self.cutoff + Self.day, end: Self.cutoff + Self.day + ms),
                span(c, "c000000000000001", start: older, end: older + ms, error: true),
                span(b, "b000000000000001", start: recent, end: recent + 3 * ms, error: true),
                span(b, "b000000000000002", parent: "b000000000000001", start: recent + ms, end: recent + 2 * ms),
            ]
            var oldError = log("ancient failure", level: "ERROR", at: old)
            oldError.exceptionType = "OldError"
            let logs = [log("ancient words", at: older), log("ancient words", at: old + ms), oldError,
                        log("fresh words", at: recent), log("fresh failure", level: "ERROR", at: recent + ms)]
            let calls = [Self.call(c, at: Self.now - 100 * Self.day, model: "gone"), Self.call(a, at: old, model: "kept"),
                         Self.call(b, at: recent, model: "kept")]
            try await store.write(WriteBatch(traces: spans.map(\.1), spans: spans.map(\.0), logs: logs, llmCalls: calls))
            #expect(try await retention.oldestRetained(.traces) == older)

            // One trace per slice: the oldest (c), then a with all three spans.
            #expect(try await retention.deleteExpired(.traces, before: Self.cutoff, limit: 1) == DeletedRows(["traces": 1, "trace_spans": 1]))
            #expect(try await database.count("trace_spans") == 5)
            let traces = try await Self.drain(retention, .traces, before: Self.cutoff)
            #expect(traces.byTable["traces"] == 1 && traces.byTable["trace_spans"] == 3)
            // Then the per-minute rows of the minutes before the cutoff.
            #expect(traces.byTable["span_operation_minutes"] ?? 0 >= 1)
            // And the service map's: the old roots' calls went, the recent root's stays.
            #expect(traces.byTable["service_edge_minutes"] ?? 0 >= 1)
            #expect(try await database.rows("SELECT minute FROM enterprise.service_edge_minutes")
                .allSatisfy { ($0.microseconds("minute") ?? 0) >= Self.cutoff / 1_000 - 60_000_000 })
            #expect(try await database.rows("SELECT sum(calls) AS n FROM enterprise.service_edge_minutes").first?.int("n") == 1)
            #expect(try await database.rows("SELECT trace_id FROM enterprise.traces").compactMap { $0.string("trace_id") } == [b])
            #expect(try await database.count("trace_spans") == 2)
            let cutoffText = Timestamp.iso8601(unixNano: Self.cutoff)
            let minutes = try await database.rows("SELECT minute FROM enterprise.span_operation_minutes")
            #expect(minutes.allSatisfy { ($0.microseconds("minute") ?? 0) >= Self.cutoff / 1_000 - 60_000_000 }, "\(minutes.map(\.values)) vs \(cutoffText)")
            #expect(try await database.rows("SELECT sum(calls) AS n FROM enterprise.span_operation_minutes WHERE minute > '2026-01-01'")
                .first?.int("n") ?? 0 >= 2)
            #expect(try await retention.oldestRetained(.traces) == recent)
            // The failed span of trace c went from the error groups' minutes; the records' stay.
            #expect(traces.byTable["error_group_minutes"] == 1)
            let spanErrorMinutes = try await database.rows("SELECT count FROM enterprise.error_group_minutes WHERE source = 'span'")
            #expect(spanErrorMinutes.compactMap { $0.int("count") } == [1])
            #expect(try await database.rows("SELECT count FROM enterprise.error_group_minutes WHERE source = 'log'").count == 2)

            let deletedLogs = try await Self.drain(retention, .logs, before: Self.cutoff, limit: 2)
            #expect(deletedLogs.byTable["structured_logs"] == 3)
            #expect(try await database.count("structured_logs") == 2)
            #expect(try await database.rows("SELECT minute FROM enterprise.log_level_minutes")
                .allSatisfy { ($0.microseconds("minute") ?? 0) >= Self.cutoff / 1_000 - 60_000_000 })
            if kind == .sqlite {
                // Full-text rows went with their records.
                #expect(try await database.rows("SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH 'ancient'").isEmpty)
                #expect(try await database.rows("SELECT rowid FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH 'fresh'").count == 2)
            }
            #expect(try await retention.oldestRetained(.logs) == recent)

            // Error groups read what remains.
            #expect(deletedLogs.byTable["error_group_minutes"] == 1)
            let errorGroups = try await store.queries.errors.errorGroups(since: 0, step: Self.day, steps: 1)
            #expect(errorGroups.filter { $0.source == .logs }.map(\.key.message) == ["fresh failure"])
            let errorSpans = errorGroups.filter { $0.source == .spans }
            #expect(errorSpans.count == 1 && errorSpans.first?.sampleTraceID == b)

            // LLM rows keep their own period (90 days): the call of a deleted trace stays.
            let llm = try await Self.drain(retention, .llmCalls, before: Self.now - 90 * Self.day)
            #expect(llm == DeletedRows(["llm_call_metrics": 1]))
            #expect(try await database.count("llm_call_metrics") == 2)
            #expect(try await retention.oldestRetained(.llmCalls) == old)

            // Nothing left to delete: empty slices.
            for signal in RetentionSignal.allCases {
                let cutoff = signal == .llmCalls ? Self.now - 90 * Self.day : Self.cutoff
                #expect(try await retention.deleteExpired(signal, before: cutoff, limit: 100).isEmpty, "\(signal)")
            }
            #expect(try await retention.oldestRetained(.ragMetrics) == nil)
            await retention.releaseLeadership()
        }
    }

    @Test("the original metric tables by their timestamp", arguments: StoreKind.available)
    func metricTables(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let retention = store.queries.retention
            #expect(await retention.acquireLeadership())
            let old = Timestamp.iso8601(unixNano: Self.now - 8 * Self.day), recent = Timestamp.iso8601(unixNano: Self.now - Self.day)
            for time in [old, old, recent] {
                try await database.execute("INSERT INTO enterprise.system_metrics (timestamp, metric_type, metric_name, value) VALUES ('\(time)', 'cpu', 'usage', 1)")
                try await database.execute("INSERT INTO enterprise.request_metrics (timestamp, endpoint, method, status_code, response_time_ms) VALUES ('\(time)', '/x', 'GET', 200, 1)")
            }
            #expect(try await Self.drain(retention, .systemMetrics, before: Self.now - 7 * Self.day) == DeletedRows(["system_metrics": 2]))
            #expect(try await Self.drain(retention, .requestMetrics, before: Self.now - 30 * Self.day).isEmpty)
            #expect(try await database.count("system_metrics") == 1)
            #expect(try await database.count("request_metrics") == 3)
            #expect(try await retention.oldestRetained(.systemMetrics) == Self.now - Self.day)
            await retention.releaseLeadership()
        }
    }

    @Test("resolved alert instances with their notifications; firing ones never", arguments: StoreKind.available)
    func alertHistory(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let alerts = store.queries.alerts
            let retention = store.queries.retention
            #expect(await retention.acquireLeadership())
            func date(_ nanos: Int64) -> Date { Date(timeIntervalSince1970: Double(nanos) / 1e9) }
            let rule = try await alerts.insertRule(AlertRuleDefinition(
                name: "Errors", description: nil, metricType: "error_count", condition: "gt", threshold: 1, windowMinutes: 5,
                evaluationIntervalSeconds: 60, customSQL: nil, severity: "warning", notificationChannelsJSON: "[]", cooldownMinutes: 0,
                enabled: true, serviceName: nil, operationName: nil, forMinutes: 0, repeatIntervalMinutes: 0, notificationConfigJSON: "{}"),
                createdBy: nil)
            func open(at time: Int64) async throws -> String {
                let id = try await alerts.openInstance(NewAlertInstance(
                    ruleID: rule, firing: true, metricValue: 2, thresholdValue: 1, message: "m", fingerprint: "f", labelsJSON: "{}", at: date(time)))
                try await alerts.recordNotificationAttempt(NewNotificationAttempt(
                    instanceID: id, ruleID: rule, channel: "webhook", kind: "firing", attempt: 1, at: date(time), success: true,
                    statusCode: 200, error: nil))
                return id
            }
            let ancient = Self.now - 100 * Self.day
            let resolvedOld = try await open(at: ancient)
            #expect(try await alerts.resolveInstance(id: resolvedOld, at: date(ancient + Self.day)))
            let firingOld = try await open(at: ancient)
            let resolvedRecent = try await open(at: ancient)
            #expect(try await alerts.resolveInstance(id: resolvedRecent, at: date(Self.now - Self.day)))

            let deleted = try await Self.drain(retention, .alertHistory, before: Self.now - 90 * Self.day)
            #expect(deleted == DeletedRows(["alert_instances": 1, "notifications_sent": 1]))
            #expect(try await alerts.instance(id: resolvedOld) == nil)
            #expect(try await alerts.instance(id: firingOld)?.status == "firing")
            #expect(try await alerts.instance(id: resolvedRecent) != nil)
            #expect(try await database.count("notifications_sent") == 2)
            #expect(try await retention.oldestRetained(.alertHistory) == Self.now - Self.day)
            await retention.releaseLeadership()
        }
    }

    @Test("the store's size by part", arguments: StoreKind.available)
    func size(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let parts = try await store.queries.retention.storeSize()
            let names = Set(parts.map(\.part))
            switch kind {
            case .sqlite: #expect(names == ["database", "wal"] && parts.first { $0.part == "database" }!.bytes > 0)
            case .postgres: #expect(names.isSuperset(of: ["trace_spans", "structured_logs", "traces"]) && parts.allSatisfy { $0.bytes > 0 })
            }
        }
    }
}
