import Foundation
import Store
import StoreTestSupport
import Testing

/// `LogQueries` on both stores, over `QueryContractData`'s records (L1 … L6 after `t0`).
@Suite struct LogQueriesContractTests {
    typealias Data = QueryContractData

    func withLogs(_ kind: StoreKind, _ body: @Sendable (any LogQueries) async throws -> Void) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Data.logBatch)
            try await body(store.queries.logs)
        }
    }

    /// The listed records' messages, newest first.
    func list(_ logs: any LogQueries, _ filter: LogFilter, limit: Int = 100, offset: Int = 0,
              countLimit: Int = 100) async throws -> (messages: [String], total: CappedCount) {
        let page = try await logs.logList(filter, limit: limit, offset: offset, countLimit: countLimit)
        return (page.logs.map(\.message), page.total)
    }

    @Test(arguments: StoreKind.available)
    func theListIsNewestFirstWithinTheWindow(_ kind: StoreKind) async throws {
        try await withLogs(kind) { logs in
            let all = try await list(logs, LogFilter(since: Data.t0))
            #expect(all.messages == ["token refreshed", "payments failing for card 4242", "payment failed: card declined",
                                     "disk almost full", "cart updated", "user logged in"])
            #expect(all.total == CappedCount(total: 6, capped: false))
            #expect(try await list(logs, LogFilter(since: Data.t0 + 50 * Data.second)).messages == ["token refreshed"])
        }
    }

    @Test(arguments: StoreKind.available)
    func eachFilterNarrowsTheList(_ kind: StoreKind) async throws {
        try await withLogs(kind) { (logs: any LogQueries) async throws in
            func messages(_ filter: LogFilter) async throws -> [String] { try await list(logs, filter).messages }
            #expect(try await messages(LogFilter(since: Data.t0, level: "ERROR")) == ["payments failing for card 4242",
                                                                                     "payment failed: card declined"])
            #expect(try await messages(LogFilter(since: Data.t0, service: "auth")) == ["token refreshed"])
            #expect(try await messages(LogFilter(since: Data.t0, traceID: Data.traceID("b"))).count == 2)
            #expect(try await messages(LogFilter(since: Data.t0, userEmail: "alice@example.com")) == ["cart updated"])
            // A part of the logger's name, `%`, `_` and `\` taken literally.
            #expect(try await messages(LogFilter(since: Data.t0, loggerName: "http")) == ["cart updated", "user logged in"])
            #expect(try await messages(LogFilter(since: Data.t0, loggerName: "%")) == ["disk almost full"])
            #expect(try await messages(LogFilter(since: Data.t0, loggerName: "s_disk")) == ["disk almost full"])
            #expect(try await messages(LogFilter(since: Data.t0, loggerName: "shop_")) == [])
            #expect(try await messages(LogFilter(since: Data.t0, loggerName: "\\")) == [])
            #expect(try await messages(LogFilter(since: Data.t0, level: "ERROR", service: "auth")) == [])
        }
    }

    @Test(arguments: StoreKind.available)
    func theSearchFindsEveryWordStemmed(_ kind: StoreKind) async throws {
        try await withLogs(kind) { (logs: any LogQueries) async throws in
            func messages(_ search: String) async throws -> [String] { try await list(logs, LogFilter(since: Data.t0, search: search)).messages }
            #expect(try await messages("payment fail") == ["payments failing for card 4242", "payment failed: card declined"])
            #expect(try await messages("CARD") == ["payments failing for card 4242", "payment failed: card declined"])
            #expect(try await messages("card -declined") == ["payment failed: card declined"], "no search syntax: every word must occur")
            #expect(try await messages("card disk") == [])
            #expect(try await messages("!!!") == [], "no words: nothing matches")
            let filtered = try await list(logs, LogFilter(since: Data.t0, level: "ERROR", search: "declined"))
            #expect(filtered.messages == ["payment failed: card declined"])
            #expect(filtered.total == CappedCount(total: 1, capped: false))
        }
    }

    @Test(arguments: StoreKind.available)
    func pagesAndTheCappedCount(_ kind: StoreKind) async throws {
        try await withLogs(kind) { logs in
            let second = try await list(logs, LogFilter(since: Data.t0), limit: 2, offset: 2)
            #expect(second.messages == ["payment failed: card declined", "disk almost full"])
            #expect(second.total == CappedCount(total: 6, capped: false))
            let capped = try await list(logs, LogFilter(since: Data.t0), limit: 2, offset: 0, countLimit: 3)
            #expect(capped.total == CappedCount(total: 3, capped: true))
            let beyond = try await list(logs, LogFilter(since: Data.t0), limit: 10, offset: 10)
            #expect(beyond.messages.isEmpty)
            #expect(beyond.total == CappedCount(total: 6, capped: false))
            let searched = try await list(logs, LogFilter(since: Data.t0, search: "card"), limit: 1, offset: 0, countLimit: 1)
            #expect(searched.messages == ["payments failing for card 4242"])
            #expect(searched.total == CappedCount(total: 1, capped: true))
            let searchedBeyond = try await list(logs, LogFilter(since: Data.t0, search: "card"), limit: 1, offset: 5)
            #expect(searchedBeyond.total == CappedCount(total: 2, capped: false))
        }
    }

    /// Records whose time is far ahead of their place in the store (stored first, newest by
    /// time) lead the search's page.
    @Test(arguments: StoreKind.available)
    func aSearchPageIsInTimeOrderWhateverTheOrderOfStorage(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            func record(_ message: String, at time: Int64) -> LogRow {
                Data.logRow(Data.LogSpec(at: time, level: "INFO", message: message, logger: "l", service: "s"))
            }
            let ahead = (0..<3).map { record("card ahead \($0)", at: Data.t0 + 3_600 * Data.second + Int64($0) * Data.second) }
            try await store.write(WriteBatch(logs: ahead))
            let many = (0..<600).map { record("card number \($0)", at: Data.t0 + Int64($0 + 1) * Data.second) }
            try await store.write(WriteBatch(logs: many))
            let page = try await store.queries.logs.logList(LogFilter(since: Data.t0, search: "card"), limit: 5, offset: 0, countLimit: 10_000)
            #expect(page.logs.map(\.message) == ["card ahead 2", "card ahead 1", "card ahead 0", "card number 599", "card number 598"])
            #expect(page.total == CappedCount(total: 603, capped: false))
        }
    }

    /// A search over a window of a store that holds much older matches (SQLite reads the
    /// full-text matches only from the window's smallest rowid on): the same page and count as
    /// the matches in the window alone, including a record of the window stored before all the
    /// older ones, one with a clock days ahead, and an old one stored last.
    @Test(arguments: StoreKind.available)
    func aSearchOverAWindowIgnoresOlderMatchesWhateverTheOrderOfStorage(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let hour = 3_600 * Data.second
            func record(_ message: String, at time: Int64, level: String = "INFO") -> LogRow {
                Data.logRow(Data.LogSpec(at: time, level: level, message: message, logger: "l", service: "s"))
            }
            try await store.write(WriteBatch(logs: [record("card late", at: Data.t0 + 2 * hour, level: "ERROR")]))
            try await store.write(WriteBatch(logs: [record("card ahead", at: Data.t0 + 5 * 24 * hour)]))
            try await store.write(WriteBatch(logs: (1...300).map { record("card old \($0)", at: Data.t0 - Int64($0) * 2 * hour) }))
            try await store.write(WriteBatch(logs: (0..<20).map { record("card now \($0)", at: Data.t0 + Int64($0 + 1) * 60 * Data.second) }))
            try await store.write(WriteBatch(logs: [record("card stale", at: Data.t0 - 40 * 24 * hour, level: "ERROR")]))
            let logs = store.queries.logs
            let window = LogFilter(since: Data.t0, search: "card")

            let page = try await list(logs, window, limit: 5, countLimit: 10_000)
            #expect(page.messages == ["card ahead", "card late", "card now 19", "card now 18", "card now 17"])
            #expect(page.total == CappedCount(total: 22, capped: false))
            #expect(try await list(logs, window, limit: 5, countLimit: 10).total == CappedCount(total: 10, capped: true))
            let further = try await list(logs, window, limit: 5, offset: 19, countLimit: 10_000)
            #expect(further.messages == ["card now 2", "card now 1", "card now 0"])
            #expect(further.total == CappedCount(total: 22, capped: false))

            var errors = window
            errors.level = "ERROR"
            #expect(try await list(logs, errors).messages == ["card late"])
            #expect(try await list(logs, LogFilter(since: Data.t0 - 3 * hour, search: "old")).messages == ["card old 1"])
            #expect(try await list(logs, LogFilter(since: Data.t0 + 10 * 24 * hour, search: "card")).messages.isEmpty)
            // A page past the window's matches: counted from the offset, not from older matches.
            #expect(try await list(logs, window, limit: 5, offset: 40).total == CappedCount(total: 22, capped: false))
        }
    }

    @Test(arguments: StoreKind.available)
    func aListedRecordHasTheListColumns(_ kind: StoreKind) async throws {
        try await withLogs(kind) { logs in
            let record = try #require(try await logs.logList(LogFilter(since: Data.t0, level: "WARNING"), limit: 1, offset: 0,
                                                             countLimit: 10).logs.first)
            #expect(UUID(uuidString: record.id) != nil && record.id == record.id.lowercased())
            #expect(record.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 30 * Data.second))
            #expect(record.level == "WARNING")
            #expect(record.loggerName == "ops_disk%1")
            #expect(record.message == "disk almost full")
            #expect(record.traceID == nil && record.spanID == nil && record.userEmail == nil)
            #expect(record.department == nil && record.sessionID == nil && record.endpoint == nil)
            #expect(Data.json(record.extra) == Data.json(#"{"n":1}"#))
            #expect(record.exceptionType == nil && record.exceptionMessage == nil)
            #expect(record.serviceName == "ops")
            #expect(record.severityNumber == 9)
            #expect(record.severityText == "WARNING")
        }
    }

    @Test(arguments: StoreKind.available)
    func oneRecordHasEveryColumn(_ kind: StoreKind) async throws {
        try await withLogs(kind) { logs in
            let listed = try #require(try await logs.logList(LogFilter(since: Data.t0, level: "ERROR"), limit: 1, offset: 1,
                                                             countLimit: 10).logs.first)
            let record = try #require(try await logs.log(id: listed.id))
            #expect(record.id == listed.id)
            #expect(record.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 40 * Data.second))
            #expect(record.level == "ERROR")
            #expect(record.loggerName == "shop.pay")
            #expect(record.message == "payment failed: card declined")
            #expect(record.traceID == Data.traceID("b"))
            #expect(record.spanID == "00000000000000b1")
            #expect(Data.json(record.extra) == Data.json(#"{"n":1}"#))
            #expect(record.exceptionType == "CardError")
            #expect(record.exceptionMessage == "declined 4242")
            #expect(record.exceptionTraceback == "at pay()")
            #expect(record.timeUnixNano == Data.t0 + 40 * Data.second)
            #expect(record.observedTimeUnixNano == Data.t0 + 40 * Data.second + Data.millisecond)
            #expect(record.observedTimestamp == Timestamp.iso8601(unixNano: Data.t0 + 40 * Data.second + Data.millisecond))
            #expect(record.severityNumber == 17)
            #expect(record.severityText == "ERROR")
            #expect(Data.json(record.body) == Data.json(#"{"stringValue":"payment failed: card declined"}"#))
            #expect(Data.json(record.attributes) == Data.json("[]"))
            #expect(Data.json(record.resource) == Data.json("{}"))
            #expect(Data.json(record.scope) == Data.json(#"{"name":"shop.pay"}"#))
            #expect(record.flags == 1)
            #expect(record.eventName == nil)
            #expect(record.droppedAttributesCount == 0)
            #expect(record.serviceName == "shop")

            #expect(try await logs.log(id: UUID().uuidString.lowercased()) == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func levelsAreCountedOverTheWindowExactly(_ kind: StoreKind) async throws {
        try await withLogs(kind) { logs in
            // Whole minutes from t0 + 60 s (L6), the records of the minute before after 5 s (L1 … L5).
            let counts = try await logs.levelCounts(since: Data.t0 + 5 * Data.second).filter { $0.value > 0 }
            #expect(counts == ["INFO": 2, "WARNING": 1, "ERROR": 2, "DEBUG": 1])
            let later = try await logs.levelCounts(since: Data.t0 + 35 * Data.second).filter { $0.value > 0 }
            #expect(later == ["ERROR": 2, "DEBUG": 1])
            #expect(try await logs.levelCounts(since: Data.t0 + 3_600 * Data.second).filter { $0.value > 0 } == [:])
        }
    }
}
