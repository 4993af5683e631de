import Foundation
import Ingest
import Logging
import ServiceLifecycle
import SQLiteNIO
import Store
import Synchronization
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Wraps a real store and counts its commits.
final class CountingStore: TelemetryStore {
    let inner: any TelemetryStore
    let writes = Mutex(0)
    init(_ inner: any TelemetryStore) { self.inner = inner }
    func migrate() async throws -> [String] { try await inner.migrate() }
    func write(_ batch: WriteBatch) async throws {
        writes.withLock { $0 += 1 }
        try await inner.write(batch)
    }
    func ping() async throws { try await inner.ping() }
    func close() async throws { try await inner.close() }
}

/// A store that fails every write whose batch holds a log with `poison` in its message.
struct PoisonedStore: TelemetryStore {
    let inner: any TelemetryStore
    let poison: String
    func migrate() async throws -> [String] { try await inner.migrate() }
    func write(_ batch: WriteBatch) async throws {
        if batch.logs.contains(where: { $0.message.contains(poison) }) {
            throw StoreError(operation: "write", reason: "poisoned")
        }
        try await inner.write(batch)
    }
    func ping() async throws { try await inner.ping() }
    func close() async throws { try await inner.close() }
}

/// A store that cannot be reached: every write and ping fails, and writes are counted.
final class UnreachableStore: TelemetryStore {
    let writes = Mutex(0)
    func migrate() async throws -> [String] { [] }
    func write(_ batch: WriteBatch) async throws {
        writes.withLock { $0 += 1 }
        // As a store waiting out its time limit does (shortened), so submissions pile up meanwhile.
        try await Task.sleep(for: .milliseconds(50))
        throw StoreError(operation: "write", reason: "unreachable")
    }
    func ping() async throws { throw StoreError(operation: "ping", reason: "unreachable") }
    func close() async throws {}
}

func temporaryStore() async throws -> (SQLiteStore, String) {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("sightline-writer-\(UUID().uuidString)/test.db").path
    let store = try await SQLiteStore.open(path: path, logger: quietLogger)
    try await store.migrate()
    return (store, path)
}

func storedLogCount(_ path: String) async throws -> Int {
    let reader = try await SQLiteStore.openConnection(path: path, logger: quietLogger)
    do {
        let count = try await reader.query("SELECT count(*) AS n FROM enterprise.structured_logs").first?.column("n")?.integer ?? -1
        try await reader.close().get()
        return count
    } catch {
        try? await reader.close().get()
        throw error
    }
}

/// Runs `writer` as a service while `body` runs, then shuts it down gracefully.
func running<T: Sendable>(_ writer: BatchWriter, _ body: @Sendable () async throws -> T) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: [writer], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result = try await body()
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

@Suite struct BatchWriterTests {
    @Test func concurrentSubmissionsAreCommittedTogether() async throws {
        let (sqlite, path) = try await temporaryStore()
        let store = CountingStore(sqlite)
        let writer = BatchWriter(store: store, configuration: .init(queueCapacity: 100_000), logger: quietLogger)
        try await running(writer) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in 0..<200 {
                    tasks.addTask { try await writer.submit(batch(items: 5, message: "r\(index)")) }
                }
                try await tasks.waitForAll()
            }
        }
        // Every submit returned only after its rows were committed.
        #expect(try await storedLogCount(path) == 1_000)
        let commits = store.writes.withLock { $0 }
        #expect(commits >= 1 && commits < 200, "expected group commits, got \(commits) for 200 submissions")
        try await sqlite.close()
    }

    /// Metrics and the live log stream learn of a commit before its submitters are answered:
    /// a client that reads /metrics after its 200 finds its spans counted.
    @Test func afterCommitRunsBeforeTheSubmitterIsAnswered() async throws {
        let (sqlite, _) = try await temporaryStore()
        let seen = Mutex(0)
        let writer = BatchWriter(store: sqlite, logger: quietLogger, afterCommit: { added in
            Thread.sleep(forTimeInterval: 0.2) // a slow observer: the answer must still wait for it
            seen.withLock { $0 += added.logs.count }
        })
        try await running(writer) {
            try await writer.submit(batch(items: 3))
            #expect(seen.withLock { $0 } == 3)
        }
        try await sqlite.close()
    }

    @Test func aFailingSubmissionDoesNotFailItsNeighbours() async throws {
        let (sqlite, path) = try await temporaryStore()
        let writer = BatchWriter(store: PoisonedStore(inner: sqlite, poison: "poison"), logger: quietLogger)
        let outcomes = try await running(writer) {
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                for index in 0..<20 {
                    tasks.addTask {
                        do {
                            try await writer.submit(batch(items: 2, message: index == 7 ? "poison" : "fine"))
                            return true
                        } catch {
                            #expect(error as? WriteRejection == .storeUnavailable)
                            return false
                        }
                    }
                }
                return try await tasks.reduce(into: [Bool]()) { $0.append($1) }
            }
        }
        #expect(outcomes.filter { !$0 }.count == 1)
        #expect(try await storedLogCount(path) == 38)
        try await sqlite.close()
    }

    @Test func anUnreachableStoreFailsTheWholeGroupWithoutOneByOneRetries() async throws {
        let store = UnreachableStore()
        let writer = BatchWriter(store: store, logger: quietLogger)
        let failures = try await running(writer) {
            try await withThrowingTaskGroup(of: WriteRejection?.self) { tasks in
                for index in 0..<20 {
                    tasks.addTask {
                        do {
                            try await writer.submit(batch(items: 1, message: "u\(index)"))
                            return nil
                        } catch {
                            return error as? WriteRejection
                        }
                    }
                }
                return try await tasks.reduce(into: [WriteRejection?]()) { $0.append($1) }
            }
        }
        #expect(failures.count == 20 && failures.allSatisfy { $0 == .storeUnavailable })
        // Fewer writes than submissions: groups were failed whole, not retried one by one.
        let writes = store.writes.withLock { $0 }
        #expect(writes < 20, "\(writes) writes for 20 submissions")
    }

    @Test func shutdownCommitsQueuedWorkThenRefusesNewWork() async throws {
        let (sqlite, path) = try await temporaryStore()
        let writer = BatchWriter(store: sqlite, logger: quietLogger)
        let group = ServiceGroup(configuration: .init(services: [writer], logger: quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for index in 0..<10 {
                tasks.addTask { try await writer.submit(batch(items: 3, message: "q\(index)")) }
            }
            try await Task.sleep(for: .milliseconds(20))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await storedLogCount(path) == 30)
        await #expect(throws: WriteRejection.shuttingDown) {
            try await writer.submit(batch(items: 1))
        }
        try await sqlite.close()
    }
}

/// Wraps a real store, says it takes `limit` commits at once, and records how many ran at once.
final class OverlappingStore: TelemetryStore {
    let inner: any TelemetryStore
    let limit: Int
    private let state = Mutex((running: 0, most: 0, commits: 0))
    init(_ inner: any TelemetryStore, limit: Int) {
        self.inner = inner
        self.limit = limit
    }
    var concurrentCommits: Int { limit }
    var mostAtOnce: Int { state.withLock { $0.most } }
    var commits: Int { state.withLock { $0.commits } }
    func migrate() async throws -> [String] { try await inner.migrate() }
    func write(_ batch: WriteBatch) async throws {
        state.withLock { $0.running += 1; $0.most = max($0.most, $0.running); $0.commits += 1 }
        defer { state.withLock { $0.running -= 1 } }
        // Long enough that the next group is queued before this commit ends.
        try await Task.sleep(for: .milliseconds(20))
        try await inner.write(batch)
    }
    func ping() async throws { try await inner.ping() }
    func close() async throws { try await inner.close() }
}

@Suite struct ConcurrentCommitTests {
    /// A store that takes two commits at once gets two, never more, and every submission is
    /// committed.
    @Test(arguments: [1, 2])
    func theWriterOverlapsAsManyCommitsAsTheStoreTakes(_ limit: Int) async throws {
        let (sqlite, path) = try await temporaryStore()
        let store = OverlappingStore(sqlite, limit: limit)
        let writer = BatchWriter(store: store, configuration: .init(queueCapacity: 100_000, maxItemsPerCommit: 20), logger: quietLogger)
        try await running(writer) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in 0..<100 {
                    tasks.addTask { try await writer.submit(batch(items: 5, message: "c\(index)")) }
                }
                try await tasks.waitForAll()
            }
        }
        #expect(try await storedLogCount(path) == 500)
        #expect(store.mostAtOnce == limit, "at most \(store.mostAtOnce) commits ran at once, \(store.commits) in all")
        try await sqlite.close()
    }
}
