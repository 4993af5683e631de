import Foundation
import Store
import StoreTestSupport
import Testing

/// `AlertStore` on both databases: rules, instances, notification attempts and the evaluator's
/// leadership, each method with known answers.
@Suite struct AlertStoreContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }

    /// A time as the store answers it: ISO 8601 UTC text with microseconds.
    static func text(_ date: Date) -> String { Timestamp.iso8601(unixNano: Int64(date.timeIntervalSince1970 * 1e6) * 1_000) }

    static func definition(_ name: String, enabled: Bool = true) -> AlertRuleDefinition {
        AlertRuleDefinition(
            name: name, description: "about \(name)", metricType: "error_count", condition: "gt", threshold: 2.5, windowMinutes: 7,
            evaluationIntervalSeconds: 30, customSQL: nil, severity: "critical", notificationChannelsJSON: #"["webhook","email"]"#,
            cooldownMinutes: 3, enabled: enabled, serviceName: "checkout", operationName: nil, forMinutes: 2, repeatIntervalMinutes: 9,
            notificationConfigJSON: #"{"webhook_url":"http://hooks.example/x"}"#)
    }

    static func json(_ text: String?) -> NSObject? {
        text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSObject }
    }

    @Test("rules: insert, read back every column, list, update, record evaluations, delete", arguments: StoreKind.available)
    func rules(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let alerts = store.queries.alerts
            let defaults = try await alerts.rules(enabledOnly: false)
            #expect(defaults.count == 5)

            let rule = Self.definition("Checkout errors")
            let id = try await alerts.insertRule(rule, createdBy: "ops@example.com")
            let stored = try #require(try await alerts.rule(id: id))
            #expect(stored.id == id)
            #expect(stored.name == rule.name && stored.description == rule.description)
            #expect(stored.metricType == "error_count" && stored.condition == "gt" && stored.threshold == 2.5)
            #expect(stored.windowMinutes == 7 && stored.evaluationIntervalSeconds == 30 && stored.cooldownMinutes == 3)
            #expect(stored.customSQL == nil && stored.severity == "critical" && stored.enabled == true)
            #expect(stored.serviceName == "checkout" && stored.operationName == nil)
            #expect(stored.forMinutes == 2 && stored.repeatIntervalMinutes == 9)
            #expect(Self.json(stored.notificationChannelsJSON) == Self.json(rule.notificationChannelsJSON))
            #expect(Self.json(stored.notificationConfigJSON) == Self.json(rule.notificationConfigJSON))
            #expect(stored.createdBy == "ops@example.com" && stored.createdAt != nil && stored.updatedAt != nil)
            #expect(stored.lastEvaluatedAt == nil && stored.lastTriggeredAt == nil && stored.lastValue == nil && stored.lastError == nil)
            #expect(stored.metricName == nil && stored.metricAggregation == nil && Self.json(stored.metricAttributesJSON) == Self.json("{}"))

            // Unknown and malformed ids match nothing.
            #expect(try await alerts.rule(id: "00000000-0000-4000-8000-000000000000") == nil)
            #expect(try await alerts.rule(id: "not-an-id") == nil)

            let disabled = try await alerts.insertRule(Self.definition("Disabled", enabled: false), createdBy: nil)
            let all = try await alerts.rules(enabledOnly: false)
            #expect(Set(all.map(\.id)) == Set(defaults.map(\.id) + [id, disabled]))
            #expect(all.map(\.id) == all.sorted { ($0.createdAt ?? "", $1.name) > ($1.createdAt ?? "", $0.name) }.map(\.id))
            let enabled = try await alerts.rules(enabledOnly: true)
            #expect(Set(enabled.map(\.id)) == Set(defaults.map(\.id) + [id]))
            #expect(try await alerts.rule(id: disabled)?.createdBy == nil)

            var changed = rule
            changed.name = "Checkout errors (strict)"
            changed.threshold = 0
            changed.customSQL = "SELECT 1"
            changed.notificationChannelsJSON = "[]"
            changed.notificationConfigJSON = "{}"
            changed.serviceName = nil
            changed.operationName = "POST /pay"
            changed.enabled = false
            changed.metricType = "metric"
            changed.metricName = "orders"
            changed.metricAggregation = "rate"
            changed.metricAttributesJSON = #"{"shop":"north"}"#
            #expect(try await alerts.updateRule(id: id, changed, at: Self.at(1)))
            let updated = try #require(try await alerts.rule(id: id))
            #expect(updated.name == changed.name && updated.threshold == 0 && updated.customSQL == "SELECT 1" && updated.enabled == false)
            #expect(updated.serviceName == nil && updated.operationName == "POST /pay")
            #expect(Self.json(updated.notificationChannelsJSON) == Self.json("[]"))
            #expect(updated.metricType == "metric" && updated.metricName == "orders" && updated.metricAggregation == "rate")
            #expect(Self.json(updated.metricAttributesJSON) == Self.json(#"{"shop":"north"}"#))
            #expect(updated.updatedAt == Self.text(Self.at(1)))
            #expect(updated.createdAt == stored.createdAt && updated.createdBy == "ops@example.com")
            #expect(try await alerts.updateRule(id: "00000000-0000-4000-8000-000000000000", changed, at: Self.at(1)) == false)

            try await alerts.recordEvaluation(ruleID: id, at: Self.at(2), value: 4.5, error: nil, triggered: true)
            var evaluated = try #require(try await alerts.rule(id: id))
            #expect(evaluated.lastEvaluatedAt == Self.text(Self.at(2)) && evaluated.lastTriggeredAt == Self.text(Self.at(2)))
            #expect(evaluated.lastValue == 4.5 && evaluated.lastError == nil)
            try await alerts.recordEvaluation(ruleID: id, at: Self.at(3), value: nil, error: "custom_sql: timed out after 5 s", triggered: false)
            evaluated = try #require(try await alerts.rule(id: id))
            #expect(evaluated.lastEvaluatedAt == Self.text(Self.at(3)) && evaluated.lastTriggeredAt == Self.text(Self.at(2)))
            #expect(evaluated.lastValue == nil && evaluated.lastError == "custom_sql: timed out after 5 s")

            #expect(try await alerts.deleteRule(id: id))
            #expect(try await alerts.deleteRule(id: id) == false)
            #expect(try await alerts.rule(id: id) == nil)
        }
    }

    @Test("instances: open, latest, promote, notify, acknowledge, resolve, delete, list; notification attempts", arguments: StoreKind.available)
    func instances(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            let alerts = store.queries.alerts
            let ruleID = try await alerts.insertRule(Self.definition("Errors"), createdBy: nil)
            let otherRule = try await alerts.insertRule(Self.definition("Other"), createdBy: nil)
            #expect(try await alerts.latestInstance(ruleID: ruleID) == nil)

            func open(_ rule: String, firing: Bool, at time: Date) async throws -> String {
                try await alerts.openInstance(NewAlertInstance(
                    ruleID: rule, firing: firing, metricValue: 7, thresholdValue: 2.5, message: "Errors: error_count is 7",
                    fingerprint: "00c0ffee00c0ffee", labelsJSON: #"{"alertname":"Errors","severity":"critical"}"#, at: time))
            }
            // Pending: its pending time set, nothing fired or notified yet.
            let first = try await open(ruleID, firing: false, at: Self.at(0))
            var latest = try #require(try await alerts.latestInstance(ruleID: ruleID))
            #expect(latest == AlertInstanceState(id: first, ruleID: ruleID, status: "pending", triggeredAt: Self.at(0), pendingSince: Self.at(0),
                                                 firedAt: nil, lastNotifiedAt: nil, resolvedAt: nil, metricValue: 7))
            try await alerts.promoteInstance(id: first, value: 8, message: "Errors: error_count is 8", at: Self.at(2))
            latest = try #require(try await alerts.latestInstance(ruleID: ruleID))
            #expect(latest.status == "firing" && latest.firedAt == Self.at(2) && latest.lastNotifiedAt == Self.at(2) && latest.metricValue == 8)
            try await alerts.markNotified(id: first, at: Self.at(7))
            #expect(try await alerts.latestInstance(ruleID: ruleID)?.lastNotifiedAt == Self.at(7))

            // Every column the API shows.
            let shown = try #require(try await alerts.instance(id: first))
            #expect(shown == AlertInstanceRecord(
                id: first, ruleID: ruleID, ruleName: "Errors", severity: "critical", triggeredAt: Self.text(Self.at(0)), resolvedAt: nil,
                status: "firing", acknowledgedBy: nil, acknowledgedAt: nil, metricValue: 8, thresholdValue: 2.5,
                message: "Errors: error_count is 8", fingerprint: "00c0ffee00c0ffee", labelsJSON: shown.labelsJSON,
                pendingSince: Self.text(Self.at(0)), firedAt: Self.text(Self.at(2)), lastNotifiedAt: Self.text(Self.at(7))))
            #expect(Self.json(shown.labelsJSON) == Self.json(#"{"alertname":"Errors","severity":"critical"}"#))
            #expect(try await alerts.instance(id: "not-an-id") == nil)

            #expect(try await alerts.acknowledgeInstance(id: first, by: "ops@example.com", at: Self.at(8)))
            let acknowledged = try #require(try await alerts.instance(id: first))
            #expect(acknowledged.status == "acknowledged" && acknowledged.acknowledgedBy == "ops@example.com")
            #expect(acknowledged.acknowledgedAt == Self.text(Self.at(8)))
            #expect(try await alerts.acknowledgeInstance(id: first, by: "again", at: Self.at(9)) == false)
            #expect(try await alerts.resolveInstance(id: first, at: Self.at(10)))
            #expect(try await alerts.resolveInstance(id: first, at: Self.at(11)) == false)
            #expect(try await alerts.acknowledgeInstance(id: first, by: "late", at: Self.at(12)) == false)
            latest = try #require(try await alerts.latestInstance(ruleID: ruleID))
            #expect(latest.status == "resolved" && latest.resolvedAt == Self.at(10))

            // Opened firing: fired and notified at once; the newest instance is the rule's latest.
            let second = try await open(ruleID, firing: true, at: Self.at(20))
            latest = try #require(try await alerts.latestInstance(ruleID: ruleID))
            #expect(latest.id == second && latest.status == "firing" && latest.firedAt == Self.at(20) && latest.lastNotifiedAt == Self.at(20))
            let cancelled = try await open(ruleID, firing: false, at: Self.at(30))
            #expect(try await alerts.latestInstance(ruleID: ruleID)?.id == cancelled)
            try await alerts.deleteInstance(id: cancelled)
            #expect(try await alerts.instance(id: cancelled) == nil)
            #expect(try await alerts.latestInstance(ruleID: ruleID)?.id == second)
            let other = try await open(otherRule, firing: false, at: Self.at(25))

            // Attempts, in the order recorded.
            for (attempt, success) in [(1, false), (2, true)] {
                try await alerts.recordNotificationAttempt(NewNotificationAttempt(
                    instanceID: second, ruleID: ruleID, channel: "webhook", kind: "firing", attempt: attempt, at: Self.at(20 + Double(attempt)),
                    success: success, statusCode: success ? 200 : 503, error: success ? nil : "webhook: HTTP 503"))
            }
            try await alerts.recordNotificationAttempt(NewNotificationAttempt(
                instanceID: second, ruleID: ruleID, channel: "email", kind: "firing", attempt: 1, at: Self.at(21), success: false,
                statusCode: nil, error: "email: not configured"))
            #expect(try await alerts.notificationAttempts(instanceID: second) == [
                NotificationAttemptRecord(channel: "webhook", kind: "firing", attempt: 1, sentAt: Self.text(Self.at(21)), success: false,
                                          statusCode: 503, error: "webhook: HTTP 503"),
                NotificationAttemptRecord(channel: "webhook", kind: "firing", attempt: 2, sentAt: Self.text(Self.at(22)), success: true,
                                          statusCode: 200, error: nil),
                NotificationAttemptRecord(channel: "email", kind: "firing", attempt: 1, sentAt: Self.text(Self.at(21)), success: false,
                                          statusCode: nil, error: "email: not configured"),
            ])
            #expect(try await alerts.notificationAttempts(instanceID: first) == [])

            // Lists: newest first, narrowed by time, status and rule, limited, attempts counted.
            let everything = try await alerts.instances(AlertInstanceFilter(since: Self.at(-1), limit: 50))
            #expect(everything.map(\.instance.id) == [other, second, first])
            #expect(everything.map(\.notificationAttempts) == [0, 3, 0])
            #expect(everything.map(\.notificationsDelivered) == [0, 1, 0])
            let secondShown = try await alerts.instance(id: second)
            #expect(everything[1].instance == secondShown)
            #expect(try await alerts.instances(AlertInstanceFilter(since: Self.at(0), limit: 50)).map(\.instance.id) == [other, second])
            #expect(try await alerts.instances(AlertInstanceFilter(since: Self.at(-1), status: "resolved", limit: 50)).map(\.instance.id) == [first])
            #expect(try await alerts.instances(AlertInstanceFilter(since: Self.at(-1), ruleID: ruleID, limit: 50)).map(\.instance.id) == [second, first])
            #expect(try await alerts.instances(AlertInstanceFilter(since: Self.at(-1), ruleID: "not-an-id", limit: 50)).isEmpty)
            #expect(try await alerts.instances(AlertInstanceFilter(since: Self.at(-1), limit: 1)).map(\.instance.id) == [other])

            // A deleted rule takes its instances and their attempts along.
            #expect(try await alerts.deleteRule(id: ruleID))
            #expect(try await alerts.instance(id: second) == nil)
            #expect(try await alerts.notificationAttempts(instanceID: second) == [])
            #expect(try await alerts.latestInstance(ruleID: ruleID) == nil)
        }
    }

    @Test("leadership: one evaluator per PostgreSQL database, taken over when released; always this process on SQLite",
          arguments: StoreKind.available)
    func leadership(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            let alerts = store.queries.alerts
            #expect(await alerts.acquireEvaluatorRole())
            #expect(await alerts.acquireEvaluatorRole())
            let second = try await database.openStore()
            let rival = second.queries.alerts
            #expect(await rival.acquireEvaluatorRole() == (kind == .sqlite))
            await alerts.releaseEvaluatorRole()
            #expect(await rival.acquireEvaluatorRole())
            #expect(await alerts.acquireEvaluatorRole() == (kind == .sqlite))
            await rival.releaseEvaluatorRole()
            await alerts.releaseEvaluatorRole()
            try await second.close()
        }
    }
}
