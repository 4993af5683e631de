import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SightlineServer
import Store
@_exported import ServerTestSupport
@_exported import StoreTestSupport
import Synchronization
import Testing

let quiet = quietLogger

/// The alerting tests' defaults: a fast tick, short retries and notification timeouts.
let alertTestEnvironment = ["SIGHTLINE_ALERT_TICK_MS": "100", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "200", "SIGHTLINE_ALERT_NOTIFY_TIMEOUT": "3"]

/// The shared live-server harness (`TestServer`) seen from the alert API, with alerting
/// environment variables.
struct Sightline: Sendable {
    let testServer: TestServer
    var server: SightlineServer { testServer.server }
    var addresses: BoundAddresses { testServer.addresses }
    var otlp: String { testServer.otlp }
    var api: String { testServer.api + "/api/observability" }

    static func with(database: TestDatabase, environment: [String: String] = [:],
                     _ body: @Sendable (Sightline) async throws -> Void) async throws {
        try await TestServer.with(database: database, environment: alertTestEnvironment.merging(environment) { _, new in new }) { server in
            try await body(Sightline(testServer: server))
        }
    }

    /// As `with(database:)`, on any `--storage` value.
    static func with(storage: String, environment: [String: String] = [:],
                     _ body: @Sendable (Sightline) async throws -> Void) async throws {
        try await with(database: .existing(storage: storage), environment: environment, body)
    }

    /// Creates a rule through the API; returns its id.
    func createRule(_ rule: [String: Any]) async throws -> String {
        let answer = try await http(.POST, api + "/alerts/rules", json: rule)
        #expect(answer.status == 201, "\(answer.body)")
        return answer.json["id"] as? String ?? ""
    }

    /// Disables the five default rules (migration 010), so tests see only their own.
    func disableDefaultRules() async throws {
        let rules = try await http(.GET, api + "/alerts/rules").json["rules"] as? [[String: Any]] ?? []
        for rule in rules {
            guard let id = rule["id"] as? String else { continue }
            _ = try await http(.PUT, api + "/alerts/rules/\(id)", json: ["enabled": false])
        }
    }

    /// Waits until the evaluator (whichever process holds the role) has evaluated rule `ruleID`
    /// `count` more times: its `last_evaluated_at` changed `count` times. "Nothing more
    /// arrives" is then asserted over evaluations that happened, not over a guessed sleep (on a
    /// loaded machine a sleep may cover none); bounded by `limit`.
    func evaluations(_ count: Int, ofRule ruleID: String, within limit: Duration = .seconds(30)) async throws {
        var last = try await rule(ruleID)["last_evaluated_at"] as? String
        var seen = 0
        try await poll("\(count) more evaluations of rule \(ruleID)", within: limit, every: .milliseconds(100)) {
            let now = try await rule(ruleID)["last_evaluated_at"] as? String
            if now != last { seen += 1; last = now }
            return seen >= count
        }
    }

    func instances(ruleID: String) async throws -> [[String: Any]] {
        try await http(.GET, api + "/alerts/instances?rule_id=\(ruleID)").json["instances"] as? [[String: Any]] ?? []
    }

    func instance(_ id: String) async throws -> [String: Any] {
        try await http(.GET, api + "/alerts/instances/\(id)").json["instance"] as? [String: Any] ?? [:]
    }

    func rule(_ id: String) async throws -> [String: Any] {
        let rules = try await http(.GET, api + "/alerts/rules").json["rules"] as? [[String: Any]] ?? []
        return rules.first { $0["id"] as? String == id } ?? [:]
    }

    /// Sends spans through the OTLP/HTTP JSON receiver.
    func sendSpans(_ spans: [TestSpan], service: String = "checkout") async throws {
        let spanJSON = spans.map { span in
            """
            {"traceId":"\(span.traceID)","spanId":"\(span.spanID)","name":"\(span.name)","kind":2,
             "startTimeUnixNano":"\(span.startNano)","endTimeUnixNano":"\(span.startNano + span.durationNano)",
             "status":{"code":\(span.error ? 2 : 1)\(span.error ? ",\"message\":\"boom\"" : "")}}
            """
        }.joined(separator: ",")
        let body = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\(service)"}}]},
             "scopeSpans":[{"scope":{"name":"test"},"spans":[\(spanJSON)]}]}]}
            """
        let answer = try await http(.POST, otlp + "/v1/traces", raw: body)
        #expect(answer.status == 200, "\(answer.body)")
    }

    /// Sends log records (`(level severityNumber, time)`) through the receiver.
    func sendLogs(_ records: [(severity: Int, timeNano: Int64)], service: String = "checkout") async throws {
        let json = records.map { record in
            "{\"timeUnixNano\":\"\(record.timeNano)\",\"severityNumber\":\(record.severity),\"body\":{\"stringValue\":\"message \(record.severity)\"}}"
        }.joined(separator: ",")
        let body = """
            {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\(service)"}}]},
             "scopeLogs":[{"scope":{"name":"test"},"logRecords":[\(json)]}]}]}
            """
        let answer = try await http(.POST, otlp + "/v1/logs", raw: body)
        #expect(answer.status == 200, "\(answer.body)")
    }
}

struct TestSpan {
    var traceID = String((UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased().prefix(32))
    var spanID = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))
    var name = "GET /checkout"
    var startNano: Int64
    var durationNano: Int64 = 5_000_000
    var error = false
}

func nowNano(minus seconds: Double = 0) -> Int64 {
    Int64((Date().timeIntervalSince1970 - seconds) * 1e9)
}

/// A local HTTP receiver on 127.0.0.1 recording every POST (path, headers, body). It can be
/// started on a given port (to play a receiver that was down and comes back).
final class Receiver: Sendable {
    struct Delivery: Sendable {
        var path: String
        var traceparent: String?
        var body: [UInt8]
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    }

    private let deliveries = Mutex<[Delivery]>([])
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let answerStatus = Mutex<HTTPResponse.Status>(.ok)

    var all: [Delivery] { deliveries.withLock { $0 } }
    func on(_ path: String) -> [Delivery] { all.filter { $0.path == path } }

    func answer(_ status: HTTPResponse.Status) { answerStatus.withLock { $0 = status } }

    /// Starts listening; returns the port.
    func start(port: Int = 0) async throws -> Int {
        let router = Router()
        router.post("/{path}") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let delivery = Delivery(path: "/" + (context.parameters.get("path") ?? ""),
                                    traceparent: request.headers[HTTPField.Name("traceparent")!], body: Array(buffer: body))
            self.deliveries.withLock { $0.append(delivery) }
            return Response(status: self.answerStatus.withLock { $0 })
        }
        router.post("/api/v2/alerts") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            self.deliveries.withLock { $0.append(Delivery(path: "/api/v2/alerts", traceparent: request.headers[HTTPField.Name("traceparent")!], body: Array(buffer: body))) }
            return Response(status: self.answerStatus.withLock { $0 })
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        let running = Task { try await app.runService(gracefulShutdownSignals: []) }
        task.withLock { $0 = running }
        for await bound in stream { return bound }
        return 0
    }

    func stop() async {
        let running = task.withLock { current -> Task<Void, any Error>? in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        running.cancel()
        // Bounded: the server's graceful stop waits for its open connections, and a client
        // that keeps one alive (a notifier's pool) must not hold up the test.
        let stopped = Mutex(false)
        Task {
            _ = await running.result
            stopped.withLock { $0 = true }
        }
        _ = try? await eventually(10) { stopped.withLock { $0 } }
    }

    /// A loopback port that nothing listens on (bound, then released).
    static func freePort() async throws -> Int {
        let receiver = Receiver()
        let port = try await receiver.start()
        await receiver.stop()
        return port
    }
}

/// A Sightline started and stopped by hand (for tests with several processes on one database).
final class RunningSightline: Sendable {
    let sightline: Sightline
    private let running: RunningTestServer

    private init(running: RunningTestServer) {
        self.running = running
        self.sightline = Sightline(testServer: running.server)
    }

    static func start(database: TestDatabase, environment: [String: String]) async throws -> RunningSightline {
        RunningSightline(running: try await TestServer.start(
            database: database, environment: alertTestEnvironment.merging(environment) { _, new in new }))
    }

    func stop() async { await running.stop() }
}

