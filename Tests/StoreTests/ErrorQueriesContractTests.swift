import Foundation
import Store
import StoreTestSupport
import Testing

/// `ErrorQueries` on both stores, over `QueryContractData`'s traces and records: two CardError
/// records (L4, L5), and trace B's failed root span and failed db span with an exception event.
@Suite struct ErrorQueriesContractTests {
    typealias Data = QueryContractData

    static let cardError = ErrorKey(type: "CardError", message: "declined 4242", service: "shop")
    static let spanException = ErrorKey(type: "ValueError", message: "bad value 42", service: "shop")
    static let failedRoot = ErrorKey(type: "SpanError", message: "card declined", service: "shop")

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
            let occurrences = try await errors.logErrors(Self.cardError, since: Data.t0, limit: 10)
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
            #expect(try await errors.logErrors(Self.cardError, since: Data.t0, limit: 1).map(\.message) == ["payments failing for card 4242"])
            var otherService = Self.cardError
            otherService.service = "auth"
            #expect(try await errors.logErrors(otherService, since: Data.t0, limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func theOccurrencesOfAFailedSpanAreNewestFirst(_ kind: StoreKind) async throws {
        try await withErrors(kind) { errors in
            let withException = try await errors.spanErrors(Self.spanException, since: Data.t0, limit: 10)
            #expect(withException.count == 1)
            let span = try #require(withException.first)
            #expect(span.spanID == "00000000000000b2")
            #expect(span.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 120 * Data.second + Data.millisecond))
            #expect(span.traceID == Data.traceID("b"))
            #expect(span.operationName == "db")
            #expect(span.serviceName == "shop")
            #expect(span.errorMessage == "query failed")
            #expect(span.durationMs == 3)
            let root = try await errors.spanErrors(Self.failedRoot, since: Data.t0, limit: 10)
            #expect(root.map(\.spanID) == ["00000000000000b1"])
            #expect(root.first?.durationMs == 1000)
            #expect(try await errors.spanErrors(Self.cardError, since: Data.t0, limit: 10).isEmpty)
        }
    }
}
