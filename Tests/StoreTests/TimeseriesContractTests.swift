import Foundation
import Store
import StoreTestSupport
import Testing

/// `TraceQueries.traceTimeseries` and `LogQueries.levelTimeseries` on both stores, over
/// `QueryContractData`, and the steps they are cut into (`TimeSteps`).
@Suite struct TimeseriesContractTests {
    typealias Data = QueryContractData

    @Test func stepsAreAlignedAndTheLastHoldsNow() {
        // t0 is a whole minute; 200 s later the 60 s step holding now starts at t0 + 180 s.
        let steps = TimeSteps.covering(seconds: 300, endingAt: Data.t0 + 200 * Data.second, stepSeconds: 60)
        #expect(steps == TimeSteps(startUnixNano: Data.t0 - 60 * Data.second, stepNano: 60 * Data.second, count: 5))
        #expect(steps.endUnixNano == Data.t0 + 240 * Data.second)
        #expect(steps.start(of: 2) == Data.t0 + 60 * Data.second)
        // A window that is not a whole number of steps gets one more.
        #expect(TimeSteps.covering(seconds: 3_600, endingAt: Data.t0, stepSeconds: 420).count == 9)
        // A range's steps hold all of it, from the step holding its start.
        let range = TimeSteps.spanning(fromUnixNano: Data.t0 + 30 * Data.second, untilUnixNano: Data.t0 + 150 * Data.second, stepSeconds: 60)
        #expect(range == TimeSteps(startUnixNano: Data.t0, stepNano: 60 * Data.second, count: 3))
        let whole = TimeSteps.spanning(fromUnixNano: Data.t0, untilUnixNano: Data.t0 + 120 * Data.second, stepSeconds: 60)
        #expect(whole.count == 2)
        // Before 1970 the step still rounds down.
        let early = TimeSteps.covering(seconds: 60, endingAt: -30 * Data.second, stepSeconds: 60)
        #expect(early.startUnixNano == -60 * Data.second)
    }

    @Test(arguments: StoreKind.available)
    func tracesAreCountedPerStep(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Data.traceBatch)
            let traces = store.queries.traces
            // Minutes from t0 - 60 s: nothing (D is 10 minutes earlier), E, A, B (failed), C.
            let steps = TimeSteps.covering(seconds: 300, endingAt: Data.t0 + 200 * Data.second, stepSeconds: 60)
            let minutes = try await traces.traceTimeseries(TraceFilter(since: 0), steps: steps)
            #expect(minutes.map(\.requests) == [0, 1, 1, 1, 1])
            #expect(minutes.map(\.errors) == [0, 0, 0, 1, 0])
            #expect(minutes.map { $0.percentiles?.p50 } == [nil, 2, 10, 1000, 5])

            // Two-minute steps from t0: E and A (2 and 10 ms), then B and C (1,000 and 5 ms).
            let wide = TimeSteps.covering(seconds: 240, endingAt: Data.t0 + 200 * Data.second, stepSeconds: 120)
            #expect(wide.startUnixNano == Data.t0)
            let pairs = try await traces.traceTimeseries(TraceFilter(since: 0), steps: wide)
            #expect(pairs.map(\.requests) == [2, 2])
            #expect(pairs.map(\.errors) == [0, 1])
            let first = try #require(pairs[0].percentiles)
            #expect(abs(first.p50 - 6) < 1e-9 && abs(first.p95 - 9.6) < 1e-9 && abs(first.p99 - 9.92) < 1e-9)
            #expect(abs((pairs[1].percentiles?.p50 ?? 0) - 502.5) < 1e-9)

            // The trace list's filters apply.
            let shop = try await traces.traceTimeseries(TraceFilter(since: 0, service: "shop"), steps: steps)
            #expect(shop.map(\.requests) == [0, 1, 1, 1, 0])
            let failed = try await traces.traceTimeseries(TraceFilter(since: 0, status: "error"), steps: steps)
            #expect(failed.map(\.requests) == [0, 0, 0, 1, 0])
            let db = try await traces.traceTimeseries(TraceFilter(since: 0, operation: "db", minDurationMs: 100), steps: steps)
            #expect(db.map(\.requests) == [0, 0, 0, 1, 0])
            // A step's end is exclusive: a step ending at A's start leaves A out.
            let beforeA = TimeSteps(startUnixNano: Data.t0, stepNano: 60 * Data.second, count: 1)
            #expect(try await traces.traceTimeseries(TraceFilter(since: 0), steps: beforeA).map(\.requests) == [1])
        }
    }

    @Test(arguments: StoreKind.available)
    func logRecordsAreCountedPerStepAndLevel(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Data.logBatch)
            let logs = store.queries.logs
            // L1 … L5 in t0's minute, L6 in the next; the old record 10 minutes before is outside.
            let steps = TimeSteps.covering(seconds: 180, endingAt: Data.t0 + 90 * Data.second, stepSeconds: 60)
            #expect(steps.startUnixNano == Data.t0 - 60 * Data.second)
            let all = try await logs.levelTimeseries(steps: steps, service: nil)
            #expect(all == [[:], ["INFO": 2, "WARNING": 1, "ERROR": 2], ["DEBUG": 1]])
            let shop = try await logs.levelTimeseries(steps: steps, service: "shop")
            #expect(shop == [[:], ["INFO": 2, "ERROR": 2], [:]])
            #expect(try await logs.levelTimeseries(steps: steps, service: "nobody") == [[:], [:], [:]])
            // One step over both minutes.
            let wide = TimeSteps(startUnixNano: Data.t0, stepNano: 120 * Data.second, count: 1)
            #expect(try await logs.levelTimeseries(steps: wide, service: nil) == [["INFO": 2, "WARNING": 1, "ERROR": 2, "DEBUG": 1]])
        }
    }

    /// Migration 027 refills the per-minute level counts, now per service, from the records kept.
    @Test(arguments: StoreKind.available)
    func migration027CountsTheRecordsAlreadyStoredPerService(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Data.logBatch)
            let logs = store.queries.logs
            let steps = TimeSteps.covering(seconds: 180, endingAt: Data.t0 + 90 * Data.second, stepSeconds: 60)
            let written = [try await logs.levelTimeseries(steps: steps, service: nil), try await logs.levelTimeseries(steps: steps, service: "shop")]
            let counts = try await logs.levelCounts(since: Data.t0 - 30 * Data.second)
            try await database.execute("DELETE FROM enterprise.log_level_minutes")
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '027'")
            #expect(try await logs.levelTimeseries(steps: steps, service: "shop") == [[:], [:], [:]])
            #expect(try await store.migrate() == ["027"])
            #expect([try await logs.levelTimeseries(steps: steps, service: nil), try await logs.levelTimeseries(steps: steps, service: "shop")] == written)
            #expect(try await logs.levelCounts(since: Data.t0 - 30 * Data.second) == counts)
        }
    }

    @Test(arguments: StoreKind.available)
    func llmCallsAreSummedPerDayAndModel(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let day = 86_400 * Data.second
            func call(_ trace: String, _ span: String, at time: Int64, _ provider: String, _ model: String,
                      tokens: (Int64, Int64)?, cost: Double, success: Bool = true) -> LLMCallRow {
                LLMCallRow(traceID: Data.traceID(trace), spanID: span, timestampUnixNano: time, model: model, provider: provider,
                           promptTokens: tokens?.0, completionTokens: tokens?.1, totalTokens: tokens.map { $0.0 + $0.1 }, elapsedMs: 1,
                           firstTokenMs: nil, userEmail: nil, department: nil, costUSD: cost, success: success,
                           errorMessage: success ? nil : "boom")
            }
            var batch = Data.traceBatch
            batch.llmCalls = [
                call("e", "00000000000000e1", at: Data.t0 + 45 * Data.second, "openai", "gpt-x", tokens: (10, 5), cost: 0.5),
                call("a", "00000000000000a1", at: Data.t0 + 60 * Data.second, "openai", "gpt-x", tokens: (20, 7), cost: 0.25),
                call("b", "00000000000000b1", at: Data.t0 + 120 * Data.second, "anthropic", "claude", tokens: nil, cost: 0, success: false),
                call("d", "00000000000000d1", at: Data.t0 - day, "openai", "gpt-x", tokens: (1, 1), cost: 1),
            ]
            try await store.write(batch)
            // Three UTC days, the last holding t0 (08:00 UTC).
            let days = TimeSteps.spanning(fromUnixNano: Data.t0 - 2 * day, untilUnixNano: Data.t0 + 3_600 * Data.second, stepSeconds: 86_400)
            #expect(days.count == 3)
            #expect(try await store.queries.traces.llmUsage(steps: days) == [
                LLMUsageRecord(step: 1, provider: "openai", model: "gpt-x", calls: 1, failed: 0, promptTokens: 1, completionTokens: 1,
                               totalTokens: 2, costUSD: 1),
                LLMUsageRecord(step: 2, provider: "anthropic", model: "claude", calls: 1, failed: 1, promptTokens: 0, completionTokens: 0,
                               totalTokens: 0, costUSD: 0),
                LLMUsageRecord(step: 2, provider: "openai", model: "gpt-x", calls: 2, failed: 0, promptTokens: 30, completionTokens: 12,
                               totalTokens: 42, costUSD: 0.75),
            ])
            let lastDay = TimeSteps(startUnixNano: days.start(of: 2), stepNano: day, count: 1)
            #expect(try await store.queries.traces.llmUsage(steps: lastDay).map(\.calls) == [1, 2])
        }
    }
}
