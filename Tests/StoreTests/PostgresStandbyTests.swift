import Foundation
import Logging
@testable import Store
import StoreTestSupport
import Testing

/// The read replica's decisions, with no database.
@Suite struct StandbyHealthTests {
    @Test func aReadThatCannotReachTheStandbyGoesToThePrimaryAndMarksItDown() {
        #expect(StandbyHealth.reaction(to: .unreachable) == .retryOnPrimary(standbyDown: true))
        #expect(StandbyHealth.reaction(to: .server(sqlState: "57P01")) == .retryOnPrimary(standbyDown: true)) // admin shutdown
        #expect(StandbyHealth.reaction(to: .server(sqlState: "57P03")) == .retryOnPrimary(standbyDown: true)) // cannot connect now
        #expect(StandbyHealth.reaction(to: .server(sqlState: "08006")) == .retryOnPrimary(standbyDown: true))
    }

    @Test func aConflictWithReplayIsRetriedOnThePrimaryWithoutMarkingTheStandbyDown() {
        #expect(StandbyHealth.reaction(to: .server(sqlState: "40001")) == .retryOnPrimary(standbyDown: false))
    }

    /// The standby answers for a schema it has replayed: a table, column or function the
    /// primary's migration added a moment ago is not there yet.
    @Test func aSchemaNotReplayedYetIsReadOnThePrimary() {
        for state in ["42P01", "42703", "42883", "3F000", "3D000"] {
            #expect(StandbyHealth.reaction(to: .server(sqlState: state)) == .retryOnPrimary(standbyDown: false), "\(state)")
        }
    }

    @Test func theQuerysOwnFailuresAreTheCallers() {
        #expect(StandbyHealth.reaction(to: .server(sqlState: PostgresStore.queryCanceled)) == .fail) // the read time limit
        #expect(StandbyHealth.reaction(to: .server(sqlState: "25006")) == .fail) // a write refused: read-only
        #expect(StandbyHealth.reaction(to: .server(sqlState: "42601")) == .fail) // syntax
    }

    @Test func onlyAnAnsweredProbeBringsReadsBack() {
        var health = StandbyHealth()
        #expect(health.status == ReadStorageStatus(usingStandby: true, replayLagSeconds: nil))
        health.observe(.answered(replayLagSeconds: 0.5))
        #expect(health.status == ReadStorageStatus(usingStandby: true, replayLagSeconds: 0.5))
        health.readFailedToConnect()
        #expect(health.status == ReadStorageStatus(usingStandby: false, replayLagSeconds: nil))
        health.observe(.unreachable)
        #expect(!health.up)
        health.observe(.answered(replayLagSeconds: 0))
        #expect(health.status == ReadStorageStatus(usingStandby: true, replayLagSeconds: 0))
    }
}

/// The throwaway hot standby of `SIGHTLINE_TEST_POSTGRES_URL`'s server that script/test starts
/// (`script/postgres-test-server standby`), which this suite stops and starts again.
enum StandbyServer {
    private static var environment: [String: String] { ProcessInfo.processInfo.environment }
    private static func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// `SIGHTLINE_TEST_POSTGRES_STANDBY_URL`: the standby's admin URL.
    static var url: String? { value("SIGHTLINE_TEST_POSTGRES_STANDBY_URL") }
    /// `SIGHTLINE_TEST_POSTGRES_CONTROL`: script/postgres-test-server's absolute path.
    static var control: String? { value("SIGHTLINE_TEST_POSTGRES_CONTROL") }
    /// `SIGHTLINE_TEST_POSTGRES_STANDBY_NAME`: the standby's name for the control script.
    static var name: String { value("SIGHTLINE_TEST_POSTGRES_STANDBY_NAME") ?? "standby" }

    /// Configured, or under CI (where a missing standby must fail the run, not skip it).
    static var enabled: Bool { (url != nil && control != nil && StoreKind.postgresURL != nil) || environment["CI"] == "true" }

    /// The standby's URL of the database `storage` names (created on the primary).
    static func url(of storage: String) throws -> String {
        let standby = try #require(url, "CI=true but SIGHTLINE_TEST_POSTGRES_STANDBY_URL is not set")
        var components = try #require(URLComponents(string: standby))
        components.path = try #require(URLComponents(string: storage)).path
        return try #require(components.string)
    }

    /// `control ACTION NAME` (`stop`, `start`), at most 60 s; its error output in the failure.
    static func run(_ action: String) async throws {
        let control = try #require(control, "CI=true but SIGHTLINE_TEST_POSTGRES_CONTROL is not set")
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("sightline-standby-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let errorHandle = try FileHandle(forWritingTo: errors)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: control)
        process.arguments = [action, name]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        try? errorHandle.close()
        let deadline = Task {
            try await Task.sleep(for: .seconds(60))
            process.terminate()
        }
        defer { deadline.cancel() }
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        guard status == 0 else {
            let output = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ControlFailed(description: "\(control) \(action) \(name) exited \(status): \(output)")
        }
    }
}

struct ControlFailed: Error, CustomStringConvertible {
    let description: String
}

/// A PostgresStore with `--read-storage` against a real streaming standby (pg_basebackup -R).
@Suite(.serialized, .enabled(if: StandbyServer.enabled, "needs SIGHTLINE_TEST_POSTGRES_URL, SIGHTLINE_TEST_POSTGRES_STANDBY_URL and SIGHTLINE_TEST_POSTGRES_CONTROL (script/test sets them)"))
struct PostgresStandbyTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// A migrated store on a fresh database of the primary reading from the standby, its pools
    /// and probe running; the standby has replayed the migrations before `body` runs.
    static func withStandbyStore(_ body: @Sendable (PostgresStore, TestDatabase) async throws -> Void) async throws {
        try await StandbyServer.run("start") // an interrupted run may have left it stopped
        try await withTestDatabase(.postgres) { database in
            var configuration = try PostgresStore.Configuration(url: database.storage, readTimeout: .seconds(10))
            try configuration.useReadStorage(url: try StandbyServer.url(of: database.storage))
            let store = PostgresStore(configuration: configuration, logger: logger)
            try await store.migrate()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                if let service = store.backgroundService { tasks.addTask { try await service.run() } }
                defer { tasks.cancelAll() }
                // Under CI the target's other suites write to the same primary meanwhile: the
                // standby may be a while behind.
                try await poll("the standby to have replayed the migrations and answer its probe", within: Self.replayWait) {
                    guard store.readStorageStatus?.usingStandby == true, store.readStorageStatus?.replayLagSeconds != nil else { return false }
                    // Every migration, not only the first ones: a read of a table the standby has
                    // not replayed yet goes to the primary, which `recovery` tells apart.
                    let migrations = ReadQuery(sql: "SELECT pg_is_in_recovery() AS recovery, (SELECT count(*) FROM enterprise.schema_migrations) AS n")
                    guard let primary = try await store.read(migrations).first?.int("n"),
                          let standby = try? await store.replicaRead(migrations), Self.inRecovery(standby) == true else { return false }
                    return try standby.first?.int("n") == primary
                }
                try await body(store, database)
            }
            try await store.close()
        }
    }

    static func inRecovery(_ rows: [ResultRow]) -> Bool? {
        rows.first.flatMap { row in
            if case .bool(let flag) = row.values.first { return flag }
            return nil
        }
    }

    static let recovery = ReadQuery(sql: "SELECT pg_is_in_recovery() AS recovery")
    /// How long the standby may take to replay what the primary committed.
    static let replayWait: Duration = .seconds(120)

    @Test(.timeLimit(.minutes(5)))
    func queryReadsGoToTheStandbyAndSeeWhatThePrimaryCommitted() async throws {
        try await Self.withStandbyStore { store, _ in
            // The query concerns read on the standby (in recovery); the store's own reads (alert
            // state, the live log stream, retention) on the primary.
            #expect(Self.inRecovery(try await store.replicaRead(Self.recovery)) == true)
            #expect(Self.inRecovery(try await store.read(Self.recovery)) == false)

            let traceID = QueryContractData.spans[0].trace
            #expect(try await store.queries.traces.trace(id: traceID) == nil)
            try await store.write(QueryContractData.traceBatch)
            // Committed on the primary; visible through the query API's reads once replayed.
            try await poll("the committed trace on the standby", within: Self.replayWait) {
                try await store.queries.traces.trace(id: traceID) != nil
            }
            let status = try #require(store.readStorageStatus)
            #expect(status.usingStandby)
            let lag = try #require(status.replayLagSeconds)
            #expect(lag >= 0)
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func aWriteThroughTheReadReplicaIsRefused() async throws {
        try await Self.withStandbyStore { store, database in
            await #expect(throws: StoreError.self) {
                _ = try await store.replicaRead(ReadQuery(sql: "CREATE TABLE enterprise.standby_write_attempt (id int)"))
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.replicaRead(ReadQuery(sql: "DELETE FROM enterprise.traces"))
            }
            // Refused by the standby, not retried on the primary.
            let table = try await database.rows("SELECT to_regclass('enterprise.standby_write_attempt')::text AS t")
            #expect(table.first?.isNull("t") == true)
            #expect(store.readStorageStatus?.usingStandby == true)
        }
    }

    @Test(.timeLimit(.minutes(8)))
    func readsGoToThePrimaryWhileTheStandbyIsStoppedAndBackAfter() async throws {
        try await Self.withStandbyStore { store, _ in
            try await store.write(QueryContractData.traceBatch)
            let traceID = QueryContractData.spans[0].trace
            try await poll("the committed trace on the standby", within: Self.replayWait) {
                try await store.queries.traces.trace(id: traceID) != nil
            }
            try await StandbyServer.run("stop")
            do {
                // Every read answers, from the primary, while the standby is down: the first
                // may find the pool's connections closed, later ones do not wait for it.
                for _ in 0..<5 {
                    let started = ContinuousClock.now
                    #expect(try await store.queries.traces.trace(id: traceID) != nil)
                    #expect(ContinuousClock.now - started < .seconds(12)) // not the 15 s a read waiting for the standby takes
                }
                try await poll("reads to go to the primary", within: .seconds(10)) {
                    store.readStorageStatus?.usingStandby == false
                }
                #expect(Self.inRecovery(try await store.replicaRead(Self.recovery)) == false)
                #expect(store.readStorageStatus?.replayLagSeconds == nil)
            } catch {
                try? await StandbyServer.run("start")
                throw error
            }
            try await StandbyServer.run("start")
            try await poll("reads to go back to the standby", within: Self.replayWait) {
                guard store.readStorageStatus?.usingStandby == true else { return false }
                return Self.inRecovery((try? await store.replicaRead(Self.recovery)) ?? []) == true
            }
            #expect(try await store.queries.traces.trace(id: traceID) != nil)
        }
    }
}
