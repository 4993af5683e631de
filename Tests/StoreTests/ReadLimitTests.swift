import Foundation
import Store
import StoreTestSupport
import Testing

/// Reads stop at the store's time limit, and slow reads hold neither the writer nor the probe:
/// reads have connections (and on SQLite threads) of their own, bounded in number.
@Suite struct ReadLimitTests {
    /// A statement that runs far longer than any limit here: counting to a billion on SQLite
    /// (minutes), sleeping a minute on PostgreSQL.
    static func slowQuery(_ kind: StoreKind) -> ReadQuery {
        switch kind {
        case .sqlite:
            ReadQuery(sql: """
                WITH RECURSIVE counter(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM counter WHERE x < 1000000000)
                SELECT count(*) AS n FROM counter
                """)
        case .postgres:
            ReadQuery(sql: "SELECT pg_sleep(60)::text AS slept")
        }
    }

    @Test(arguments: StoreKind.available)
    func aReadPastTheTimeLimitStopsWithThatKindOfError(_ kind: StoreKind) async throws {
        try await withTestStore(kind, readTimeLimit: .milliseconds(300)) { store, _ in
            let started = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) { try await store.read(Self.slowQuery(kind)) }
            #expect(error?.kind == .timeLimitExceeded(.milliseconds(300)))
            #expect(ContinuousClock.now - started < .seconds(5))
            // Neither SQL nor data in what a client may be shown.
            #expect(error?.description == "store read stopped at its time limit (0.3 s)")
            // The connection answers the next read.
            let rows = try await store.read(ReadQuery(sql: "SELECT 1 AS one"))
            #expect(rows.first?["one"].int == 1)
        }
    }

    /// More slow reads than the store runs and queues at once: the surplus is refused at once,
    /// and while the rest run a probe answers and a commit lands, each within a few seconds on
    /// a busy two-core machine (before, reads and commits shared SQLite's threads and
    /// PostgreSQL's one pool: after 15 s both still waited on SQLite; on PostgreSQL the probe
    /// failed at its 2 s limit and the commit at its 10 s one).
    @Test(arguments: StoreKind.available)
    func commitsAndProbesDoNotWaitBehindSlowReads(_ kind: StoreKind) async throws {
        let limit = Duration.seconds(6)
        try await withTestStore(kind, readTimeLimit: limit) { store, database in
            let reads = 16
            let outcomes = Outcomes()
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<reads {
                    group.addTask {
                        do {
                            _ = try await store.read(Self.slowQuery(kind))
                            outcomes.add("answered")
                        } catch let error as StoreError {
                            outcomes.add(error.kind == .tooManyReads ? "refused" : error.kind == .failed ? "failed" : "stopped",
                                         after: ContinuousClock.now - started)
                        }
                    }
                }
                // The surplus is refused without waiting.
                let slots = kind == .sqlite ? SQLiteStore.readConnections : try PostgresStore.Configuration(url: database.storage).readerConnections
                try await poll("the reads beyond \(2 * slots) refused", within: .seconds(5)) { outcomes.count("refused") >= reads - 2 * slots }

                let probe = ContinuousClock.now
                try await store.ping()
                let probed = ContinuousClock.now - probe
                let commit = ContinuousClock.now
                var batch = WriteBatch()
                batch.logs = [log("written while reads are slow")]
                try await store.write(batch)
                let committed = ContinuousClock.now - commit
                #expect(probed < .seconds(3), "ping took \(probed)")
                #expect(committed < .seconds(4), "commit took \(committed)")
                // Still inside the slow reads' time limit: they were running all along.
                #expect(outcomes.count("stopped") == 0, "\(outcomes.all)")
                #expect(try await database.count("structured_logs") == 1)
                try await group.waitForAll()
            }
            // Every read was refused or stopped at the limit; none answered, none hung.
            #expect(outcomes.count("answered") == 0 && outcomes.count("failed") == 0, "\(outcomes.all)")
            #expect(outcomes.count("refused") + outcomes.count("stopped") == reads, "\(outcomes.all)")
            #expect(outcomes.latest < limit * 3, "\(outcomes.all)")
        }
    }
}

/// What each concurrent read ended with.
final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [(String, Duration)] = []

    func add(_ outcome: String, after: Duration = .zero) {
        lock.withLock { outcomes.append((outcome, after)) }
    }

    func count(_ outcome: String) -> Int { lock.withLock { outcomes.filter { $0.0 == outcome }.count } }
    var all: [String] { lock.withLock { outcomes.map { "\($0.0) after \($0.1)" } } }
    var latest: Duration { lock.withLock { outcomes.map(\.1).max() ?? .zero } }
}

