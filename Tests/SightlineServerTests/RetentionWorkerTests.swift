import Exposition
import Foundation
import SightlineServer
import Store
import StoreTestSupport
import Synchronization
import Testing

/// The retention worker on real stores: it deletes what its policy says is expired and shows
/// it in `/metrics`; on one PostgreSQL only the leader deletes; a SQLite file at steady state
/// stops growing and gives freed pages back.
@Suite struct RetentionWorkerTests {
    static let day: Int64 = 86_400_000_000_000
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static var nowNano: Int64 { Int64(now.timeIntervalSince1970) * 1_000_000_000 }

    static func batch(tracesAt start: Int64, count: Int, prefix: String, logBytes: Int = 40) -> WriteBatch {
        var traces: [TraceRow] = [], spans: [SpanRow] = [], logs: [LogRow] = []
        for index in 0..<count {
            let trace = prefix + String(format: "%031d", index)
            let root = SpanRow(
                traceID: trace, spanID: String(format: "%016d", 1), parentSpanID: nil, operationName: "op", serviceName: "svc",
                startTimeUnixNano: start + Int64(index), endTimeUnixNano: start + Int64(index) + 1_000_000, status: "completed",
                errorMessage: nil, tags: "{}", logs: "[]", kind: 2, traceState: nil, flags: 0, statusCode: 0, attributes: "[]",
                events: "[]", links: "[]", resource: "{}", scope: "{}", droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0)
            var child = root
            child.spanID = String(format: "%016d", 2)
            child.parentSpanID = root.spanID
            spans += [root, child]
            traces.append(TraceRow(
                traceID: trace, startTimeUnixNano: root.startTimeUnixNano, endTimeUnixNano: root.endTimeUnixNano, status: "completed",
                errorMessage: nil, context: TraceContext(fromRoot: true, sourceStartUnixNano: root.startTimeUnixNano, entryPoint: "http",
                                                         endpoint: "op", method: "GET", sessionID: nil, userEmail: nil, department: nil,
                                                         serviceName: "svc", rootSpanName: "op", tags: "{}")))
            logs.append(LogRow(
                timestampUnixNano: start + Int64(index), timeUnixNano: start + Int64(index), observedTimeUnixNano: 0, level: "INFO",
                loggerName: "app", message: "\(prefix) record \(index) " + String(repeating: "x", count: logBytes), traceID: trace,
                spanID: nil, userEmail: nil, department: nil, sessionID: nil, endpoint: nil, extra: "{}", exceptionType: nil,
                exceptionMessage: nil, exceptionTraceback: nil, severityNumber: 9, severityText: "INFO", body: nil, attributes: "[]",
                resource: "{}", scope: "{}", flags: 0, eventName: nil, droppedAttributesCount: 0, serviceName: "svc"))
        }
        return WriteBatch(traces: traces, spans: spans, logs: logs)
    }

    static func worker(_ store: any TelemetryStore, _ metrics: RetentionMetrics, sliceLimit: Int = 7) -> RetentionWorker {
        var configuration = RetentionWorker.Configuration()
        configuration.sliceLimit = sliceLimit
        configuration.pause = .milliseconds(1)
        return RetentionWorker(retention: store.queries.retention, policy: RetentionPolicy(), metrics: metrics,
                               configuration: configuration, logger: quietLogger, now: { now })
    }

    @Test("deletes what the policy expires, in slices, and shows it in /metrics", arguments: StoreKind.available)
    func deletesAndReports(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(tracesAt: Self.nowNano - 20 * Self.day, count: 30, prefix: "a"))
            try await store.write(Self.batch(tracesAt: Self.nowNano - Self.day, count: 5, prefix: "b"))
            let metrics = SightlineMetrics()
            let report = await Self.worker(store, metrics.retention).runOnce()
            #expect(report.led)
            // Traces expire after 14 days; logs after 30 (the old ones stay).
            #expect(report.deleted.byTable["traces"] == 30 && report.deleted.byTable["trace_spans"] == 60)
            #expect(report.deleted.byTable["structured_logs"] == nil)
            #expect(try await database.count("traces") == 5)
            #expect(try await database.count("trace_spans") == 10)
            #expect(try await database.count("structured_logs") == 35)

            let text = metrics.render()
            #expect(text.contains("sightline_retention_deleted_total{table=\"trace_spans\"} 60\n"))
            #expect(text.contains("sightline_retention_deleted_total{table=\"traces\"} 30\n"))
            #expect(text.contains("sightline_retention_last_run_timestamp_seconds 1800000000"))
            #expect(text.contains("sightline_oldest_retained_timestamp_seconds{signal=\"traces\"} \(1_800_000_000 - 86_400)"))
            #expect(text.contains("sightline_oldest_retained_timestamp_seconds{signal=\"logs\"} \(1_800_000_000 - 20 * 86_400)"))
            let sizePart = kind == .sqlite ? "database" : "trace_spans"
            #expect(text.contains("sightline_store_size_bytes{part=\"\(sizePart)\"} "))
            await store.queries.retention.releaseLeadership()
        }
    }

    @Test("two Sightlines on one PostgreSQL: only the leader deletes, another takes over when it stops")
    func onlyTheLeaderDeletes() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        try await withTestStore(.postgres) { first, database in
            try await withTestStore(.postgres, database: database) { second, _ in
                try await first.write(Self.batch(tracesAt: Self.nowNano - 20 * Self.day, count: 10, prefix: "a"))
                let leader = Self.worker(first, RetentionMetrics()), follower = Self.worker(second, RetentionMetrics())
                #expect(await leader.runOnce().deleted.byTable["traces"] == 10)

                try await first.write(Self.batch(tracesAt: Self.nowNano - 20 * Self.day, count: 10, prefix: "c"))
                let followed = await follower.runOnce()
                #expect(!followed.led && followed.deleted.isEmpty)
                #expect(try await database.count("traces") == 10)

                // The leader stops: the other Sightline leads at its next run.
                await first.queries.retention.releaseLeadership()
                let took = await follower.runOnce()
                #expect(took.led && took.deleted.byTable["traces"] == 10)
                #expect(try await database.count("traces") == 0)
                await second.queries.retention.releaseLeadership()
            }
        }
    }

    @Test("SQLite: freed pages go back to the file system, and insert-delete-insert keeps the file's size bounded")
    func sqliteSteadyState() async throws {
        try await withTestStore(.sqlite) { store, database in
            let metrics = RetentionMetrics()
            func fileBytes() -> Int64 {
                ((try? FileManager.default.attributesOfItem(atPath: database.path))?[.size] as? NSNumber)?.int64Value ?? 0
            }
            func fill(_ prefix: String, at start: Int64) async throws {
                for part in 0..<4 {
                    try await store.write(Self.batch(tracesAt: start, count: 1_000, prefix: prefix + "\(part)", logBytes: 2_000))
                }
            }
            func checkpointed() async throws {
                _ = try await database.rows("PRAGMA enterprise.wal_checkpoint(TRUNCATE)")
            }
            #expect(try await database.rows("PRAGMA enterprise.auto_vacuum").first?.int("auto_vacuum") == 2)
            try await fill("a", at: Self.nowNano - 40 * Self.day)
            try await checkpointed()
            let full = fileBytes()
            #expect(full > 8_000_000)

            // All of it expired: deleted, and the file shrinks.
            let worker = Self.worker(store, metrics, sliceLimit: 500)
            #expect(await worker.runOnce().deleted.byTable["structured_logs"] == 4_000)
            try await checkpointed()
            let emptied = fileBytes()
            #expect(emptied < full / 4, "\(emptied) of \(full) bytes")

            // The same amount again (expired by the next run) and again: the file stays near its first size.
            for round in ["b", "c"] {
                try await fill(round, at: Self.nowNano - 40 * Self.day)
                await worker.runOnce()
                try await checkpointed()
            }
            try await fill("d", at: Self.nowNano - 40 * Self.day)
            try await checkpointed()
            #expect(fileBytes() < full + full / 5, "\(fileBytes()) after rounds, \(full) at first")
        }
    }

    /// Ingest and retention in balance over ten periods of a 2-hour retention (the clock
    /// moved by hand): each period's rows are written, then the worker deletes the period
    /// before, so the file holds one period after each run. Its size after the run stays
    /// within a tenth of its size after the first period: freed pages are reused and given back.
    @Test("SQLite at steady state: ten retention periods of ingest and deletion, and the file stops growing")
    func sqliteSteadyStateOverPeriods() async throws {
        try await withTestStore(.sqlite) { store, database in
            let period: Int64 = 2 * 3_600_000_000_000
            let clock = Mutex(Self.nowNano)
            var policy = RetentionPolicy.keepEverything
            policy.traces = .seconds(period / 1_000_000_000)
            policy.logs = .seconds(period / 1_000_000_000)
            var configuration = RetentionWorker.Configuration()
            configuration.sliceLimit = 500
            configuration.pause = .milliseconds(1)
            let worker = RetentionWorker(retention: store.queries.retention, policy: policy, metrics: RetentionMetrics(),
                                         configuration: configuration, logger: quietLogger,
                                         now: { Date(timeIntervalSince1970: Double(clock.withLock { $0 }) / 1e9) })
            var sizes: [Int64] = []
            for round in 0..<10 {
                let start = Self.nowNano + Int64(round) * period
                for part in 0..<3 {
                    try await store.write(Self.batch(tracesAt: start + Int64(part) * 1_000_000_000, count: 1_000,
                                                     prefix: "\(round)\(part)", logBytes: 1_000))
                }
                // An hour into the next period: everything before the last two hours goes.
                clock.withLock { $0 = start + period / 2 }
                let deleted = await worker.runOnce().deleted
                #expect(deleted.byTable["traces"] == (round == 0 ? nil : 3_000), "round \(round): \(deleted)")
                _ = try await database.rows("PRAGMA enterprise.wal_checkpoint(TRUNCATE)")
                sizes.append(((try? FileManager.default.attributesOfItem(atPath: database.path))?[.size] as? NSNumber)?.int64Value ?? 0)
            }
            #expect(try await database.count("structured_logs") == 3_000)
            let first = sizes[0]
            #expect(sizes.allSatisfy { $0 <= first + first / 10 }, "file bytes after each period: \(sizes)")
        }
    }
}

/// The worker inside Sightline: at start-up it deletes what is expired, and `/metrics` and the
/// query API's `/retention` show it.
@Suite struct RetentionAtStartupTests {
    @Test("a Sightline started on expired data deletes it at start-up and reports it", arguments: StoreKind.available)
    func startup(_ kind: StoreKind) async throws {
        let database = try await TestDatabase.create(kind)
        do {
            try await startup(kind, on: database)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    private func startup(_ kind: StoreKind, on database: TestDatabase) async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000_000
        let recent = now - 3_600_000_000_000
        try await withTestStore(kind, database: database) { store, _ in
            try await store.write(RetentionWorkerTests.batch(tracesAt: now - 20 * RetentionWorkerTests.day, count: 12, prefix: "a"))
            try await store.write(RetentionWorkerTests.batch(tracesAt: recent, count: 3, prefix: "b"))
        }
        try await TestServer.with(kind, database: database, flags: [.traceRetention: "14d"]) { server in
            var metrics = ""
            for _ in 0..<100 {
                metrics = try await server.get(server.api + "/metrics").body
                if metrics.contains("sightline_retention_last_run_timestamp_seconds") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(metrics.contains("sightline_retention_deleted_total{table=\"traces\"} 12\n"))
            #expect(metrics.contains("sightline_retention_deleted_total{table=\"trace_spans\"} 24\n"))
            #expect(!metrics.contains("sightline_retention_deleted_total{table=\"structured_logs\"}"))
            #expect(try await server.count("traces") == 3)
            #expect(try await server.count("structured_logs") == 15)

            let answer = try await server.get(server.api + "/api/observability/retention")
            #expect(answer.status == 200)
            let oldest = try #require(answer.json?["oldest"] as? [String: Any])
            #expect(oldest["traces"] as? String == Timestamp.iso8601(unixNano: recent))
            #expect(oldest["logs"] as? String == Timestamp.iso8601(unixNano: now - 20 * RetentionWorkerTests.day))
            #expect(oldest["llm_calls"] is NSNull)
        }
    }
}
