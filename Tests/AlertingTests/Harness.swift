import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SightlineServer
import Store
import StoreTestSupport
import Synchronization
import Testing

let quiet = Logger(label: "alerting-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// An HTTP answer, read whole.
struct Answer {
    var status: Int
    var bytes: [UInt8]
    var headers: HTTPHeaders = [:]
    var body: String { String(decoding: bytes, as: UTF8.self) }
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]) ?? [:] }
}

func http(_ method: HTTPMethod, _ url: String, json: Any? = nil, raw: String? = nil) async throws -> Answer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let json {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
    } else if let raw {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: raw))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 8 << 20)
    return Answer(status: Int(response.status.code), bytes: Array(buffer: body), headers: response.headers)
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass (bounded in time and count).
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let attempts = Int(seconds * 10)
    for _ in 0..<attempts {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// A Sightline on a real store and loopback ports, with alerting environment variables.
struct Sightline: Sendable {
    let server: SightlineServer
    let addresses: BoundAddresses
    var otlp: String { "http://127.0.0.1:\(addresses.otlpPort)" }
    var api: String { "http://127.0.0.1:\(addresses.httpPort)/api/observability" }

    static func with(database: TestDatabase, environment: [String: String] = [:],
                     _ body: @Sendable (Sightline) async throws -> Void) async throws {
        try await with(storage: database.storage, environment: environment, body)
    }

    /// As `with(database:)`, on any `--storage` value.
    static func with(storage: String, environment: [String: String] = [:],
                     _ body: @Sendable (Sightline) async throws -> Void) async throws {
        var env = ["SIGHTLINE_ALERT_TICK_MS": "100", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "200", "SIGHTLINE_ALERT_NOTIFY_TIMEOUT": "3"]
        env.merge(environment) { _, new in new }
        let configuration = try SightlineConfiguration.resolve(
            flags: [.storage: storage, .otlpPort: "0", .grpcPort: "0", .httpPort: "0"].merging(keepEverything) { given, _ in given }, environment: env)
        let server = try await SightlineServer.prepare(configuration: configuration, logger: quiet)
        let running = Task { try await server.run() }
        guard let addresses = await server.addresses() else {
            Issue.record("Sightline did not start")
            await stop(server, running)
            return
        }
        do {
            try await body(Sightline(server: server, addresses: addresses))
        } catch {
            await stop(server, running)
            throw error
        }
        await stop(server, running)
    }

    /// A graceful shutdown, waited for at most 60 s: a server still running then is a failure
    /// that says so (not a test run that never ends), and is cancelled.
    private static func stop(_ server: SightlineServer, _ running: Task<Void, any Error>) async {
        await server.shutdown()
        let ended = Mutex(false)
        let watcher = Task {
            _ = await running.result
            ended.withLock { $0 = true }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !ended.withLock({ $0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !ended.withLock({ $0 }) {
            Issue.record("Sightline did not stop within 60 s of a graceful shutdown")
            running.cancel()
        }
        _ = await watcher.value
        if case .failure(let error) = await running.result, !(error is CancellationError) {
            Issue.record("Sightline stopped with an error: \(error)")
        }
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
        running?.cancel()
        _ = await running?.result
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
    private let task: Task<Void, any Error>

    private init(sightline: Sightline, task: Task<Void, any Error>) {
        self.sightline = sightline
        self.task = task
    }

    static func start(database: TestDatabase, environment: [String: String]) async throws -> RunningSightline {
        var env = ["SIGHTLINE_ALERT_TICK_MS": "100", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "200", "SIGHTLINE_ALERT_NOTIFY_TIMEOUT": "3"]
        env.merge(environment) { _, new in new }
        let configuration = try SightlineConfiguration.resolve(
            flags: [.storage: database.storage, .otlpPort: "0", .grpcPort: "0", .httpPort: "0"].merging(keepEverything) { given, _ in given }, environment: env)
        let server = try await SightlineServer.prepare(configuration: configuration, logger: quiet)
        let task = Task { try await server.run() }
        guard let addresses = await server.addresses() else {
            task.cancel()
            throw CancellationError()
        }
        return RunningSightline(sightline: Sightline(server: server, addresses: addresses), task: task)
    }

    func stop() async {
        await sightline.server.shutdown()
        _ = await task.result
    }
}

/// Tests write data of any age (fixtures, fixed times): kept, unless a test sets a retention.
let keepEverything = Dictionary(uniqueKeysWithValues: Setting.retentionSettings.map { ($0, "0") })
