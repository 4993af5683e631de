import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Store

/// `/api/observability/alerts` (docs/api.md): rules (list, create, update, delete) and
/// instances (list, one with its notification attempts, acknowledge, resolve). JSON;
/// refusals are `{"error": "<field>: <problem>"}` with 400, 404, 409, 422, 429 or 503. Destinations in
/// `notification_config` are secrets: answers say which keys are set, never the values.
public struct AlertsAPI: Sendable {
    let database: AlertDatabase
    let logger: Logger
    let now: @Sendable () -> Date
    let customSQLTimeout: Duration
    let egress: EgressPolicy
    var alerts: any AlertStore { database.alerts }

    /// `egress`: what a rule's own destinations may name (`AlertingConfiguration.egress`).
    public init(database: AlertDatabase, logger: Logger, customSQLTimeout: Duration = .seconds(5), egress: EgressPolicy = EgressPolicy(),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.logger = logger
        self.customSQLTimeout = customSQLTimeout
        self.egress = egress
        self.now = now
    }

    /// Adds the routes to `group` (mounted at `/api/observability`).
    public func addRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("/alerts/rules") { _, _ in await respond { () async throws(APIFailure) in try await listRules() } }
        group.post("/alerts/rules") { request, _ in await respond { () async throws(APIFailure) in try await createRule(request) } }
        group.post("/alerts/rules/preview") { request, _ in await respond { () async throws(APIFailure) in try await previewRule(request) } }
        group.put("/alerts/rules/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(APIFailure) in try await updateRule(request, id: id) }
        }
        group.delete("/alerts/rules/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(APIFailure) in try await deleteRule(id: id) }
        }
        group.get("/alerts/instances") { request, _ in await respond { () async throws(APIFailure) in try await listInstances(request) } }
        group.get("/alerts/instances/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(APIFailure) in try await instance(id: id) }
        }
        group.post("/alerts/instances/{id}/acknowledge") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(APIFailure) in try await acknowledge(request, id: id) }
        }
        group.post("/alerts/instances/{id}/resolve") { _, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(APIFailure) in try await resolve(id: id) }
        }
    }

    // MARK: rules

    func listRules() async throws(APIFailure) -> Response {
        let rules = try await store { try await alerts.rules(enabledOnly: false) }
        return .json(["rules": rules.map(Self.ruleJSON)])
    }

    func createRule(_ request: Request) async throws(APIFailure) -> Response {
        let body = try await jsonBody(request)
        let rule: AlertRule
        do {
            rule = try AlertRule.from(json: body, base: nil, egress: egress)
        } catch {
            throw APIFailure(.badRequest, error.description)
        }
        try await checkCustomSQL(rule)
        let createdBy: String? = if case .string(let user)? = body["created_by"] { user } else { nil }
        let id = try await store { try await alerts.insertRule(rule.definition, createdBy: createdBy) }
        guard let row = try await store({ try await alerts.rule(id: id) }) else { throw APIFailure.storeUnavailable }
        logger.info("alert rule created", metadata: ["alert.rule_id": "\(id)", "alert.rule": "\(rule.name)"])
        return .json(["id": id, "message": "Rule created", "rule": Self.ruleJSON(row)], status: .created)
    }

    /// `POST /alerts/rules/preview`: a rule as for create, validated the same way and evaluated
    /// once now, without saving it or changing any alert: `{"value", "breached", "evaluated_in_ms"}`
    /// (`value` null when there is no data).
    func previewRule(_ request: Request) async throws(APIFailure) -> Response {
        let body = try await jsonBody(request)
        let rule: AlertRule
        do {
            rule = try AlertRule.from(json: body, base: nil, egress: egress)
        } catch {
            throw APIFailure(.badRequest, error.description)
        }
        try await checkCustomSQL(rule)
        // No waiting for a custom_sql slot: a busy server answers 429 at once.
        let metrics = AlertMetrics(database: database, customSQLTimeout: customSQLTimeout, customSQLWait: .zero)
        let started = ContinuousClock.now
        let value: Double?
        do {
            value = try await metrics.value(of: rule, at: now())
        } catch let error as RuleQueryError {
            logger.warning("alert rule preview failed", metadata: ["alert.rule": "\(rule.name)", "error": "\(error)"])
            throw customSQLFailure(error, status: .unprocessableContent)
        } catch {
            logger.warning("alert rule preview failed", metadata: ["alert.rule": "\(rule.name)", "error": "\(AlertEvaluator.describe(error))"])
            throw APIFailure(.unprocessableContent, "metric_type: evaluation failed: \(AlertEvaluator.describe(error))")
        }
        let elapsed = started.duration(to: .now)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return .json([
            "value": value.map { $0 as Any } ?? NSNull(),
            "breached": value.map { rule.condition.holds($0, threshold: rule.threshold) as Any } ?? NSNull(),
            "evaluated_in_ms": (milliseconds * 10).rounded() / 10,
        ])
    }

    func updateRule(_ request: Request, id: String) async throws(APIFailure) -> Response {
        guard let row = try await store({ try await alerts.rule(id: id) }), let existing = AlertRule(record: row) else {
            throw APIFailure(.notFound, "alert rule not found")
        }
        let body = try await jsonBody(request)
        var rule: AlertRule
        do {
            rule = try AlertRule.from(json: body, base: existing, egress: egress)
        } catch {
            throw APIFailure(.badRequest, error.description)
        }
        rule.id = existing.id
        if body["custom_sql"] != nil || body["metric_type"] != nil { try await checkCustomSQL(rule) }
        guard try await store({ try await alerts.updateRule(id: rule.id, rule.definition, at: Date()) }),
              let updated = try await store({ try await alerts.rule(id: id) }) else {
            throw APIFailure(.notFound, "alert rule not found")
        }
        return .json(["message": "Rule updated", "rule": Self.ruleJSON(updated)])
    }

    func deleteRule(id: String) async throws(APIFailure) -> Response {
        guard try await store({ try await alerts.deleteRule(id: id) }) else { throw APIFailure(.notFound, "alert rule not found") }
        return .json(["message": "Rule deleted", "id": id])
    }

    /// `custom_sql` compiled (not run) by the store itself: one read-only statement, one
    /// column, reading only what rules may read.
    private func checkCustomSQL(_ rule: AlertRule) async throws(APIFailure) {
        guard rule.metricType == .customSQL, let sql = rule.customSQL else { return }
        do {
            // Compiling is cheap and saves are rare: a save waits for a slot (one frees within
            // one statement's time limit) rather than failing because the evaluator is busy.
            try await database.checkCustomSQL(sql, waitingAtMost: customSQLTimeout)
        } catch {
            throw customSQLFailure(error, status: .badRequest)
        }
    }

    /// The answer for a `custom_sql` that could not run: 429 with `Retry-After` when every slot
    /// is taken, 400 when the server cannot run rules' SQL, else `status` (400 for a check, 422
    /// for a run). The message names the field and holds no data (`RuleQueryError`).
    private func customSQLFailure(_ error: RuleQueryError, status: HTTPResponse.Status) -> APIFailure {
        switch error {
        case .busy:
            var failure = APIFailure(.tooManyRequests, error.description)
            // A slot frees within one statement's time limit.
            failure.retryAfterSeconds = max(1, Int(customSQLTimeout.components.seconds))
            return failure
        case .unavailable, .refused:
            return APIFailure(.badRequest, error.description)
        case .failed, .timedOut:
            return APIFailure(status, error.description)
        }
    }

    // MARK: instances

    func listInstances(_ request: Request) async throws(APIFailure) -> Response {
        let query = try QueryParameters(request)
        let hours = try query.int("hours", default: 24, in: 1...168)
        let limit = try query.int("limit", default: 50, in: 1...200)
        let status = try query.choice("status", AlertState.Status.allCases.filter { $0 != .inactive }.map(\.rawValue))
        let ruleID = try query.text("rule_id")
        let since = now().addingTimeInterval(-Double(hours) * 3600)
        let filter = AlertInstanceFilter(since: since, status: status, ruleID: ruleID, limit: limit)
        let listed = try await store { try await alerts.instances(filter) }
        return .json(["instances": listed.map(Self.instanceJSON), "period_hours": hours])
    }

    func instance(id: String) async throws(APIFailure) -> Response {
        guard let row = try await store({ try await alerts.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        let notifications = try await store { try await alerts.notificationAttempts(instanceID: id) }
        var object = Self.instanceJSON(row)
        object["notifications"] = notifications.map(Self.attemptJSON)
        return .json(["instance": object])
    }

    /// Who acknowledges: `{"user": "..."}` (or `acknowledged_by`/`user_email`) in the body, or
    /// `?user_email=`.
    func acknowledge(_ request: Request, id: String) async throws(APIFailure) -> Response {
        let query = try QueryParameters(request)
        var user = try query.text("user_email")
        if user == nil, let body = try await optionalJSONBody(request) {
            for key in ["user", "acknowledged_by", "user_email"] {
                if case .string(let name)? = body[key], !name.trimmingWhitespace.isEmpty { user = name.trimmingWhitespace; break }
            }
        }
        guard let user else { throw APIFailure(.badRequest, "user: required (body {\"user\": ...} or ?user_email=)") }
        guard user.count <= 255 else { throw APIFailure(.badRequest, "user: longer than 255 characters") }
        guard try await store({ try await alerts.instance(id: id) }) != nil else { throw APIFailure(.notFound, "alert instance not found") }
        guard try await store({ try await alerts.acknowledgeInstance(id: id, by: user, at: now()) }) else {
            throw APIFailure(.conflict, "status: only a pending or firing alert can be acknowledged")
        }
        guard let row = try await store({ try await alerts.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        return .json(["message": "Alert acknowledged", "instance": Self.instanceJSON(row)])
    }

    /// Resolves by hand (no notification is sent; the rule's cooldown starts).
    func resolve(id: String) async throws(APIFailure) -> Response {
        guard try await store({ try await alerts.instance(id: id) }) != nil else { throw APIFailure(.notFound, "alert instance not found") }
        guard try await store({ try await alerts.resolveInstance(id: id, at: now()) }) else {
            throw APIFailure(.conflict, "status: the alert is already resolved")
        }
        guard let row = try await store({ try await alerts.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        return .json(["message": "Alert resolved", "instance": Self.instanceJSON(row)])
    }

    // MARK: plumbing

    private func respond(_ body: () async throws(APIFailure) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return error.response
        }
    }

    private func store<T>(_ body: () async throws -> T) async throws(APIFailure) -> T {
        do {
            return try await body()
        } catch {
            logger.warning("alert statement failed", metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
            throw .storeUnavailable
        }
    }

    private func jsonBody(_ request: Request) async throws(APIFailure) -> [String: JSONValue] {
        guard let body = try await optionalJSONBody(request) else { throw APIFailure(.badRequest, "body: expected a JSON object") }
        return body
    }

    private func optionalJSONBody(_ request: Request) async throws(APIFailure) -> [String: JSONValue]? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 64 * 1024)
        } catch {
            throw APIFailure(.contentTooLarge, "body: larger than 64 KiB")
        }
        guard buffer.readableBytes > 0 else { return nil }
        guard let object = JSONValue.parseObject(Array(buffer: buffer)) else { throw APIFailure(.badRequest, "body: expected a JSON object") }
        return object
    }

    /// A rule for answers: every stored column, `notification_config` reduced to the keys that are set.
    static func ruleJSON(_ rule: AlertRuleRecord) -> [String: Any] {
        let overrides = NotificationOverrides(json: rule.notificationConfigJSON)
        return [
            "id": rule.id, "name": rule.name, "description": value(rule.description), "metric_type": rule.metricType,
            "condition": rule.condition, "threshold": value(rule.threshold), "window_minutes": value(rule.windowMinutes),
            "evaluation_interval_seconds": value(rule.evaluationIntervalSeconds), "custom_sql": value(rule.customSQL),
            "severity": value(rule.severity), "notification_channels": json(rule.notificationChannelsJSON),
            "cooldown_minutes": value(rule.cooldownMinutes), "enabled": value(rule.enabled), "service_name": value(rule.serviceName),
            "operation_name": value(rule.operationName), "for_minutes": rule.forMinutes, "repeat_interval_minutes": rule.repeatIntervalMinutes,
            "notification_config": (overrides?.setKeys ?? []).reduce(into: [String: Any]()) { $0[$1] = "(set)" },
            "metric_name": value(rule.metricName), "metric_aggregation": value(rule.metricAggregation),
            "metric_attributes": json(rule.metricAttributesJSON),
            "last_evaluated_at": value(rule.lastEvaluatedAt), "last_triggered_at": value(rule.lastTriggeredAt),
            "last_value": value(rule.lastValue), "last_error": value(rule.lastError), "created_at": value(rule.createdAt),
            "created_by": value(rule.createdBy), "updated_at": value(rule.updatedAt),
        ]
    }

    /// An instance for answers, with its rule's name and severity.
    static func instanceJSON(_ instance: AlertInstanceRecord) -> [String: Any] {
        [
            "id": instance.id, "rule_id": instance.ruleID, "rule_name": instance.ruleName, "severity": value(instance.severity),
            "triggered_at": instance.triggeredAt, "resolved_at": value(instance.resolvedAt), "status": value(instance.status),
            "acknowledged_by": value(instance.acknowledgedBy), "acknowledged_at": value(instance.acknowledgedAt),
            "metric_value": value(instance.metricValue), "threshold_value": value(instance.thresholdValue), "message": value(instance.message),
            "fingerprint": value(instance.fingerprint), "labels": json(instance.labelsJSON), "pending_since": value(instance.pendingSince),
            "fired_at": value(instance.firedAt), "last_notified_at": value(instance.lastNotifiedAt),
        ]
    }

    /// A listed instance: with its notification attempts counted.
    static func instanceJSON(_ listed: ListedAlertInstance) -> [String: Any] {
        var object = instanceJSON(listed.instance)
        object["notification_attempts"] = listed.notificationAttempts
        object["notifications_delivered"] = listed.notificationsDelivered
        return object
    }

    static func attemptJSON(_ attempt: NotificationAttemptRecord) -> [String: Any] {
        [
            "channel": attempt.channel, "kind": attempt.kind, "attempt": attempt.attempt, "sent_at": attempt.sentAt,
            "success": attempt.success, "status_code": value(attempt.statusCode), "error": value(attempt.error),
        ]
    }

    /// A value for JSON: `null` when absent, and for a number that is not finite.
    private static func value<T>(_ value: T?) -> Any {
        guard let value else { return NSNull() }
        if let number = value as? Double, !number.isFinite { return NSNull() }
        return value
    }

    /// A stored JSON document as its value (its text if it does not parse); `null` when absent.
    private static func json(_ text: String?) -> Any {
        guard let text else { return NSNull() }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) ?? text
    }
}

/// A refusal: a real status and `{"error": "..."}`.
struct APIFailure: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    /// `Retry-After` in seconds, for 429 (503 always says 5).
    var retryAfterSeconds: Int?

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static let storeUnavailable = APIFailure(.serviceUnavailable, "store is unavailable; retry later")

    var response: Response {
        var response = Response.json(["error": message], status: status)
        if let seconds = retryAfterSeconds ?? (status == .serviceUnavailable ? 5 : nil) {
            response.headers[HTTPField.Name("Retry-After")!] = String(seconds)
        }
        return response
    }
}

extension Response {
    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// Query parameters, checked like the rest of the query API.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ request: Request) throws(APIFailure) {
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard values[name] == nil else { throw APIFailure(.badRequest, "\(name): given more than once") }
            values[name] = String(value)
        }
    }

    func text(_ name: String) throws(APIFailure) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        guard value.count <= 255 else { throw APIFailure(.badRequest, "\(name): longer than 255 characters") }
        return value
    }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(APIFailure) -> Int {
        guard let text = try text(name) else { return fallback }
        guard let value = Int(text) else { throw APIFailure(.badRequest, "\(name): expected an integer, got \"\(text.prefix(40))\"") }
        guard range.contains(value) else { throw APIFailure(.badRequest, "\(name): must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func choice(_ name: String, _ allowed: [String]) throws(APIFailure) -> String? {
        guard let text = try text(name) else { return nil }
        guard let match = allowed.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) else {
            throw APIFailure(.badRequest, "\(name): must be one of \(allowed.joined(separator: ", "))")
        }
        return match
    }
}
