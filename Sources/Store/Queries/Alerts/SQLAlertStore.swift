import Foundation

/// `AlertStore` for either dialect: statements on `alert_rules`, `alert_instances` and
/// `notifications_sent`, run by `run` (the store's connection for them), and the evaluator
/// lock (`nil`: this process is the only evaluator).
struct SQLAlertStore: AlertStore {
    let dialect: SQLDialect
    let run: @Sendable (ReadQuery) async throws -> [ResultRow]
    let evaluatorLock: PostgresEvaluatorLock?

    static let ruleColumns = """
        id, name, description, metric_type, condition, threshold, window_minutes, evaluation_interval_seconds, \
        custom_sql, severity, notification_channels, cooldown_minutes, enabled, service_name, operation_name, \
        for_minutes, repeat_interval_minutes, notification_config, metric_name, metric_aggregation, metric_attributes, last_evaluated_at, last_triggered_at, last_value, \
        last_error, created_at, created_by, updated_at
        """

    static let writableColumns = """
        name, description, metric_type, condition, threshold, window_minutes, evaluation_interval_seconds, custom_sql, \
        severity, notification_channels, cooldown_minutes, enabled, service_name, operation_name, for_minutes, \
        repeat_interval_minutes, notification_config, metric_name, metric_aggregation, metric_attributes
        """

    static let instanceColumns = """
        ai.id, ai.rule_id, ar.name AS rule_name, ar.severity, ai.triggered_at, ai.resolved_at, ai.status, \
        ai.acknowledged_by, ai.acknowledged_at, ai.metric_value, ai.threshold_value, ai.message, ai.fingerprint, \
        ai.labels, ai.pending_since, ai.fired_at, ai.last_notified_at
        """

    // MARK: rules

    func rules(enabledOnly: Bool) async throws(StoreError) -> [AlertRuleRecord] {
        let filter = enabledOnly ? "WHERE enabled = \(literal(true))" : ""
        let rows = try await statement(ReadQuery(sql: "SELECT \(Self.ruleColumns) FROM enterprise.alert_rules \(filter) ORDER BY created_at DESC, name"))
        return try rows.map(Self.rule)
    }

    func rule(id: String) async throws(StoreError) -> AlertRuleRecord? {
        var sql = SQLBuilder(dialect)
        let text = "SELECT \(Self.ruleColumns) FROM enterprise.alert_rules WHERE \(idEquals("id", sql.bind(id)))"
        return try await statement(sql.query(text)).first.map(Self.rule)
    }

    func insertRule(_ rule: AlertRuleDefinition, createdBy: String?) async throws(StoreError) -> String {
        var sql = SQLBuilder(dialect)
        let values = ruleValues(&sql, rule)
        let by = sql.bind(createdBy.map(SQLValue.text) ?? .null)
        let text = """
            INSERT INTO enterprise.alert_rules (\(Self.writableColumns), created_by)
            VALUES (\(values), \(by)) RETURNING id
            """
        return try await returnedID(sql.query(text), operation: "insert rule")
    }

    func updateRule(id: String, _ rule: AlertRuleDefinition, at time: Date) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(dialect)
        let values = ruleValues(&sql, rule)
        let text = """
            UPDATE enterprise.alert_rules SET (\(Self.writableColumns), updated_at) = (\(values), \(sql.bindTime(unixNano: time.unixNano)))
            WHERE \(idEquals("id", sql.bind(id))) RETURNING id
            """
        return try await !statement(sql.query(text)).isEmpty
    }

    func deleteRule(id: String) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(dialect)
        let text = "DELETE FROM enterprise.alert_rules WHERE \(idEquals("id", sql.bind(id))) RETURNING id"
        return try await !statement(sql.query(text)).isEmpty
    }

    private func ruleValues(_ sql: inout SQLBuilder, _ rule: AlertRuleDefinition) -> String {
        [
            sql.bind(rule.name), sql.bind(rule.description.map(SQLValue.text) ?? .null), sql.bind(rule.metricType),
            sql.bind(rule.condition), sql.bind(rule.threshold), sql.bind(Int64(rule.windowMinutes)),
            sql.bind(Int64(rule.evaluationIntervalSeconds)), sql.bind(rule.customSQL.map(SQLValue.text) ?? .null),
            sql.bind(rule.severity), json(sql.bind(rule.notificationChannelsJSON)), sql.bind(Int64(rule.cooldownMinutes)),
            sql.bind(.bool(rule.enabled)), sql.bind(rule.serviceName.map(SQLValue.text) ?? .null),
            sql.bind(rule.operationName.map(SQLValue.text) ?? .null), sql.bind(Int64(rule.forMinutes)),
            sql.bind(Int64(rule.repeatIntervalMinutes)), json(sql.bind(rule.notificationConfigJSON)),
            sql.bind(rule.metricName.map(SQLValue.text) ?? .null), sql.bind(rule.metricAggregation.map(SQLValue.text) ?? .null),
            json(sql.bind(rule.metricAttributesJSON)),
        ].joined(separator: ", ")
    }

    func recordEvaluation(ruleID: String, at time: Date, value: Double?, error: String?, triggered: Bool) async throws(StoreError) {
        var sql = SQLBuilder(dialect)
        let at = sql.bindTime(unixNano: time.unixNano)
        let valueText = sql.bind(value.map(SQLValue.double) ?? .null)
        let errorText = sql.bind(error.map(SQLValue.text) ?? .null)
        let triggeredText = triggered ? ", last_triggered_at = \(at)" : ""
        let text = """
            UPDATE enterprise.alert_rules SET last_evaluated_at = \(at), last_value = \(valueText), last_error = \(errorText)\(triggeredText)
            WHERE \(idEquals("id", sql.bind(ruleID)))
            """
        _ = try await statement(sql.query(text))
    }

    // MARK: instances

    /// By rule, not fingerprint: a rule has one alert, and an edit that changes its labels must
    /// not orphan an open instance.
    func latestInstance(ruleID: String) async throws(StoreError) -> AlertInstanceState? {
        var sql = SQLBuilder(dialect)
        let text = """
            SELECT id, rule_id, status, triggered_at, resolved_at, pending_since, fired_at, last_notified_at, metric_value
            FROM enterprise.alert_instances WHERE rule_id = \(uuid(sql.bind(ruleID)))
            ORDER BY triggered_at DESC LIMIT 1
            """
        guard let row = try await statement(sql.query(text)).first else { return nil }
        func date(_ column: String) throws(StoreError) -> Date? { try row.text(column).flatMap(Timestamp.date) }
        return AlertInstanceState(
            id: try Self.required(row, "id"), ruleID: try Self.required(row, "rule_id"), status: try row.text("status"),
            triggeredAt: try date("triggered_at"), pendingSince: try date("pending_since"), firedAt: try date("fired_at"),
            lastNotifiedAt: try date("last_notified_at"), resolvedAt: try date("resolved_at"), metricValue: try row.double("metric_value"))
    }

    func openInstance(_ instance: NewAlertInstance) async throws(StoreError) -> String {
        var sql = SQLBuilder(dialect)
        let at = sql.bindTime(unixNano: instance.at.unixNano)
        let status = sql.bind(instance.firing ? "firing" : "pending")
        let fired = instance.firing ? at : "NULL"
        let text = """
            INSERT INTO enterprise.alert_instances
                (rule_id, triggered_at, status, metric_value, threshold_value, message, fingerprint, labels, pending_since, fired_at, last_notified_at)
            VALUES (\(uuid(sql.bind(instance.ruleID))), \(at), \(status), \(sql.bind(instance.metricValue)), \(sql.bind(instance.thresholdValue)),
                    \(sql.bind(instance.message)), \(sql.bind(instance.fingerprint)), \(json(sql.bind(instance.labelsJSON))), \(at), \(fired), \(fired))
            RETURNING id
            """
        return try await returnedID(sql.query(text), operation: "open alert")
    }

    func promoteInstance(id: String, value: Double, message: String, at time: Date) async throws(StoreError) {
        var sql = SQLBuilder(dialect)
        let at = sql.bindTime(unixNano: time.unixNano)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'firing', fired_at = \(at), last_notified_at = \(at),
                metric_value = \(sql.bind(value)), message = \(sql.bind(message))
            WHERE \(idEquals("id", sql.bind(id)))
            """
        _ = try await statement(sql.query(text))
    }

    func deleteInstance(id: String) async throws(StoreError) {
        var sql = SQLBuilder(dialect)
        let text = "DELETE FROM enterprise.alert_instances WHERE \(idEquals("id", sql.bind(id)))"
        _ = try await statement(sql.query(text))
    }

    func resolveInstance(id: String, at time: Date) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(dialect)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'resolved', resolved_at = \(sql.bindTime(unixNano: time.unixNano))
            WHERE \(idEquals("id", sql.bind(id))) AND status IN ('pending', 'firing', 'acknowledged') RETURNING id
            """
        return try await !statement(sql.query(text)).isEmpty
    }

    func markNotified(id: String, at time: Date) async throws(StoreError) {
        var sql = SQLBuilder(dialect)
        let text = "UPDATE enterprise.alert_instances SET last_notified_at = \(sql.bindTime(unixNano: time.unixNano)) WHERE \(idEquals("id", sql.bind(id)))"
        _ = try await statement(sql.query(text))
    }

    func acknowledgeInstance(id: String, by user: String, at time: Date) async throws(StoreError) -> Bool {
        var sql = SQLBuilder(dialect)
        let text = """
            UPDATE enterprise.alert_instances SET status = 'acknowledged', acknowledged_by = \(sql.bind(user)),
                acknowledged_at = \(sql.bindTime(unixNano: time.unixNano))
            WHERE \(idEquals("id", sql.bind(id))) AND status IN ('pending', 'firing') RETURNING id
            """
        return try await !statement(sql.query(text)).isEmpty
    }

    func instance(id: String) async throws(StoreError) -> AlertInstanceRecord? {
        var sql = SQLBuilder(dialect)
        let text = """
            SELECT \(Self.instanceColumns) FROM enterprise.alert_instances ai JOIN enterprise.alert_rules ar ON ai.rule_id = ar.id
            WHERE \(idEquals("ai.id", sql.bind(id)))
            """
        return try await statement(sql.query(text)).first.map(Self.instance)
    }

    func instances(_ filter: AlertInstanceFilter) async throws(StoreError) -> [ListedAlertInstance] {
        var sql = SQLBuilder(dialect)
        var conditions = ["ai.triggered_at > \(sql.bindTime(unixNano: filter.since.unixNano))"]
        if let status = filter.status { conditions.append("ai.status = \(sql.bind(status))") }
        if let ruleID = filter.ruleID { conditions.append(idEquals("ai.rule_id", sql.bind(ruleID))) }
        let text = """
            SELECT \(Self.instanceColumns),
                (SELECT count(*) FROM enterprise.notifications_sent n WHERE n.instance_id = ai.id) AS notification_attempts,
                (SELECT count(*) FROM enterprise.notifications_sent n WHERE n.instance_id = ai.id AND n.success = \(literal(true))) AS notifications_delivered
            FROM enterprise.alert_instances ai JOIN enterprise.alert_rules ar ON ai.rule_id = ar.id
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY ai.triggered_at DESC LIMIT \(sql.bind(Int64(filter.limit)))
            """
        return try await statement(sql.query(text)).map { row throws(StoreError) in
            ListedAlertInstance(instance: try Self.instance(row), notificationAttempts: try row.int("notification_attempts") ?? 0,
                                notificationsDelivered: try row.int("notifications_delivered") ?? 0)
        }
    }

    // MARK: notification attempts

    func recordNotificationAttempt(_ attempt: NewNotificationAttempt) async throws(StoreError) {
        var sql = SQLBuilder(dialect)
        let values = [
            uuid(sql.bind(attempt.instanceID)), uuid(sql.bind(attempt.ruleID)), sql.bind(attempt.channel), sql.bind(attempt.kind),
            sql.bind(Int64(attempt.attempt)), sql.bindTime(unixNano: attempt.at.unixNano), sql.bind(.bool(attempt.success)),
            sql.bind(attempt.statusCode.map { SQLValue.int(Int64($0)) } ?? .null), sql.bind(attempt.error.map(SQLValue.text) ?? .null),
        ].joined(separator: ", ")
        let text = """
            INSERT INTO enterprise.notifications_sent (instance_id, rule_id, channel, kind, attempt, sent_at, success, status_code, error)
            VALUES (\(values))
            """
        _ = try await statement(sql.query(text))
    }

    func notificationAttempts(instanceID: String) async throws(StoreError) -> [NotificationAttemptRecord] {
        var sql = SQLBuilder(dialect)
        let text = """
            SELECT channel, kind, attempt, sent_at, success, status_code, error FROM enterprise.notifications_sent
            WHERE \(idEquals("instance_id", sql.bind(instanceID))) ORDER BY id
            """
        return try await statement(sql.query(text)).map { row throws(StoreError) in
            NotificationAttemptRecord(
                channel: try Self.required(row, "channel"), kind: try Self.required(row, "kind"), attempt: try row.int("attempt") ?? 0,
                sentAt: try Self.required(row, "sent_at"), success: try row.bool("success") ?? false,
                statusCode: try row.int("status_code"), error: try row.text("error"))
        }
    }

    // MARK: leadership

    func acquireEvaluatorRole() async -> Bool {
        guard let evaluatorLock else { return true }
        return await evaluatorLock.acquire()
    }

    func releaseEvaluatorRole() async {
        await evaluatorLock?.release()
    }

    // MARK: statements

    /// Runs one statement (a read, or a write with or without RETURNING).
    private func statement(_ query: ReadQuery) async throws(StoreError) -> [ResultRow] {
        try await storeRows(query, through: run)
    }

    private func returnedID(_ query: ReadQuery, operation: String) async throws(StoreError) -> String {
        guard let id = try await statement(query).first?.text("id") else {
            throw StoreError(operation: operation, reason: "no id returned")
        }
        return id
    }

    /// `column = placeholder` for an id (a UUID on PostgreSQL, compared as text so a malformed
    /// id simply matches nothing).
    private func idEquals(_ column: String, _ placeholder: String) -> String {
        dialect == .postgres ? "\(column)::text = \(placeholder)" : "\(column) = \(placeholder)"
    }

    private func uuid(_ placeholder: String) -> String { dialect == .postgres ? "\(placeholder)::uuid" : placeholder }
    private func json(_ placeholder: String) -> String { dialect == .postgres ? "\(placeholder)::jsonb" : placeholder }
    private func literal(_ flag: Bool) -> String { dialect == .postgres ? (flag ? "TRUE" : "FALSE") : (flag ? "1" : "0") }

    // MARK: rows

    private static func rule(_ row: ResultRow) throws(StoreError) -> AlertRuleRecord {
        AlertRuleRecord(
            id: try required(row, "id"), name: try required(row, "name"), description: try row.text("description"),
            metricType: try required(row, "metric_type"), condition: try required(row, "condition"),
            threshold: try required(row.double("threshold"), "threshold"), windowMinutes: try row.int("window_minutes"),
            evaluationIntervalSeconds: try row.int("evaluation_interval_seconds"), customSQL: try row.text("custom_sql"),
            severity: try row.text("severity"), notificationChannelsJSON: try row.text("notification_channels"),
            cooldownMinutes: try row.int("cooldown_minutes"), enabled: try row.bool("enabled"), serviceName: try row.text("service_name"),
            operationName: try row.text("operation_name"), forMinutes: try row.int("for_minutes") ?? 0,
            repeatIntervalMinutes: try row.int("repeat_interval_minutes") ?? 0,
            notificationConfigJSON: try row.text("notification_config") ?? "{}", metricName: try row.text("metric_name"),
            metricAggregation: try row.text("metric_aggregation"), metricAttributesJSON: try row.text("metric_attributes") ?? "{}",
            lastEvaluatedAt: try row.text("last_evaluated_at"),
            lastTriggeredAt: try row.text("last_triggered_at"), lastValue: try row.double("last_value"),
            lastError: try row.text("last_error"), createdAt: try row.text("created_at"), createdBy: try row.text("created_by"),
            updatedAt: try row.text("updated_at"))
    }

    private static func instance(_ row: ResultRow) throws(StoreError) -> AlertInstanceRecord {
        AlertInstanceRecord(
            id: try required(row, "id"), ruleID: try required(row, "rule_id"), ruleName: try required(row, "rule_name"),
            severity: try row.text("severity"), triggeredAt: try required(row, "triggered_at"), resolvedAt: try row.text("resolved_at"),
            status: try row.text("status"), acknowledgedBy: try row.text("acknowledged_by"), acknowledgedAt: try row.text("acknowledged_at"),
            metricValue: try row.double("metric_value"), thresholdValue: try row.double("threshold_value"), message: try row.text("message"),
            fingerprint: try row.text("fingerprint"), labelsJSON: try row.text("labels") ?? "{}",
            pendingSince: try row.text("pending_since"), firedAt: try row.text("fired_at"), lastNotifiedAt: try row.text("last_notified_at"))
    }

    /// The text of a column that is never NULL.
    private static func required(_ row: ResultRow, _ column: String) throws(StoreError) -> String {
        try required(row.text(column), column)
    }

    private static func required<T>(_ value: T?, _ column: String) throws(StoreError) -> T {
        guard let value else { throw StoreError(operation: "read", reason: "\(column) is NULL") }
        return value
    }
}

/// The rows of `query` run by `run`; any error other than a `StoreError` becomes one (its
/// text for logs only).
func storeRows(_ query: ReadQuery, through run: @Sendable (ReadQuery) async throws -> [ResultRow]) async throws(StoreError) -> [ResultRow] {
    do {
        return try await run(query)
    } catch let error as StoreError {
        throw error
    } catch {
        throw StoreError(operation: "statement", reason: "\(error)")
    }
}
