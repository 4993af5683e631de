import Foundation
import Synchronization
import Testing
import NIOHTTP1
import OTLP
import SightlineServer
import Store
import StoreTestSupport

/// A Sightline started in-process on a real store (a SQLite file or a PostgreSQL database) and
/// free loopback ports (127.0.0.1:0): the one live-server harness of the test targets.
public struct TestServer: Sendable {
    public let server: SightlineServer
    public let addresses: BoundAddresses
    public let database: TestDatabase

    public var otlp: String { "http://127.0.0.1:\(addresses.otlpPort)" }
    public var api: String { "http://127.0.0.1:\(addresses.httpPort)" }
    /// The OTLP/gRPC port, when started with `grpc: true`.
    public var grpcPort: Int? { addresses.grpcPort }

    /// Why the harness could not start Sightline.
    public struct NotStarted: Error, CustomStringConvertible {
        public var description: String { "Sightline did not start (no bound addresses)" }
    }

    /// Starts Sightline on `database` (or a fresh database of `kind`, dropped afterwards), runs
    /// `body`, then shuts it down gracefully and waits for it to stop; awaited whether `body`
    /// returned or threw.
    public static func with(
        _ kind: StoreKind = .sqlite,
        database existing: TestDatabase? = nil,
        flags: [Setting: String] = [:],
        environment: [String: String] = [:],
        grpc: Bool = false,
        liveClientStallLimit: Duration? = nil,
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        let options = Options(flags: flags, environment: environment, grpc: grpc, liveClientStallLimit: liveClientStallLimit)
        guard let existing else {
            try await withTestDatabase(kind) { database in
                try await serve(database: database, options, body)
            }
            return
        }
        try await serve(database: existing, options, body)
    }

    /// What a test may change about the configuration.
    private struct Options {
        var flags: [Setting: String]
        var environment: [String: String]
        /// The OTLP/gRPC port on a free port (it is off otherwise).
        var grpc = false
        var liveClientStallLimit: Duration?
    }

    private static func serve(
        database: TestDatabase, _ options: Options,
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        let server = try await prepare(database: database, options)
        let running = Task { try await server.run() }
        do {
            guard let addresses = await server.addresses() else { throw NotStarted() }
            try await body(TestServer(server: server, addresses: addresses, database: database))
        } catch {
            _ = await stop(server, running)
            throw error
        }
        if let failure = await stop(server, running) { throw failure }
    }

    /// Why a test server did not stop cleanly.
    public struct NotStopped: Error, CustomStringConvertible {
        public let description: String
    }

    /// A graceful shutdown, waited for at most `limit`: a server still running then is an error
    /// that says so (not a test run that never ends), and its task is cancelled. Nil when it
    /// stopped without an error.
    static func stop(_ server: SightlineServer, _ running: Task<Void, any Error>,
                     limit: Duration = .seconds(60)) async -> NotStopped? {
        await server.shutdown()
        let ended = Mutex(false)
        let watcher = Task {
            _ = await running.result
            ended.withLock { $0 = true }
        }
        let deadline = ContinuousClock.now + limit
        while !ended.withLock({ $0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        var failure: NotStopped?
        if !ended.withLock({ $0 }) {
            failure = NotStopped(description: "Sightline did not stop within \(limit) of a graceful shutdown")
            running.cancel()
        }
        _ = await watcher.value
        if failure == nil, case .failure(let error) = await running.result, !(error is CancellationError) {
            failure = NotStopped(description: "Sightline stopped with an error: \(error)")
        }
        return failure
    }

    /// Starts Sightline on `database` without a scope, for tests that start and stop several
    /// servers on one database in their own order; `stop()` it (awaited) before the test ends.
    public static func start(database: TestDatabase, flags: [Setting: String] = [:],
                             environment: [String: String] = [:]) async throws -> RunningTestServer {
        let server = try await prepare(database: database, Options(flags: flags, environment: environment))
        let task = Task { try await server.run() }
        guard let addresses = await server.addresses() else {
            _ = await stop(server, task)
            throw NotStarted()
        }
        return RunningTestServer(server: TestServer(server: server, addresses: addresses, database: database), task: task)
    }

    private static func prepare(database: TestDatabase, _ options: Options) async throws -> SightlineServer {
        var allFlags: [Setting: String] = [.storage: database.storage, .otlpPort: "0", .grpcPort: "0", .httpPort: "0"]
        // Tests write data of any age (fixtures, fixed times): kept unless a test sets a retention.
        for setting in Setting.retentionSettings { allFlags[setting] = "0" }
        allFlags.merge(options.flags) { _, new in new }
        var configuration = try SightlineConfiguration.resolve(flags: allFlags, environment: options.environment)
        if let limit = options.liveClientStallLimit { configuration.liveClientStallLimit = limit }
        if options.grpc { configuration.grpcPort = 0 }
        return try await SightlineServer.prepare(configuration: configuration, logger: quietLogger)
    }

    // MARK: requests

    /// A POST to the OTLP port.
    public func post(_ path: String, _ body: [UInt8], contentType: String? = "application/json",
                     headers: [(String, String)] = []) async throws -> Answer {
        try await request(otlp + path, method: .POST, body: body, contentType: contentType, headers: headers)
    }

    /// A GET of a full URL, or of a path (with its query string) on the API port.
    public func get(_ urlOrPath: String, headers: [(String, String)] = []) async throws -> Answer {
        try await request(urlOrPath.hasPrefix("/") ? api + urlOrPath : urlOrPath, method: .GET, body: nil, contentType: nil, headers: headers)
    }

    public func request(_ url: String, method: HTTPMethod, body: [UInt8]?, contentType: String?,
                        headers: [(String, String)]) async throws -> Answer {
        try await ServerTestSupport.request(url, method: method, body: body, contentType: contentType, headers: headers)
    }

    public func request(_ url: String, method: HTTPMethod, body: [UInt8]?, headers: [(String, String)]) async throws -> Answer {
        try await request(url, method: method, body: body, contentType: nil, headers: headers)
    }

    /// Sends an OTLP protobuf export through the receiver; it is committed when this returns.
    public func ingest(_ traces: ExportTraceServiceRequest) async throws {
        try Self.accepted(try await post("/v1/traces", Array(OTLPProtobufEncoder.encode(traces)), contentType: "application/x-protobuf"))
    }

    public func ingest(_ logs: ExportLogsServiceRequest) async throws {
        try Self.accepted(try await post("/v1/logs", Array(OTLPProtobufEncoder.encode(logs)), contentType: "application/x-protobuf"))
    }

    private static func accepted(_ answer: Answer) throws {
        guard answer.status == 200 else { throw StoreError(operation: "test", reason: "export answered \(answer.status): \(answer.body)") }
    }

    /// The value of one sample in the Prometheus text of `GET /metrics` (`series` as written,
    /// labels included, e.g. `sightline_alert_evaluations_total{rule="x",outcome="ok"}`);
    /// nil when it is not there. The sum over every series of a family when `series` has no
    /// labels and the family has some.
    public func metric(_ series: String) async throws -> Double? {
        let text = try await get(api + "/metrics").body
        var total: Double?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let name = line[..<space]
            let labelled = !series.contains("{") && name.hasPrefix(series + "{")
            guard name == series || labelled, let value = Double(line[line.index(after: space)...]) else { continue }
            total = (total ?? 0) + value
        }
        return total
    }

    // MARK: the database

    /// Runs a query through a separate connection (literals only, no parameters).
    public func rows(_ sql: String) async throws -> [Row] {
        try await database.rows(sql)
    }

    public func count(_ table: String) async throws -> Int {
        try await database.count(table)
    }
}

/// A Sightline started by `TestServer.start`, stopped by `stop()`.
public final class RunningTestServer: Sendable {
    public let server: TestServer
    private let task: Task<Void, any Error>

    init(server: TestServer, task: Task<Void, any Error>) {
        self.server = server
        self.task = task
    }

    /// Shuts it down gracefully and waits for it to stop (at most 60 s; a server that does not
    /// stop by then, or stops with an error, is a recorded issue).
    public func stop() async {
        if let failure = await TestServer.stop(server.server, task) {
            Issue.record(Comment(rawValue: failure.description))
        }
    }
}
