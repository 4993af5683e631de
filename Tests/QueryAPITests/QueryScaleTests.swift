import Foundation
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

/// What keeps lists fast on large stores gives the same answers: totals counted up to a limit
/// (`total_capped` beyond it), and full-text search planned differently for frequent and rare
/// words (SQLite) returning exactly the matching records, newest first.
@Suite struct QueryScaleTests {
    let base = QueryAPITests()

    /// `count` log records of service `shop`, one a second back from now, the message built from the index.
    static func logs(_ count: Int, now: UInt64, message: (Int) -> String, severity: (Int) -> Int32 = { _ in 9 }) -> ExportLogsServiceRequest {
        let records = (0..<count).map { index in
            LogRecord(timeUnixNano: now - UInt64(index + 1) * 1_000_000_000, severityNumber: SeverityNumber(rawValue: severity(index)),
                      body: .string(message(index)))
        }
        return ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
            resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
            scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop.http"), logRecords: records)])])
    }

    @Test(arguments: StoreKind.available)
    func listsCountUpToTheLimit(_ kind: StoreKind) async throws {
        try await base.withData(kind, flags: [.queryCountLimit: "4"]) { server, _ in
            // Six shop traces and six shop log records in the window.
            let traces = try base.object(try await base.get(server, "/traces?service=shop"))
            #expect(traces["total"] as? Int == 4)
            #expect(traces["total_capped"] as? Bool == true)
            #expect(base.list(traces, "traces").count == 6, "the page is not limited by the count")
            let logs = try base.object(try await base.get(server, "/logs?service=shop"))
            #expect(logs["total"] as? Int == 4)
            #expect(logs["total_capped"] as? Bool == true)
            #expect(base.list(logs, "logs").count == 6)
            // Under the limit the count is exact.
            let errors = try base.object(try await base.get(server, "/logs?service=shop&level=ERROR"))
            #expect(errors["total"] as? Int == 2)
            #expect(errors["total_capped"] as? Bool == false)
        }
        try await base.withData(kind) { server, _ in
            let traces = try base.object(try await base.get(server, "/traces?service=shop"))
            #expect(traces["total"] as? Int == 6)
            #expect(traces["total_capped"] as? Bool == false)
        }
    }

    @Test(arguments: StoreKind.available)
    func frequentAndRareWordsFindExactlyTheirRecords(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            // 6,000 records: every one says "payment" (more than the frequent-word threshold of
            // 5,000), one in 500 also says "refund"; every tenth is an ERROR.
            let count = 6_000
            let request = Self.logs(count, now: now, message: { index in
                index % 500 == 7 ? "payment \(index) refund issued" : "payment \(index) accepted"
            }, severity: { $0 % 10 == 0 ? 17 : 9 })
            let answer = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(request)), contentType: "application/x-protobuf")
            try #require(answer.status == 200)

            func search(_ query: String) async throws -> (total: Int?, capped: Bool?, messages: [String]) {
                let object = try base.object(try await base.get(server, "/logs?" + query))
                return (object["total"] as? Int, object["total_capped"] as? Bool,
                        base.list(object, "logs").compactMap { $0["message"] as? String })
            }

            // Frequent: the newest 100, in time order (index 0 is the newest).
            let frequent = try await search("search=payment&limit=100")
            #expect(frequent.total == count)
            #expect(frequent.capped == false)
            #expect(frequent.messages == (0..<100).map { $0 % 500 == 7 ? "payment \($0) refund issued" : "payment \($0) accepted" })

            // Frequent, with another filter and a page further on.
            let errors = try await search("search=payment&level=ERROR&limit=50&offset=10")
            #expect(errors.total == count / 10)
            #expect(errors.messages == (10..<60).map { index in
                let n = index * 10
                return n % 500 == 7 ? "payment \(n) refund issued" : "payment \(n) accepted"
            })

            // Rare: exactly its twelve records, newest first.
            let rare = try await search("search=refund&limit=100")
            let expected = (0..<count).filter { $0 % 500 == 7 }.map { "payment \($0) refund issued" }
            #expect(rare.total == expected.count)
            #expect(rare.messages == expected)

            // Both words: every one must occur.
            let both = try await search("search=refund%20payment&limit=100")
            #expect(both.messages == expected)

            // A word that occurs nowhere.
            let none = try await search("search=chargeback")
            #expect(none.total == 0)
            #expect(none.messages.isEmpty)
        }
    }
    /// A frequent word's newest records when records are stored mostly in time order, with a
    /// few stored late: the newest record was sent first (stored with the smallest rowid), and
    /// one old record is sent last. SQLite reads the newest matches by rowid, then looks for
    /// late ones through the time index; the page must be exactly the newest records.
    @Test(arguments: StoreKind.available)
    func aFrequentWordFindsRecordsStoredOutOfTimeOrder(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            let second: UInt64 = 1_000_000_000
            func send(_ records: [(message: String, secondsAgo: UInt64)]) async throws {
                let request = ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
                    resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
                    scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop.http"), logRecords: records.map {
                        LogRecord(timeUnixNano: now - $0.secondsAgo * second, severityNumber: SeverityNumber(rawValue: 9), body: .string($0.message))
                    })])])
                let answer = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(request)), contentType: "application/x-protobuf")
                try #require(answer.status == 200)
            }
            try await send([("payment newest, stored first", 1)])
            // 6,000 records in time order, oldest first: 6,002 s ago up to 3 s ago.
            try await send((0..<6_000).map { ("payment \($0)", UInt64(6_002 - $0)) })
            try await send([("payment old, stored last", 7_000)])

            let object = try base.object(try await base.get(server, "/logs?search=payment&limit=10"))
            let messages = base.list(object, "logs").compactMap { $0["message"] as? String }
            #expect(messages == ["payment newest, stored first"] + (5_991..<6_000).reversed().map { "payment \($0)" })
            #expect(object["total"] as? Int == 6_002)

            let further = try base.object(try await base.get(server, "/logs?search=payment&limit=5&offset=3"))
            #expect(base.list(further, "logs").compactMap { $0["message"] as? String }
                    == (5_992...5_997).reversed().map { "payment \($0)" }.prefix(5).map { $0 })
        }
    }

    /// The summary's slowest operations come from per-minute totals plus the spans of the
    /// minute the window starts in: every span after the window's start counts once (also when
    /// its request is sent twice), and none before it.
    @Test(arguments: StoreKind.available)
    func slowestOperationsCountEachSpanInTheWindowOnce(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            let second: UInt64 = 1_000_000_000
            let windowStart = now - 3600 * second
            // (operation, seconds after the window's start (negative: before), duration in ms)
            let spans: [(String, Int, UInt64)] = [
                ("op-a", -25, 900), ("op-a", -5, 700), ("op-a", 20, 300), ("op-a", 45, 100), ("op-a", 600, 200),
                ("op-b", -40, 5000), ("op-b", 25, 50), ("op-b", 1800, 70), ("op-b", 3000, 90),
                ("op-c", 3500, 10),
            ]
            var rows: [Span] = []
            for (index, span) in spans.enumerated() {
                let start = span.1 < 0 ? windowStart - UInt64(-span.1) * second : windowStart + UInt64(span.1) * second
                rows.append(Span(traceId: TraceID(high: 0x5107, low: UInt64(index + 1)), spanId: SpanID(UInt64(index + 1)),
                                 name: span.0, kind: .server, startTimeUnixNano: start, endTimeUnixNano: start + span.2 * 1_000_000))
            }
            let request = QueryAPITests.Dataset.request(service: "svc-x", spans: rows)
            for _ in 0..<2 {
                let answer = try await server.post("/v1/traces", Array(OTLPProtobufEncoder.encode(request)), contentType: "application/x-protobuf")
                try #require(answer.status == 200)
            }
            let summary = try base.object(try await base.get(server, "/traces/stats/summary?hours=1&service=svc-x"))
            let slow = base.list(summary, "slow_operations")
            // Inside the window: op-a 300, 100, 200; op-b 50, 70, 90; op-c 10.
            #expect(slow.map { $0["operation_name"] as? String } == ["op-a", "op-b", "op-c"])
            #expect(slow.map { $0["count"] as? Int } == [3, 3, 1])
            #expect(slow.map { $0["avg_ms"] as? Double } == [200.0, 70.0, 10.0])
            #expect(slow.map { $0["max_ms"] as? Double } == [300.0, 90.0, 10.0])
            #expect(summary["total_traces"] as? Int == 7)
        }
    }
    /// Level counts come from per-minute counts plus the records of the minute the window
    /// starts in: exactly the records after the window's start.
    @Test(arguments: StoreKind.available)
    func levelCountsCountEachRecordInTheWindowOnce(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            let windowStart = now - 3600 * 1_000_000_000
            // (seconds after the window's start, severity): 9 INFO, 13 WARNING, 17 ERROR
            let records: [(Int, Int32)] = [(-50, 17), (-20, 9), (-2, 17), (15, 9), (25, 17), (40, 9), (200, 13), (1500, 9), (3590, 17)]
            let logs = records.map { record in
                let time = record.0 < 0 ? windowStart - UInt64(-record.0) * 1_000_000_000 : windowStart + UInt64(record.0) * 1_000_000_000
                return LogRecord(timeUnixNano: time, severityNumber: SeverityNumber(rawValue: record.1), body: .string("r\(record.0)"))
            }
            let request = ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
                resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
                scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop"), logRecords: logs)])])
            let answer = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(request)), contentType: "application/x-protobuf")
            try #require(answer.status == 200)
            let levels = try base.object(try await base.get(server, "/logs/stats/levels?hours=1"))["levels"] as? [String: Int]
            #expect(levels == ["INFO": 3, "ERROR": 2, "WARNING": 1])
            let day = try base.object(try await base.get(server, "/logs/stats/levels"))["levels"] as? [String: Int]
            #expect(day == ["INFO": 4, "ERROR": 4, "WARNING": 1])
        }
    }

    /// A word frequent among the newest records only (a burst), with more matches far back:
    /// on PostgreSQL a walk from the newest records is chosen, stops at its bound short of a
    /// page, and the matches are collected instead; the count likewise. The page and the total
    /// must be the same as without the burst's shortcut.
    @Test(arguments: StoreKind.available)
    func aBurstAmongTheNewestRecordsFindsOlderMatchesToo(_ kind: StoreKind) async throws {
        // 20,000 records, index 0 the newest: "burst" in every 20th of the newest 1,000 (50)
        // and every 16th of the oldest 1,000 (62); none between.
        let count = 20_000
        let isBurst = { @Sendable (index: Int) in (index < 1_000 && index % 20 == 0) || (index >= 19_000 && index % 16 == 0) }
        let message = { @Sendable (index: Int) in isBurst(index) ? "burst \(index) of refusals" : "steady \(index)" }
        let expected = (0..<count).filter(isBurst).map(message)
        for countLimit in ["10000", "100"] {
            try await TestServer.with(kind, flags: [.queryCountLimit: countLimit]) { server in
                let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
                let answer = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(Self.logs(count, now: now, message: message))),
                                                   contentType: "application/x-protobuf")
                try #require(answer.status == 200)
                let object = try base.object(try await base.get(server, "/logs?search=burst&limit=100"))
                let messages = base.list(object, "logs").compactMap { $0["message"] as? String }
                #expect(messages == Array(expected.prefix(100)), "count limit \(countLimit)")
                if countLimit == "100" {
                    #expect(object["total"] as? Int == 100)
                    #expect(object["total_capped"] as? Bool == true)
                } else {
                    #expect(object["total"] as? Int == expected.count)
                    #expect(object["total_capped"] as? Bool == false)
                }
                // The page further on, past the burst.
                let later = try base.object(try await base.get(server, "/logs?search=burst&limit=30&offset=40"))
                #expect(base.list(later, "logs").compactMap { $0["message"] as? String } == Array(expected[40..<70]))
            }
        }
    }
}
