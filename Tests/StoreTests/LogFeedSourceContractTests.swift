import Foundation
import Logging
import Store
import StoreTestSupport
import Synchronization
import Testing

/// `LogFeedSource` on both stores: a source followed as the live log feed follows it, with
/// marks placed as the feed places them for a new subscriber.
@Suite struct LogFeedSourceContractTests {
    typealias Data = QueryContractData

    /// What a test's follower saw, and what it asks for.
    final class Follower: Sendable {
        let events = Mutex<[LogFeedEvent]>([])
        let demand = Mutex<LogFeedDemand>(.nothing)
        let commits: AsyncStream<Void>
        let signal: AsyncStream<Void>.Continuation

        init() { (commits, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1)) }

        var records: [LogFeedRecord] {
            events.withLock { events in events.flatMap { event -> [LogFeedRecord] in
                if case .records(let records) = event { return records }
                return []
            } }
        }

        /// The records reported after `mark` (placed with `token`).
        func records(after mark: LogFeedMark, token: String) -> [LogFeedRecord] {
            switch mark {
            case .after(let position):
                return records.filter { ($0.sequence ?? .min) > position }
            case .fence, .now:
                return events.withLock { events in
                    guard let fence = events.firstIndex(of: .fence(token)) else { return [] }
                    return events[fence...].flatMap { event -> [LogFeedRecord] in
                        if case .records(let records) = event { return records }
                        return []
                    }
                }
            }
        }

        /// The feed's demand once `mark` is placed: the records past its position, else what comes next.
        func start(at mark: LogFeedMark) {
            demand.withLock { $0 = if case .after(let position) = mark { .after(position) } else { .next } }
        }

        func follow(_ source: any LogFeedSource) async {
            await source.follow(commits: commits, demand: { self.demand.withLock { $0 } }, logger: Logger(label: "test")) { event in
                self.events.withLock { $0.append(event) }
            }
        }
    }

    static func record(_ message: String, at time: Int64) -> LogRow {
        Data.logRow(Data.LogSpec(at: time, level: "INFO", message: message, logger: "feed", service: "s"))
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        try await poll(what, within: .seconds(10), every: .milliseconds(10)) { condition() }
    }

    @Test(arguments: StoreKind.available)
    func theRecordsCommittedAfterAMarkAreReportedAfterIt(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let source = store.queries.logFeed
            #expect(source.followsWriterCommits == (kind == .sqlite))
            try await store.write(WriteBatch(logs: [Self.record("before the feed", at: Data.t0)]))
            let follower = Follower()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await follower.follow(source) }
                // Nobody waits yet: committed, signalled, not reported.
                try await store.write(WriteBatch(logs: [Self.record("before the mark", at: Data.t0 + 1)]))
                follower.signal.yield()
                let mark = try await source.mark("first")
                if mark == .fence {
                    try await Self.waitUntil("the fence") { follower.events.withLock { $0.contains(.fence("first")) } }
                } else {
                    #expect(mark != .now, "the source is followed: a mark can be placed")
                }
                follower.start(at: mark)
                try await store.write(WriteBatch(logs: [Self.record("after the mark", at: Data.t0 + 2)]))
                follower.signal.yield()
                try await Self.waitUntil("the record") { follower.records.contains { $0.log.message == "after the mark" } }
                group.cancelAll()

                #expect(follower.records(after: mark, token: "first").map(\.log.message) == ["after the mark"])
                #expect(!follower.records.contains { $0.log.message.hasPrefix("before") })
                let reported = try #require(follower.records.first)
                #expect(reported.log.level == "INFO")
                #expect(reported.log.loggerName == "feed")
                #expect(reported.log.serviceName == "s")
                #expect(reported.log.timestamp == Timestamp.iso8601(unixNano: Data.t0 + 2))
                #expect(UUID(uuidString: reported.log.id) != nil)
                #expect(reported.sequence == nil || kind == .sqlite)
            }
        }
    }

    /// A large insert (PostgreSQL's trigger names its time range, not its ids) is reported
    /// whole, once, in insertion order.
    @Test(arguments: StoreKind.available)
    func aLargeCommitIsReportedWholeInOrder(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let source = store.queries.logFeed
            let follower = Follower()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await follower.follow(source) }
                let mark = try await source.mark("large")
                if mark == .fence {
                    try await Self.waitUntil("the fence") { follower.events.withLock { $0.contains(.fence("large")) } }
                }
                follower.start(at: mark)
                let messages = (0..<1_500).map { "record \($0)" }
                try await store.write(WriteBatch(logs: messages.enumerated().map {
                    Self.record($0.element, at: Data.t0 + Int64($0.offset) * Data.millisecond)
                }))
                follower.signal.yield()
                try await Self.waitUntil("1,500 records") { follower.records.count >= 1_500 }
                group.cancelAll()
                #expect(follower.records(after: mark, token: "large").map(\.log.message) == messages)
            }
        }
    }
}
