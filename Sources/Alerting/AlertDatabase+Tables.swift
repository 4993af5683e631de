import Foundation
import Store

/// An alert instance as stored.
public struct StoredInstance: Sendable, Equatable {
    public var id: String
    public var ruleID: String
    public var state: AlertState
    public var triggeredAt: Date
    public var metricValue: Double?
}

/// Statements on `alert_rules`, `alert_instances` and `notifications_sent`, for either dialect.
extension AlertDatabase {
    static let ruleColumns = """
        id, name, description, metric_type, condition, threshold, window_minutes, evaluation_interval_seconds, \
        custom_sql, severity, notification_channels, cooldown_minutes, enabled, service_name, operation_name, \
        for_minutes, repeat_interval_minutes, notification_config, last_evaluated_at, last_triggered_at, last_value, \
        last_error, created_at, created_by, updated_at
        """

    /// `column = placeholder` for an id (a UUID on PostgreSQL, compared as text so a malformed
    /// id simply matches nothing).
    func idEquals(_ column: String, _ placeholder: String) -> String {
        dialect == .postgres ? "\(column)::text = \(placeholder)" : "\(column) = \(placeholder)"
    }

    func uuid(_ placeholder: String) -> String { dialect == .postgres ? "\(placeholder)::uuid" : placeholder }
    func json(_ placeholder: String) -> String { dialect == .postgres ? "\(placeholder)::jsonb" : placeholder }
    func time(_ sql: inout SQLBuilder, _ date: Date) -> String { sql.bindTime(unixNano: date.unixNano) }

    // MARK: rules

    public func rules(enabledOnly: Bool = false) async throws -> [ResultRow] {
        let filter = enabledOnly ? (dialect == .postgres ? "WHERE enabled = TRUE" : "WHERE enabled = 1") : ""
        return try await run(ReadQuery(sql: "SELECT \(Self.ruleColumns) FROM enterprise.alert_rules \(filter) ORDER BY created_at DESC, name"))
    }

    public func rule(id: String) async throws -> ResultRow? {
        var sql = builder()
        let text = "SELECT \(Self.ruleColumns) FROM enterprise.alert_rules WHERE \(idEquals("id", sql.bind(id)))"
        return try await run(sql.query(text)).first
    }

    /// Inserts `rule`; returns its new id.
    public func insert(_ rule: AlertRule, createdBy: String?) async throws -> String {
        var sql = builder()
        let values = ruleValues(&sql, rule)
        let by = sql.bind(createdBy.map(SQLValue.text) ?? .null)
        let text = """
            INSERT INTO enterprise.alert_rules (\(Self.writableColumns), created_by)
            VALUES (\(values), \(by)) RETURNING id
            """
        guard let id = try await run(sql.query(text)).first?["id"].text else {
            throw StoreError(operation: "insert rule", reason: "no id returned")
        }
        return id
    }

    /// Replaces the rule's definition; `false` when there is no such rule.
    public func update(_ rule: AlertRule) async throws -> Bool {
        var sql = builder()
        let values = ruleValues(&sql, rule)
        let now = time(&sql, Date())
        let id = sql.bind(rule.id)
        let text = """
            UPDATE enterprise.alert_rules SET (\(Self.writableColumns), updated_at) = (\(values), \(now))
            WHERE \(idEquals("id", id)) RETURNING id
            """
        return try await !run(sql.query(text)).isEmpty
    }

    public func deleteRule(id: String) async throws -> Bool {
        var sql = builder()
        let text = "DELETE FROM enterprise.alert_rules WHERE \(idEquals("id", sql.bind(id))) RETURNING id"
        return try await !run(sql.query(text)).isEmpty
    }

    static let writableColumns = """
        name, description, metric_type, condition, threshold, window_minutes, evaluation_interval_seconds, custom_sql, \
        severity, notification_channels, cooldown_minutes, enabled, service_name, operation_name, for_minutes, \
        repeat_interval_minutes, notification_config
        """

    private func ruleValues(_ sql: inout SQLBuilder, _ rule: AlertRule) -> String {
        let channels = "[" + rule.channels.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
        return [
            sql.bind(rule.name), sql.bind(rule.description.map(SQLValue.text) ?? .null), sql.bind(rule.metricType.rawValue),
            sql.bind(rule.condition.rawValue), sql.bind(rule.threshold), sql.bind(Int64(rule.windowMinutes)),
            sql.bind(Int64(rule.evaluationIntervalSeconds)), sql.bind(rule.customSQL.map(SQLValue.text) ?? .null),
            sql.bind(rule.severity.rawValue), json(sql.bind(channels)), sql.bind(Int64(rule.cooldownMinutes)),
            sql.bind(.bool(rule.enabled)), sql.bind(rule.serviceName.map(SQLValue.text) ?? .null),
            sql.bind(rule.operationName.map(SQLValue.text) ?? .null), sql.bind(Int64(rule.forMinutes)),
            sql.bind(Int64(rule.repeatIntervalMinutes)), json(sql.bind(rule.overrides.json)),
        ].joined(separator: ", ")
    }

    /// Records one evaluation on the rule.
    func recordEvaluation(ruleID: String, at now: Date, value: Double?, error: String?, triggered: Bool) async throws {
        var sql = builder()
        let at = time(&sql, now)
        let valueText = sql.bind(value.map(SQLValue.double) ?? .null)
        let errorText = sql.bind(error.map(SQLValue.text) ?? .null)
        // Each placeholder once: SQLite's `?` are positional.
        let triggeredText = triggered ? ", last_triggered_at = \(time(&sql, now))" : ""
        let id = sql.bind(ruleID)
        let text = """
            UPDATE enterprise.alert_rules SET last_evaluated_at = \(at), last_value = \(valueText), last_error = \(errorText)\(triggeredText)
            WHERE \(idEquals("id", id))
            """
        _ = try await run(sql.query(text))
    }

    // MARK: instances

    /// The newest instance of a rule's alert, if any. By rule, not fingerprint: a rule has one
    /// alert, and an edit that changes its labels must not orphan an open instance.
    func latestInstance(ruleID: String) async throws -> StoredInstance? {
        var sql = builder()
        let text = """
            SELECT id, rule_id, status, triggered_at, resolved_at, pending_since, fired_at, last_notified_at, metric_value
            FROM enterprise.alert_instances WHERE rule_id = \(uuid(sql.bind(ruleID)))
            ORDER BY triggered_at DESC LIMIT 1
            """
        guard let row = try await run(sql.query(text)).first, let id = row["id"].text else { return nil }
        let status = AlertState.Status(rawValue: row["status"].text ?? "") ?? .resolved
        let state = AlertState(status: status, pendingSince: Self.date(row["pending_since"]), firedAt: Self.date(row["fired_at"]),
                               lastNotifiedAt: Self.date(row["last_notified_at"]), resolvedAt: Self.date(row["resolved_at"]))
        return StoredInstance(id: id, ruleID: row["rule_id"].text ?? "", state: state,
                              triggeredAt: Self.date(row["triggered_at"]) ?? Date(), metricValue: row["metric_value"].double)
    }

    /// Opens an instance for `rule` in `status` (pending or firing); returns its id.
    func openInstance(rule: AlertRule, status: AlertState.Status, value: Double, at now: Date) async throws -> String {
        var sql = builder()
        let ruleID = uuid(sql.bind(rule.id))
        let at = time(&sql, now)
        let statusText = sql.bind(status.rawValue)
        let valueText = sql.bind(value)
        let threshold = sql.bind(rule.threshold)
        let message = sql.bind(rule.message(value: value))
        let fingerprint = sql.bind(rule.fingerprint)
        let labels = json(sql.bind(Self.jsonText(rule.labels)))
        let pendingSince = time(&sql, now)
        let fired = status == .firing ? time(&sql, now) : "NULL"
        let notified = status == .firing ? time(&sql, now) : "NULL"
        let text = """
            INSERT INTO enterprise.alert_instances
                (rule_id, triggered_at, status, metric_value, threshold_value, message, fingerprint, labels, pending_since, fired_at, last_notified_at)
            VALUES (\(ruleID), \(at), \(statusText), \(valueText), \(threshold), \(message), \(fingerprint), \(labels), \(pendingSince), \(fired), \(notified))
            RETURNING id
            """
        guard let id = try await run(sql.query(text)).first?["id"].text else {
            throw StoreError(operation: "open alert", reason: "no id returned")
        }
        return id
    }

    func promoteInstance(id: String, value: Double, message: String, at now: Date) async throws {
        var sql = builder()
        let at = time(&sql, now)
        let notified = time(&sql, now)
        let valueText = sql.bind(value)
        let messageText = sql.bind(message)
        let idText = sql.bind(id)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'firing', fired_at = \(at), last_notified_at = \(notified),
                metric_value = \(valueText), message = \(messageText)
            WHERE \(idEquals("id", idText))
            """
        _ = try await run(sql.query(text))
    }

    func deleteInstance(id: String) async throws {
        var sql = builder()
        let text = "DELETE FROM enterprise.alert_instances WHERE \(idEquals("id", sql.bind(id)))"
        _ = try await run(sql.query(text))
    }

    /// Resolves an open instance; `false` when it was not open (already resolved, or unknown).
    @discardableResult
    func resolveInstance(id: String, at now: Date) async throws -> Bool {
        var sql = builder()
        let at = time(&sql, now)
        let idText = sql.bind(id)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'resolved', resolved_at = \(at)
            WHERE \(idEquals("id", idText)) AND status IN ('pending', 'firing', 'acknowledged') RETURNING id
            """
        return try await !run(sql.query(text)).isEmpty
    }

    func markNotified(id: String, at now: Date) async throws {
        var sql = builder()
        let at = time(&sql, now)
        let idText = sql.bind(id)
        _ = try await run(sql.query("UPDATE enterprise.alert_instances SET last_notified_at = \(at) WHERE \(idEquals("id", idText))"))
    }

    /// Acknowledges an open (pending or firing) instance; `false` when not in such a state.
    func acknowledgeInstance(id: String, by user: String, at now: Date) async throws -> Bool {
        var sql = builder()
        let who = sql.bind(user)
        let at = time(&sql, now)
        let idText = sql.bind(id)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'acknowledged', acknowledged_by = \(who), acknowledged_at = \(at)
            WHERE \(idEquals("id", idText)) AND status IN ('pending', 'firing') RETURNING id
            """
        return try await !run(sql.query(text)).isEmpty
    }

    func instance(id: String) async throws -> ResultRow? {
        var sql = builder()
        let text = "SELECT \(Self.instanceColumns) FROM enterprise.alert_instances ai JOIN enterprise.alert_rules ar ON ai.rule_id = ar.id WHERE \(idEquals("ai.id", sql.bind(id)))"
        return try await run(sql.query(text)).first
    }

    static let instanceColumns = """
        ai.id, ai.rule_id, ar.name AS rule_name, ar.severity, ai.triggered_at, ai.resolved_at, ai.status, \
        ai.acknowledged_by, ai.acknowledged_at, ai.metric_value, ai.threshold_value, ai.message, ai.fingerprint, \
        ai.labels, ai.pending_since, ai.fired_at, ai.last_notified_at
        """

    func instances(status: String?, ruleID: String?, since: Date, limit: Int) async throws -> [ResultRow] {
        var sql = builder()
        var conditions = ["ai.triggered_at > \(time(&sql, since))"]
        if let status { conditions.append("ai.status = \(sql.bind(status))") }
        if let ruleID { conditions.append(idEquals("ai.rule_id", sql.bind(ruleID))) }
        let limitText = sql.bind(Int64(limit))
        let text = """
            SELECT \(Self.instanceColumns),
                (SELECT count(*) FROM enterprise.notifications_sent n WHERE n.instance_id = ai.id) AS notification_attempts,
                (SELECT count(*) FROM enterprise.notifications_sent n WHERE n.instance_id = ai.id AND n.success = \(dialect == .postgres ? "TRUE" : "1")) AS notifications_delivered
            FROM enterprise.alert_instances ai JOIN enterprise.alert_rules ar ON ai.rule_id = ar.id
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY ai.triggered_at DESC LIMIT \(limitText)
            """
        return try await run(sql.query(text))
    }

    // MARK: notifications_sent

    func recordAttempt(instanceID: String, ruleID: String, channel: NotificationChannel, kind: AlertNotification.Kind,
                       attempt: Int, at now: Date, success: Bool, statusCode: Int?, error: String?) async throws {
        var sql = builder()
        let values = [
            uuid(sql.bind(instanceID)), uuid(sql.bind(ruleID)), sql.bind(channel.rawValue), sql.bind(kind.rawValue),
            sql.bind(Int64(attempt)), time(&sql, now), sql.bind(.bool(success)),
            sql.bind(statusCode.map { SQLValue.int(Int64($0)) } ?? .null), sql.bind(error.map(SQLValue.text) ?? .null),
        ].joined(separator: ", ")
        let text = """
            INSERT INTO enterprise.notifications_sent (instance_id, rule_id, channel, kind, attempt, sent_at, success, status_code, error)
            VALUES (\(values))
            """
        _ = try await run(sql.query(text))
    }

    func notifications(instanceID: String) async throws -> [ResultRow] {
        var sql = builder()
        let text = """
            SELECT channel, kind, attempt, sent_at, success, status_code, error FROM enterprise.notifications_sent
            WHERE \(idEquals("instance_id", sql.bind(instanceID))) ORDER BY id
            """
        return try await run(sql.query(text))
    }

    // MARK: values

    static func jsonText(_ object: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A stored time (ISO 8601 text from either store) as a `Date`.
    static func date(_ value: SQLValue) -> Date? {
        guard let text = value.text else { return nil }
        return parseTime(text)
    }

    /// `2026-11-22T01:02:03[.fraction](Z|±hh[:mm])`, also with a space for `T`.
    static func parseTime(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let hours = number((index + 1)..<(index + 3)) ?? 0
            var minutes = 0
            if index + 3 < bytes.count { minutes = number((index + 4)..<(index + 6)) ?? number((index + 3)..<(index + 5)) ?? 0 }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

extension Date {
    var unixNano: Int64 { Int64((timeIntervalSince1970 * 1e9).rounded()) }
}
