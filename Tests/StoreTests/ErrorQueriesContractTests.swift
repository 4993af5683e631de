import Foundation
import Store
import StoreTestSupport
import Testing

/// `ErrorQueries` on both stores, over `QueryContractData`'s traces and records: two CardError
/// records (L4, L5), and trace B's failed root span and failed db span with an exception event;
/// and the per-minute rollups against the error rows they count.
@Suite struct ErrorQueriesContractTests {
    typealias Data = QueryContractData

    static let cardError = ErrorKey(type: "CardError", message: "declined 4242", service: "shop")
    static let spanException = ErrorKey(type: "ValueError", message: "bad value 42", service: "shop")
    static let failedRoot = ErrorKey(type: "SpanError", message: "card declined", service: "shop")
    /// The groups of the two with a number in their message.
    static let cardErrorGroup = ErrorKey(type: "CardError", message: "declined <n>", service: "shop")
    static let spanExceptionGroup = ErrorKey(type: "ValueError", message: "bad value <n>", service: "shop")

    func withErrors(_ kind: StoreKind, _ body: @Sendable (any ErrorQueries) async throws -> Void) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Data.traceBatch)
            try await store.write(Data.logBatch)
            try await body(store.queries.errors)
        }
    }

    @Test(arguments: StoreKind.available)
    func errorRecordsAreCountedPerTypeMessageAndService(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            let tallies = try await errors.errorTallies(.logs, since: Data.t0, limit: 10)
            #expect(tallies == [ErrorTally(key: Self.cardError, count: 2,
                                           firstSeen: Timestamp.iso8601(unixNano: Data.t0 + 40 * Data.second),
                                           lastSeen: Timestamp.iso8601(unixNano: Data.t0 + 50 * Data.second),
                                           traceID: Data.traceID("b"))])
            #expect(try await errors.errorTallies(.logs, since: Data.t0 + 45 * Data.second, limit: 10).map(\.count) == [1])
        }
    }

    @Test(arguments: StoreKind.available)
    func failedSpansAreCountedByTheirExceptionElseTheirStatus(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            let tallies = try await errors.errorTallies(.spans, since: Data.t0, limit: 10)
            #expect(Set(tallies.map(\.key)) == [Self.spanException, Self.failedRoot])
            #expect(tallies.allSatisfy { $0.count == 1 && $0.traceID == Data.traceID("b") })
            let root = try #require(tallies.first { $0.key == Self.failedRoot })
            #expect(root.firstSeen == Timestamp.iso8601(unixNano: Data.t0 + 120 * Data.second))
            #expect(root.lastSeen == root.firstSeen)
            #expect(try await errors.errorTallies(.spans, since: Data.t0, limit: 1).count == 1)
            #expect(try await errors.errorTallies(.spans, since: Data.t0 + 121 * Data.second, limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func theOccurrencesOfAnErrorRecordAreNewestFirst(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            let occurrences = try await errors.logErrors(inGroup: Self.cardErrorGroup, since: Data.t0, limit: 10)
            #expect(occurrences.map(\.message) == ["payments failing for card 4242", "payment failed: card declined"])
            let newest = try #require(occurrences.first)
            #expect(UUID(uuidString: newest.id) != nil && newest.id == newest.id.lowercased())
            #expect(newest.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 50 * Data.second))
            #expect(newest.level == "ERROR")
            #expect(newest.traceID == Data.traceID("b"))
            #expect(newest.spanID == "00000000000000b1")
            #expect(newest.serviceName == "shop")
            #expect(newest.exceptionType == "CardError")
            #expect(newest.exceptionMessage == "declined 4242")
            #expect(newest.exceptionTraceback == "at pay()")
            #expect(newest.loggerName == "shop.pay")
            #expect(try await errors.logErrors(inGroup: Self.cardErrorGroup, since: Data.t0, limit: 1).map(\.message) == ["payments failing for card 4242"])
            var otherService = Self.cardErrorGroup
            otherService.service = "auth"
            #expect(try await errors.logErrors(inGroup: otherService, since: Data.t0, limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func theOccurrencesOfAFailedSpanAreNewestFirst(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            let withException = try await errors.spanErrors(inGroup: Self.spanExceptionGroup, since: Data.t0, limit: 10)
            #expect(withException.count == 1)
            let span = try #require(withException.first)
            #expect(span.spanID == "00000000000000b2")
            #expect(span.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 120 * Data.second + Data.millisecond))
            #expect(span.traceID == Data.traceID("b"))
            #expect(span.operationName == "db")
            #expect(span.serviceName == "shop")
            #expect(span.errorMessage == "query failed")
            #expect(span.durationMs == 3)
            let root = try await errors.spanErrors(inGroup: Self.failedRoot, since: Data.t0, limit: 10)
            #expect(root.map(\.spanID) == ["00000000000000b1"])
            #expect(root.first?.durationMs == 1000)
            #expect(try await errors.spanErrors(inGroup: Self.cardErrorGroup, since: Data.t0, limit: 10).isEmpty)
        }
    }

    // MARK: Groups from the per-minute rollups

    @Test(arguments: StoreKind.available)
    func theGroupsOfAWindowCountItsErrorsPerStep(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            // `t0` is a whole minute: its minute (the records at 40 s and 50 s) is read from the
            // rows, the spans' minute (120 s) from the rollups, in step 2 of 60 s steps.
            let groups = try await errors.errorGroups(since: Data.t0, step: 60 * Data.second, steps: 5)
            #expect(groups.count == 3)
            let card = try #require(groups.first { $0.key == Self.cardErrorGroup })
            #expect(card == ErrorGroupTally(
                groupID: ErrorNormaliser.groupID(type: "CardError", message: "declined <n>", service: "shop"), source: .logs,
                key: Self.cardErrorGroup, count: 2, firstSeen: Timestamp.iso8601(unixNano: Data.t0 + 40 * Data.second),
                lastSeen: Timestamp.iso8601(unixNano: Data.t0 + 50 * Data.second), sampleMessage: "declined 4242",
                sampleTraceID: Data.traceID("b"), series: [2, 0, 0, 0, 0]))
            let value = try #require(groups.first { $0.key == Self.spanExceptionGroup })
            #expect(value.source == .spans && value.count == 1 && value.series == [0, 0, 1, 0, 0])
            #expect(value.sampleMessage == "bad value 42" && value.sampleTraceID == Data.traceID("b"))
            #expect(value.firstSeen == Timestamp.iso8601(unixNano: Data.t0 + 120 * Data.second + Data.millisecond))
            let root = try #require(groups.first { $0.key == Self.failedRoot })
            #expect(root.count == 1 && root.series == [0, 0, 1, 0, 0])

            // A window starting inside the spans' minute reads that minute from the rows.
            let late = try await errors.errorGroups(since: Data.t0 + 120 * Data.second, step: 60 * Data.second, steps: 2)
            #expect(late.map(\.count).sorted() == [1])
            #expect(late.first?.key == Self.spanExceptionGroup && late.first?.series == [1, 0])
            #expect(try await errors.errorGroups(since: Data.t0 + 121 * Data.second, step: 60 * Data.second, steps: 1).isEmpty)
        }
    }

    /// 400 errors over twelve minutes after `t0`: records of two levels, with and without an
    /// exception, and failed spans with and without an exception event, in two services.
    static func generatedErrors() -> (logs: [LogRow], spans: [Data.SpanSpec]) {
        let base = Data.t0
        var random = SeededGenerator(seed: 24)
        var logs: [LogRow] = [], spans: [Data.SpanSpec] = []
        let messages = ["timeout after %d ms", "user %d not found", "connection reset", "bad value %d in row %d"]
        for index in 0..<400 {
            let at = base + Int64(random.next() % 720_000) * Data.millisecond
            let text = messages[Int(random.next() % 4)].replacingOccurrences(of: "%d", with: String(random.next() % 1000))
            let service = ["shop", "auth"][Int(random.next() % 2)]
            let trace = random.next() % 3 == 0 ? nil : Data.traceID(String(format: "%x", 0x100 + index))
            if index % 2 == 0 {
                var log = Data.logRow(Data.LogSpec(at: at, level: random.next() % 4 == 0 ? "CRITICAL" : "ERROR", message: text,
                                                   logger: "app", service: service, trace: trace))
                if random.next() % 2 == 0 { log.exceptionType = "AppError"; log.exceptionMessage = text }
                logs.append(log)
            } else {
                let exception = random.next() % 2 == 0
                spans.append(Data.SpanSpec(
                    trace: trace ?? Data.traceID(String(format: "%x", 0x100 + index)), span: String(format: "%016x", index),
                    name: "op", service: service, start: at, durationMs: 1, error: text,
                    events: exception ? #"[{"name":"exception","attributes":{"exception.type":"DBError","exception.message":"\#(text)"}}]"# : "[]"))
            }
        }
        return (logs, spans)
    }

    /// Errors over twelve minutes, written in several commits (one re-sent): the rollups'
    /// groups answer what grouping the error rows themselves answers, for windows that start
    /// inside a minute.
    @Test(arguments: StoreKind.available)
    func theRollupsAnswerWhatTheErrorRowsAnswer(_ kind: StoreKind) async throws {
        let base = Data.t0
        let (logs, spans) = Self.generatedErrors()
        try await withTestStore(kind) { store, _ in
            for part in 0..<4 {
                let slice = spans.indices.filter { $0 % 4 == part }.map { spans[$0] }
                try await store.write(WriteBatch(traces: slice.map(Data.traceRow), spans: slice.map(Data.spanRow),
                                                 logs: logs.indices.filter { $0 % 4 == part }.map { logs[$0] }))
            }
            // A re-sent batch of spans adds nothing.
            try await store.write(WriteBatch(traces: spans.prefix(20).map(Data.traceRow), spans: spans.prefix(20).map(Data.spanRow)))
            let errors = store.queries.errors
            for since in [base - Data.second, base + 90_500 * Data.millisecond, base + 333_333 * Data.millisecond] {
                let step = 120 * Data.second
                let groups = try await errors.errorGroups(since: since, step: step, steps: 7)
                for source in ErrorSource.allCases {
                    struct Expected: Equatable { var count: Int64; var first: String; var last: String; var sample: String }
                    var expected: [String: Expected] = [:]
                    let tallies = try await errors.errorTallies(source, since: since, limit: 10_000)
                    for tally in tallies.sorted(by: { $0.lastSeen < $1.lastSeen }) {
                        let id = ErrorNormaliser.groupID(type: tally.key.type, message: ErrorNormaliser.normalise(tally.key.message),
                                                         service: tally.key.service)
                        var group = expected[id] ?? Expected(count: 0, first: tally.firstSeen, last: tally.lastSeen, sample: tally.key.message)
                        group.count += tally.count
                        group.first = min(group.first, tally.firstSeen)
                        if tally.lastSeen >= group.last { group.last = tally.lastSeen; group.sample = tally.key.message }
                        expected[id] = group
                    }
                    let answered = groups.filter { $0.source == source }
                    #expect(Dictionary(uniqueKeysWithValues: answered.map {
                        ($0.groupID, Expected(count: $0.count, first: $0.firstSeen, last: $0.lastSeen, sample: $0.sampleMessage))
                    }) == expected, "\(kind) \(source) since \(since)")
                    #expect(answered.allSatisfy { $0.series.reduce(0, +) == $0.count })
                }
                // Per step: each error in the step its minute starts in (the first minute in step 0).
                var perStep: [String: [Int64]] = [:]
                func count(_ key: ErrorKey, _ at: Int64) {
                    guard at > since else { return }
                    let id = ErrorNormaliser.groupID(type: key.type, message: ErrorNormaliser.normalise(key.message), service: key.service)
                    let minute = SpanOperationMinute.minute(of: at)
                    let index = minute <= since ? 0 : min(6, Int((minute / Data.second - since / Data.second) / (step / Data.second)))
                    perStep[id, default: Array(repeating: 0, count: 7)][index] += 1
                }
                for log in logs { count(ErrorKey(type: log.exceptionType ?? log.level, message: log.exceptionMessage ?? log.message, service: log.serviceName), log.timestampUnixNano) }
                for span in spans {
                    count(ErrorKey(type: span.events == "[]" ? "SpanError" : "DBError", message: span.error ?? "", service: span.service), span.start)
                }
                var answeredSteps: [String: [Int64]] = [:]
                for group in groups { answeredSteps[group.groupID, default: Array(repeating: 0, count: 7)] = zip(answeredSteps[group.groupID] ?? Array(repeating: 0, count: 7), group.series).map(+) }
                #expect(answeredSteps == perStep, "\(kind) since \(since)")
            }
            // The sample trace is the newest occurrence's that has one.
            let groups = try await errors.errorGroups(since: base - Data.second, step: 720 * Data.second, steps: 1)
            for group in groups where group.source == .logs {
                let newest = logs.filter {
                    $0.traceID != nil && ErrorNormaliser.groupID(type: $0.exceptionType ?? $0.level, message: ErrorNormaliser.normalise($0.exceptionMessage ?? $0.message),
                                                                 service: $0.serviceName) == group.groupID
                }.max { ($0.timestampUnixNano, $0.traceID ?? "") < ($1.timestampUnixNano, $1.traceID ?? "") }
                #expect(group.sampleTraceID == newest?.traceID)
            }
        }
    }

    /// A store written before migration 020: applying it counts the errors already stored.
    @Test(arguments: StoreKind.available)
    func migration020CountsTheErrorsAlreadyStored(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Data.traceBatch)
            try await store.write(Data.logBatch)
            let written = try await store.queries.errors.errorGroups(since: Data.t0 - 60 * Data.second, step: 60 * Data.second, steps: 10)
            #expect(written.map(\.count).reduce(0, +) == 4)
            try await database.execute("DELETE FROM enterprise.error_group_minutes")
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '020'")
            #expect(try await store.queries.errors.errorGroups(since: Data.t0 - 60 * Data.second, step: 60 * Data.second, steps: 10).isEmpty)
            #expect(try await store.migrate() == ["020"])
            let counted = try await store.queries.errors.errorGroups(since: Data.t0 - 60 * Data.second, step: 60 * Data.second, steps: 10)
            #expect(counted.sorted { $0.groupID < $1.groupID } == written.sorted { $0.groupID < $1.groupID })
        }
    }
}

/// A deterministic generator (SplitMix64), so a failing case is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
