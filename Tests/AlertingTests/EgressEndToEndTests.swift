@testable import Alerting
import Foundation
import HTTPTypes
import Hummingbird
import StoreTestSupport
import Synchronization
import Testing

/// The egress policy end to end: rules created through the API with destinations on
/// 127.0.0.1, the running evaluator, real HTTP receivers on loopback. Destinations from the
/// environment stay trusted.
@Suite("Egress policy end to end", .serialized)
struct EgressEndToEndTests {
    static let refusal = "destination refused by the egress policy"

    /// The notification attempts of the newest instance of `ruleID` (none yet: empty).
    static func attempts(_ sightline: Sightline, ruleID: String) async throws -> [[String: Any]] {
        guard let id = try await sightline.instances(ruleID: ruleID).first?["id"] as? String else { return [] }
        return try await sightline.instance(id)["notifications"] as? [[String: Any]] ?? []
    }

    static func rule(_ name: String, channel: String, config: [String: Any]? = nil) -> [String: Any] {
        var rule: [String: Any] = ["name": name, "metric_type": "error_count", "condition": "gt", "threshold": 0, "window_minutes": 5,
                                   "evaluation_interval_seconds": 1, "cooldown_minutes": 0, "notification_channels": [channel]]
        if let config { rule["notification_config"] = config }
        return rule
    }

    @Test("a loopback address is refused on save; a loopback name is saved but never called; the environment's receiver is",
          arguments: StoreKind.available)
    func loopbackRefused(kind: StoreKind) async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            try await withTestDatabase(kind) { database in
                let environment = ["ALERT_WEBHOOK_URL": "http://127.0.0.1:\(port)/env", "SIGHTLINE_ALERT_RETRY_ATTEMPTS": "3"]
                try await Sightline.with(database: database, environment: environment) { sightline in
                    try await sightline.disableDefaultRules()
                    let refusedOnSave: [(String, String, String)] = [
                        ("webhook_url", "http://127.0.0.1:\(port)/rule", "loopback address refused by the egress policy"),
                        ("webhook_url", "http://[::1]:\(port)/rule", "loopback address refused by the egress policy"),
                        ("webhook_url", "http://[::ffff:127.0.0.1]:\(port)/rule", "loopback address refused by the egress policy"),
                        ("webhook_url", "http://2130706433:\(port)/rule", "loopback address refused by the egress policy"),
                        ("slack_webhook_url", "http://169.254.169.254/latest/meta-data/", "link-local address refused by the egress policy"),
                        ("alertmanager_url", "http://10.0.0.1:9093", "private-use address refused by the egress policy"),
                        ("alertmanager_url", "http://0.0.0.0:\(port)", "unspecified address refused by the egress policy"),
                        ("webhook_url", "http://user:secret@hooks.example.com/x", "must not contain user information"),
                        ("webhook_url", "file:///etc/passwd", "expected an http:// or https:// URL"),
                    ]
                    for (field, url, problem) in refusedOnSave {
                        let answer = try await http(.POST, sightline.api + "/alerts/rules", json: Self.rule("Refused", channel: "webhook", config: [field: url]))
                        #expect(answer.status == 400, "\(url): \(answer.body)")
                        let error = answer.json["error"] as? String ?? ""
                        #expect(error.hasPrefix("notification_config.\(field): \(problem)"), "\(url): \(error)")
                        #expect(!error.contains("secret"))
                    }
                    // Previews and updates are checked the same way.
                    let preview = try await http(.POST, sightline.api + "/alerts/rules/preview",
                                                 json: Self.rule("Preview", channel: "webhook", config: ["webhook_url": "http://127.0.0.1:\(port)/rule"]))
                    #expect(preview.status == 400, "\(preview.body)")

                    let viaEnvironment = try await sightline.createRule(Self.rule("Environment destination", channel: "webhook"))
                    let update = try await http(.PUT, sightline.api + "/alerts/rules/\(viaEnvironment)",
                                                json: ["notification_config": ["webhook_url": "http://127.0.0.1:\(port)/rule"]])
                    #expect(update.status == 400, "\(update.body)")
                    #expect((update.json["error"] as? String)?.hasPrefix("notification_config.webhook_url: loopback address") == true)

                    // A name is judged when sending: `localhost` is saved, then refused at every evaluation.
                    let byName = try await sightline.createRule(Self.rule("Loopback name", channel: "webhook",
                                                                          config: ["webhook_url": "http://localhost:\(port)/rule"]))
                    try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                    #expect(try await eventually(15) {
                        guard receiver.on("/env").count >= 1 else { return false }
                        return try await !Self.attempts(sightline, ruleID: byName).isEmpty
                    })
                    let attempts = try await Self.attempts(sightline, ruleID: byName)
                    #expect(attempts.first?["error"] as? String == Self.refusal, "\(attempts)")
                    #expect(attempts.first?["success"] as? Bool == false)
                    #expect(attempts.first?["status_code"] is NSNull || attempts.first?["status_code"] == nil)
                    // Not retried: two evaluations (at least a second, longer than the retry schedule's
                    // first two waits, 0.2 s and 0.4 s) later, still one attempt, and the receiver
                    // never saw the rule's request. (The retry schedule runs on the real clock.)
                    try await sightline.evaluations(2, ofRule: byName)
                    #expect(try await Self.attempts(sightline, ruleID: byName).count == 1)
                    #expect(receiver.on("/rule").isEmpty)
                    #expect(receiver.on("/env").count == 1)
                    let envAttempts = try await Self.attempts(sightline, ruleID: viaEnvironment)
                    #expect(envAttempts.count == 1 && envAttempts.first?["success"] as? Bool == true, "\(envAttempts)")
                }
            }
        }
    }

    @Test("SIGHTLINE_ALERT_ALLOWED_HOSTS opens host:port on loopback; a redirect from there is not followed",
          arguments: StoreKind.available)
    func allowedHostAndRedirect(kind: StoreKind) async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            let redirector = Redirector(to: "http://127.0.0.1:\(port)/followed")
            let redirectPort = try await redirector.start()
            try await withCleanup({ await redirector.stop() }) {
                try await withTestDatabase(kind) { database in
                    let environment = ["SIGHTLINE_ALERT_ALLOWED_HOSTS": "127.0.0.1:\(port), 127.0.0.1:\(redirectPort)"]
                    try await Sightline.with(database: database, environment: environment) { sightline in
                        try await sightline.disableDefaultRules()
                        // Only the ports named are open.
                        let otherPort = try await http(.POST, sightline.api + "/alerts/rules",
                                                       json: Self.rule("Other port", channel: "webhook", config: ["webhook_url": "http://127.0.0.1:1/x"]))
                        #expect(otherPort.status == 400, "\(otherPort.body)")
                        let allowed = try await sightline.createRule(Self.rule("Allowed", channel: "webhook",
                                                                               config: ["webhook_url": "http://127.0.0.1:\(port)/allowed"]))
                        let redirected = try await sightline.createRule(Self.rule("Redirected", channel: "slack",
                                                                                  config: ["slack_webhook_url": "http://127.0.0.1:\(redirectPort)/redirect"]))
                        try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                        #expect(try await eventually(15) {
                            guard receiver.on("/allowed").count == 1, redirector.count == 1 else { return false }
                            return try await !Self.attempts(sightline, ruleID: redirected).isEmpty
                        })
                        let allowedAttempts = try await Self.attempts(sightline, ruleID: allowed)
                        #expect(allowedAttempts.first?["success"] as? Bool == true, "\(allowedAttempts)")
                        let redirectAttempts = try await Self.attempts(sightline, ruleID: redirected)
                        #expect(redirectAttempts.first?["error"] as? String == "receiver answered 307", "\(redirectAttempts)")
                        #expect(redirectAttempts.first?["status_code"] as? Int == 307)
                        // A redirect followed or a retry would have shown within two more evaluations.
                        try await sightline.evaluations(2, ofRule: redirected)
                        #expect(receiver.on("/followed").isEmpty)
                        #expect(try await Self.attempts(sightline, ruleID: redirected).count == 1)
                    }
                }
            }
        }
    }

    @Test("a send connects only to the checked addresses, the next when one refuses; Host stays the URL's")
    func pinnedConnection() async throws {
        let server = Redirector(to: nil)
        let port = try await server.start()
        try await withCleanup({ await server.stop() }) {
            // `hooks.test` resolves nowhere but through the injected lookup: the client connects
            // where the policy decided, never looking the name up itself.
            let url = "http://hooks.test:\(port)/pinned"
            let loopback = EgressPolicy(allowances: [.network(IPNetwork("127.0.0.0/8")!)])
            var poster = JSONPoster(url: url, client: .shared, egress: loopback)
            // 127.0.0.2: loopback too, but nothing listens there, so the connection is refused.
            poster.lookup = { _, _ in [IPAddress("127.0.0.2")!, IPAddress("127.0.0.1")!] }
            let outcome = try await poster.post(["a": 1], headers: [], timeout: .seconds(5))
            #expect(outcome.statusCode == 200)
            #expect(server.requestHosts == ["hooks.test:\(port)"])

            var strict = JSONPoster(url: url, client: .shared, egress: EgressPolicy())
            strict.lookup = { _, _ in [IPAddress("127.0.0.1")!] }
            await #expect(throws: NotificationError.refused) { try await strict.post(["a": 1], headers: [], timeout: .seconds(5)) }
            #expect(server.count == 1)
        }
    }

    @Test("a CIDR entry opens a name whose every address is in it", arguments: StoreKind.available)
    func allowedNetwork(kind: StoreKind) async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            try await withTestDatabase(kind) { database in
                // `localhost` may resolve to ::1 as well as 127.0.0.1: both blocks are opened. The
                // receiver listens on 127.0.0.1 only; when ::1 comes first and refuses the connection,
                // the next checked address is tried.
                let environment = ["SIGHTLINE_ALERT_ALLOWED_HOSTS": "127.0.0.0/8, ::1/128"]
                try await Sightline.with(database: database, environment: environment) { sightline in
                    try await sightline.disableDefaultRules()
                    let byName = try await sightline.createRule(Self.rule("By name", channel: "webhook",
                                                                          config: ["webhook_url": "http://localhost:\(port)/name"]))
                    let literal = try await sightline.createRule(Self.rule("Literal", channel: "slack",
                                                                           config: ["slack_webhook_url": "http://127.0.0.1:\(port)/literal"]))
                    let refused = try await http(.POST, sightline.api + "/alerts/rules",
                                                 json: Self.rule("Private", channel: "webhook", config: ["webhook_url": "http://10.0.0.1/x"]))
                    #expect(refused.status == 400, "\(refused.body)")
                    try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                    #expect(try await eventually(15) { receiver.on("/name").count == 1 && receiver.on("/literal").count == 1 })
                    for rule in [byName, literal] {
                        #expect(try await eventually(5) { try await Self.attempts(sightline, ruleID: rule).first?["success"] as? Bool == true })
                    }
                }
            }
        }
    }

    @Test("SIGHTLINE_ALERT_EMAIL_DOMAINS: refused on save, and at send time for a rule saved before it was set",
          arguments: StoreKind.available)
    func emailDomains(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            // Nothing listens on the SMTP port: a send that got that far would fail to connect.
            let smtpPort = try await Receiver.freePort()
            let smtp = ["SMTP_HOST": "127.0.0.1", "SMTP_PORT": "\(smtpPort)", "SIGHTLINE_ALERT_RETRY_ATTEMPTS": "1"]
            let savedBefore = RuleIDBox()
            try await Sightline.with(database: database, environment: smtp.merging(["SIGHTLINE_ALERTS_ENABLED": "false"]) { $1 }) { sightline in
                try await sightline.disableDefaultRules()
                savedBefore.value = try await sightline.createRule(Self.rule("Mail elsewhere", channel: "email",
                                                                             config: ["email_to": ["ops@example.com", "x@evil.example"]]))
            }
            try await Sightline.with(database: database, environment: smtp.merging(["SIGHTLINE_ALERT_EMAIL_DOMAINS": "example.com"]) { $1 }) { sightline in
                let refused = try await http(.POST, sightline.api + "/alerts/rules",
                                             json: Self.rule("Mail", channel: "email", config: ["email_to": ["ops@example.com", "x@evil.example"]]))
                #expect(refused.status == 400, "\(refused.body)")
                #expect(refused.json["error"] as? String
                        == "notification_config.email_to: x@evil.example: domain not in SIGHTLINE_ALERT_EMAIL_DOMAINS")
                let update = try await http(.PUT, sightline.api + "/alerts/rules/\(savedBefore.value)",
                                            json: ["notification_config": ["email_to": ["a@sub.example.com"]]])
                #expect(update.status == 400, "\(update.body)")
                let accepted = try await http(.POST, sightline.api + "/alerts/rules",
                                              json: Self.rule("Mail here", channel: "email", config: ["email_to": ["Ops@Example.com"]]))
                #expect(accepted.status == 201, "\(accepted.body)")
                if let id = accepted.json["id"] as? String {
                    #expect(try await http(.PUT, sightline.api + "/alerts/rules/\(id)", json: ["enabled": false]).status == 200)
                }

                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                #expect(try await eventually(15) { try await !Self.attempts(sightline, ruleID: savedBefore.value).isEmpty })
                let attempts = try await Self.attempts(sightline, ruleID: savedBefore.value)
                #expect(attempts.first?["channel"] as? String == "email")
                #expect(attempts.first?["error"] as? String == Self.refusal, "\(attempts)")
            }
        }
    }
}

/// A loopback HTTP server recording each POST's `Host` header and answering `200`, or
/// `307 Temporary Redirect` to `redirect` when set.
final class Redirector: Sendable {
    private let target: String?
    private let hosts = Mutex<[String]>([])
    private let task = Mutex<Task<Void, any Error>?>(nil)

    /// The `Host` header of every request, in order.
    var requestHosts: [String] { hosts.withLock { $0 } }
    var count: Int { requestHosts.count }

    init(to target: String?) { self.target = target }

    func start() async throws -> Int {
        let router = Router()
        router.post("/{path}") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            self.hosts.withLock { $0.append(request.head.authority ?? "") }
            guard let target = self.target else { return Response(status: .ok) }
            return Response(status: .temporaryRedirect, headers: [.location: target])
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        let running = Task { try await app.runService(gracefulShutdownSignals: []) }
        task.withLock { $0 = running }
        for await port in stream { return port }
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
}
