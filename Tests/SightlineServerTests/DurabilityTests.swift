import Foundation
import SightlineServer
import Store
import StoreTestSupport
import Testing

/// Trace requests with distinct ids: request `index` carries `spans` spans of its own trace.
func distinctTraces(_ index: Int, spans: Int = 3) -> [UInt8] {
    let trace = String(format: "%032x", 0xabc000 + index)
    let rootID = String(format: "%016x", (index << 8) + 1)
    var list: [(trace: String, span: String, parent: String?, name: String, start: UInt64, end: UInt64)] = []
    for span in 0..<spans {
        let id = String(format: "%016x", (index << 8) + span + 1)
        let start = UInt64(1_700_000_000_000_000_000) + UInt64(span)
        list.append((trace, id, span == 0 ? nil : rootID, "op-\(span)", start, start + 500_000_000))
    }
    return tracesJSON(list)
}

@Suite(.serialized) struct DurabilityTests {
    @Test(arguments: StoreKind.available)
    func aFullQueueAnswers503WithRetryAfterAndLosesNothingAccepted(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, flags: [.queueCapacity: "6"]) { server in
            try await WriteLock.holding(on: server.database) { lock in
                let statuses = try await withThrowingTaskGroup(of: Int.self) { tasks in
                    var sent = 0
                    var attempt = 0
                    // Send requests until the writer is stuck on its first commit and the queue is full.
                    let saturated = try await eventually(15, every: .milliseconds(25)) {
                        if attempt % 4 == 0, sent < 10 {
                            let index = sent
                            tasks.addTask { try await server.post("/v1/traces", distinctTraces(index)).status }
                            sent += 1
                        }
                        attempt += 1
                        let ready = try await server.get(server.api + "/ready")
                        return ready.status == 503 && ready.json?["ingest"] as? String == "saturated"
                    }
                    #expect(saturated, "the queue never filled")

                    let refused = try await server.post("/v1/traces", distinctTraces(99))
                    #expect(refused.status == 503)
                    #expect(refused.headers.first(name: "Retry-After") == "1")
                    #expect(refused.json?["code"] as? Int == 8)
                    #expect((refused.json?["message"] as? String)?.contains("queue is full") == true)

                    try await lock.release()
                    var statuses: [Int] = []
                    for try await status in tasks { statuses.append(status) }
                    return statuses
                }
                // Everything accepted was committed; the refused request left no trace.
                #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == 200 })
                #expect(try await server.count("traces") == statuses.count)
                #expect(try await server.count("trace_spans") == statuses.count * 3)
                #expect(try await server.rows("SELECT 1 AS one FROM enterprise.traces WHERE trace_id = '\(String(format: "%032x", 0xabc000 + 99))'").isEmpty)
                #expect(try await server.get(server.api + "/ready").status == 200)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aRestartKeepsEveryCommittedRow(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await TestServer.with(database: database) { server in
                let traces = try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json"))
                let logs = try await server.post("/v1/logs", try fixture("python-sdk/python-json-logs.json"))
                #expect(traces.status == 200 && logs.status == 200)
            }
            try await TestServer.with(database: database) { server in
                let spans = try await server.count("trace_spans")
                #expect(spans == 9)
                #expect(try await server.count("structured_logs") == 8)
                #expect(try await server.count("schema_migrations") == (kind == .sqlite ? embeddedSQLiteMigrationNames : embeddedPostgresMigrationNames).count)
                #expect(try await server.post("/v1/traces", distinctTraces(1)).status == 200)
                #expect(try await server.count("trace_spans") == 12)
            }
            #expect(try await database.count("trace_spans") == 12)
        }
    }

    @Test(arguments: StoreKind.available)
    func shutdownFinishesInFlightRequestsBeforeStopping(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await TestServer.with(database: database) { server in
                try await WriteLock.holding(on: database) { lock in
                    try await withThrowingTaskGroup(of: Int.self) { tasks in
                        tasks.addTask { try await server.post("/v1/traces", distinctTraces(7)).status }
                        // Wait until the request is waiting on the writer.
                        for _ in 0..<100 {
                            try await Task.sleep(for: .milliseconds(20))
                            if try await server.get(server.api + "/ready").json?["queued_items"] as? Int == 0 { break }
                        }
                        try await Task.sleep(for: .milliseconds(100))
                        let shutdown = Task { await server.server.shutdown() }
                        try await Task.sleep(for: .milliseconds(200))
                        try await lock.release()
                        _ = await shutdown.value
                        let status = try #require(try await tasks.next())
                        #expect(status == 200)
                    }
                }
            }
            #expect(try await database.count("trace_spans") == 3)
        }
    }

    @Test(arguments: StoreKind.available)
    func healthAndReadinessReportTheStore(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let health = try await server.get(server.api + "/health")
            #expect(health.status == 200)
            #expect(health.json?["status"] as? String == "ok")
            let ready = try await server.get(server.api + "/ready")
            #expect(ready.status == 200)
            #expect(ready.json?["ingest"] as? String == "accepting")
        }
    }
}
