import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Store

/// `/api/observability/alerts` (DESIGN §5, seed 5.2): rules (list, create, update, delete)
/// and instances (list, one with its notification attempts, acknowledge, resolve). JSON;
/// refusals are `{"error": "<field>: <problem>"}` with 400, 404, 409, 422, 429 or 503. Destinations in
/// `notification_config` are secrets: answers say which keys are set, never the values.
public struct AlertsAPI: Sendable {
    let database: AlertDatabase
    let logger: Logger
    let now: @Sendable () -> Date
    let customSQLTimeout: Duration
    let egress: EgressPolicy

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
        let rows = try await store { try await database.rules() }
        return .json(["rules": rows.map(Self.ruleJSON)])
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
        let id = try await store { try await database.insert(rule, createdBy: createdBy) }
        guard let row = try await store({ try await database.rule(id: id) }) else { throw APIFailure.storeUnavailable }
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
        guard let row = try await store({ try await database.rule(id: id) }), let existing = AlertRule(row: row) else {
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
        guard try await store({ try await database.update(rule) }), let updated = try await store({ try await database.rule(id: id) }) else {
            throw APIFailure(.notFound, "alert rule not found")
        }
        return .json(["message": "Rule updated", "rule": Self.ruleJSON(updated)])
    }

    func deleteRule(id: String) async throws(APIFailure) -> Response {
        guard try await store({ try await database.deleteRule(id: id) }) else { throw APIFailure(.notFound, "alert rule not found") }
        return .json(["message": "Rule deleted", "id": id])
    }

    /// `custom_sql` compiled (not run) by the store itself: one read-only statement, one
    /// column, reading only what rules may read.
    private func checkCustomSQL(_ rule: AlertRule) async throws(APIFailure) {
        guard rule.metricType == .customSQL, let sql = rule.customSQL else { return }
        do {
            try await database.checkCustomSQL(sql)
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
        let rows = try await store { try await database.instances(status: status, ruleID: ruleID, since: since, limit: limit) }
        return .json(["instances": rows.map(Self.rowJSON), "period_hours": hours])
    }

    func instance(id: String) async throws(APIFailure) -> Response {
        guard let row = try await store({ try await database.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        let notifications = try await store { try await database.notifications(instanceID: id) }
        var object = Self.rowJSON(row)
        object["notifications"] = notifications.map(Self.rowJSON)
        return .json(["instance": object])
    }

    /// Who acknowledges: `{"user": "..."}` (or `acknowledged_by`/`user_email`) in the body, or
    /// the seed's `?user_email=`.
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
        guard try await store({ try await database.instance(id: id) }) != nil else { throw APIFailure(.notFound, "alert instance not found") }
        guard try await store({ try await database.acknowledgeInstance(id: id, by: user, at: now()) }) else {
            throw APIFailure(.conflict, "status: only a pending or firing alert can be acknowledged")
        }
        guard let row = try await store({ try await database.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        return .json(["message": "Alert acknowledged", "instance": Self.rowJSON(row)])
    }

    /// Resolves by hand (no notification is sent; the rule's cooldown starts).
    func resolve(id: String) async throws(APIFailure) -> Response {
        guard try await store({ try await database.instance(id: id) }) != nil else { throw APIFailure(.notFound, "alert instance not found") }
        guard try await store({ try await database.resolveInstance(id: id, at: now()) }) else {
            throw APIFailure(.conflict, "status: the alert is already resolved")
        }
        guard let row = try await store({ try await database.instance(id: id) }) else { throw APIFailure(.notFound, "alert instance not found") }
        return .json(["message": "Alert resolved", "instance": Self.rowJSON(row)])
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

    static let jsonColumns: Set<String> = ["notification_channels", "labels"]

    /// A rule for answers: `notification_config` reduced to the keys that are set.
    static func ruleJSON(_ row: ResultRow) -> [String: Any] {
        var object = rowJSON(row)
        let overrides = row["notification_config"].text.flatMap { try? JSONDecoder().decode(NotificationOverrides.self, from: Data($0.utf8)) }
        object["notification_config"] = (overrides?.setKeys ?? []).reduce(into: [String: Any]()) { $0[$1] = "(set)" }
        switch row["enabled"] {
        case .int(let number): object["enabled"] = number != 0
        default: break
        }
        return object
    }

    static func rowJSON(_ row: ResultRow) -> [String: Any] {
        var object: [String: Any] = [:]
        for (column, value) in zip(row.columns, row.values) where column != "notification_config" {
            switch value {
            case .null: object[column] = NSNull()
            case .int(let number) where column == "success": object[column] = number != 0
            case .int(let number): object[column] = number
            case .double(let number): object[column] = number.isFinite ? number : NSNull()
            case .bool(let flag): object[column] = flag
            case .text(let text) where jsonColumns.contains(column):
                object[column] = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) ?? text
            case .text(let text): object[column] = text
            }
        }
        return object
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
