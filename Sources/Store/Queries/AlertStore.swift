import Foundation

/// Alert rules, their instances and notification attempts, and the evaluator's leadership:
/// what the alert engine and its API keep in the store (docs/alerting.md). Rules' own SQL
/// (`custom_sql`) runs elsewhere, through `RuleQueryRunner`.
///
/// Ids are the store's (UUID text); an id that is not one matches nothing. Times are written as
/// `Date`s and read back as the store's ISO 8601 UTC text (`AlertRuleRecord`), or as `Date`s
/// where the evaluator computes with them (`AlertInstanceState`). JSON columns are JSON text,
/// written and read as they are: their shape belongs to the alert engine.
public protocol AlertStore: Sendable {
    // MARK: rules

    /// Every rule, or only the enabled ones, newest first, then by name.
    func rules(enabledOnly: Bool) async throws(StoreError) -> [AlertRuleRecord]

    func rule(id: String) async throws(StoreError) -> AlertRuleRecord?

    /// Stores a new rule; returns its id.
    func insertRule(_ rule: AlertRuleDefinition, createdBy: String?) async throws(StoreError) -> String

    /// Replaces a rule's definition and sets its `updated_at`; `false` when there is no such rule.
    func updateRule(id: String, _ rule: AlertRuleDefinition, at time: Date) async throws(StoreError) -> Bool

    /// Deletes a rule with its instances and their notification attempts; `false` when there is no such rule.
    func deleteRule(id: String) async throws(StoreError) -> Bool

    /// Records one evaluation on the rule: its time, value and error (each `nil` clears the
    /// last one); `triggered` also sets `last_triggered_at`.
    func recordEvaluation(ruleID: String, at time: Date, value: Double?, error: String?, triggered: Bool) async throws(StoreError)

    // MARK: instances

    /// The newest instance of a rule's alert (by `triggered_at`), if any.
    func latestInstance(ruleID: String) async throws(StoreError) -> AlertInstanceState?

    /// Opens an instance, pending or firing; returns its id.
    func openInstance(_ instance: NewAlertInstance) async throws(StoreError) -> String

    /// A pending instance fires: status, firing and notification times, value and message.
    func promoteInstance(id: String, value: Double, message: String, at time: Date) async throws(StoreError)

    /// Deletes an instance (a pending one that was cancelled).
    func deleteInstance(id: String) async throws(StoreError)

    /// Resolves an open (pending, firing or acknowledged) instance; `false` when it was not open.
    func resolveInstance(id: String, at time: Date) async throws(StoreError) -> Bool

    /// Sets the instance's last notification time.
    func markNotified(id: String, at time: Date) async throws(StoreError)

    /// Acknowledges a pending or firing instance; `false` when it is in neither state.
    func acknowledgeInstance(id: String, by user: String, at time: Date) async throws(StoreError) -> Bool

    /// One instance with its rule's name and severity.
    func instance(id: String) async throws(StoreError) -> AlertInstanceRecord?

    /// The instances triggered after `filter.since` (narrowed by status and rule), newest
    /// first, at most `filter.limit`, each with its notification attempts counted.
    func instances(_ filter: AlertInstanceFilter) async throws(StoreError) -> [ListedAlertInstance]

    // MARK: notification attempts

    func recordNotificationAttempt(_ attempt: NewNotificationAttempt) async throws(StoreError)

    /// An instance's notification attempts, in the order they were recorded.
    func notificationAttempts(instanceID: String) async throws(StoreError) -> [NotificationAttemptRecord]

    // MARK: leadership

    /// Whether this process evaluates the rules now (taking the role when it is free): one
    /// evaluator per PostgreSQL database (an advisory lock held by a session of its own, taken
    /// over at the next try when its holder stops); on SQLite always this process.
    func acquireEvaluatorRole() async -> Bool

    /// Gives the evaluator role up (at shutdown).
    func releaseEvaluatorRole() async
}

extension UnsupportedQueries: AlertStore {
    public func rules(enabledOnly: Bool) async throws(StoreError) -> [AlertRuleRecord] { throw Self.error }
    public func rule(id: String) async throws(StoreError) -> AlertRuleRecord? { throw Self.error }
    public func insertRule(_ rule: AlertRuleDefinition, createdBy: String?) async throws(StoreError) -> String { throw Self.error }
    public func updateRule(id: String, _ rule: AlertRuleDefinition, at time: Date) async throws(StoreError) -> Bool { throw Self.error }
    public func deleteRule(id: String) async throws(StoreError) -> Bool { throw Self.error }
    public func recordEvaluation(ruleID: String, at time: Date, value: Double?, error: String?, triggered: Bool) async throws(StoreError) {
        throw Self.error
    }
    public func latestInstance(ruleID: String) async throws(StoreError) -> AlertInstanceState? { throw Self.error }
    public func openInstance(_ instance: NewAlertInstance) async throws(StoreError) -> String { throw Self.error }
    public func promoteInstance(id: String, value: Double, message: String, at time: Date) async throws(StoreError) { throw Self.error }
    public func deleteInstance(id: String) async throws(StoreError) { throw Self.error }
    public func resolveInstance(id: String, at time: Date) async throws(StoreError) -> Bool { throw Self.error }
    public func markNotified(id: String, at time: Date) async throws(StoreError) { throw Self.error }
    public func acknowledgeInstance(id: String, by user: String, at time: Date) async throws(StoreError) -> Bool { throw Self.error }
    public func instance(id: String) async throws(StoreError) -> AlertInstanceRecord? { throw Self.error }
    public func instances(_ filter: AlertInstanceFilter) async throws(StoreError) -> [ListedAlertInstance] { throw Self.error }
    public func recordNotificationAttempt(_ attempt: NewNotificationAttempt) async throws(StoreError) { throw Self.error }
    public func notificationAttempts(instanceID: String) async throws(StoreError) -> [NotificationAttemptRecord] { throw Self.error }
    /// A store without alert tables has nothing to evaluate.
    public func acquireEvaluatorRole() async -> Bool { false }
    public func releaseEvaluatorRole() async {}
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it): statements on a connection of
    /// their own that may write (the writer's belongs to the group commits); the only evaluator.
    var alertStore: any AlertStore {
        SQLAlertStore(dialect: .sqlite, run: { [alertStatements] query in try await alertStatements.read(query) }, evaluatorLock: nil)
    }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it): statements through the read
    /// pool (which runs any single statement), the evaluator chosen by an advisory lock.
    var alertStore: any AlertStore {
        SQLAlertStore(dialect: .postgres, run: { [self] query in try await read(query) }, evaluatorLock: evaluatorLock)
    }
}
