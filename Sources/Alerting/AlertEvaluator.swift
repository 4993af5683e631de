import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Decides whether this process evaluates rules (one evaluator per database).
public protocol EvaluatorLeadership: Sendable {
    /// Whether this process holds the evaluator role now (acquiring it when free).
    func acquire() async -> Bool
    /// Gives the role up (at shutdown).
    func release() async
}

/// The alert evaluator (docs/alerting.md, "Evaluator"): every tick, each enabled rule whose
/// interval has passed is evaluated over its window, concurrently (bounded) and independently,
/// so a slow or failing rule never holds up the others; state transitions and notifications
/// follow `AlertStateMachine`. Ingest never waits for it: it only reads telemetry.
public final class AlertEvaluator: Service {
    let database: AlertDatabase
    let metrics: AlertMetrics
    let dispatcher: NotificationDispatcher
    let configuration: AlertingConfiguration
    let leadership: (any EvaluatorLeadership)?
    let observer: AlertObserver?
    let logger: Logger
    let now: @Sendable () -> Date
    private let state = Mutex(SchedulerState())

    struct SchedulerState {
        var nextDue: [String: Date] = [:]
        var inFlight: Set<String> = []
        var leading = false
    }

    public init(database: AlertDatabase, metrics: AlertMetrics, dispatcher: NotificationDispatcher,
                configuration: AlertingConfiguration, leadership: (any EvaluatorLeadership)? = nil,
                observer: AlertObserver? = nil, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.metrics = metrics
        self.dispatcher = dispatcher
        self.configuration = configuration
        self.leadership = leadership
        self.observer = observer
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        // Stops within one tick of a graceful shutdown; evaluations under way finish (their
        // retries stop early, see `NotificationDispatcher`).
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                await self.tick(group: &group)
                do { try await Task.sleep(for: self.configuration.tick) } catch { break }
            }
        }
        await leadership?.release()
    }

    /// One tick: starts the evaluations that are due (taking the evaluator role first when
    /// any are). A rule's first evaluation comes at a fixed offset within its first interval
    /// (from its id), so rules spread out instead of all running at start-up.
    func tick(group: inout DiscardingTaskGroup) async {
        let rules: [AlertRule]
        do {
            rules = try await database.alerts.rules(enabledOnly: true).compactMap(AlertRule.init(record:))
        } catch {
            logger.warning("cannot load alert rules", metadata: ["error": "\(error)"])
            return
        }
        let now = now()
        let due = state.withLock { state in
            // Forget rules that were deleted or disabled.
            let ids = Set(rules.map(\.id))
            state.nextDue = state.nextDue.filter { ids.contains($0.key) }
            return rules.filter { rule in
                if state.nextDue[rule.id] == nil { state.nextDue[rule.id] = now.addingTimeInterval(Self.offset(of: rule)) }
                return !state.inFlight.contains(rule.id) && now >= state.nextDue[rule.id] ?? now
            }
        }
        guard !due.isEmpty else { return }
        if let leadership {
            let leading = await leadership.acquire()
            let changed = state.withLock { state in
                defer { state.leading = leading }
                return state.leading != leading
            }
            if changed { logger.info(leading ? "alert evaluator: this process evaluates the rules" : "alert evaluator: another process evaluates the rules") }
            guard leading else { return }
        }
        for rule in due {
            let start = state.withLock { state -> Bool in
                guard !state.inFlight.contains(rule.id), state.inFlight.count < configuration.maxConcurrentEvaluations else { return false }
                state.inFlight.insert(rule.id)
                state.nextDue[rule.id] = now.addingTimeInterval(TimeInterval(max(1, rule.evaluationIntervalSeconds)))
                return true
            }
            guard start else { continue }
            group.addTask {
                await self.evaluate(rule, at: now)
                _ = self.state.withLock { $0.inFlight.remove(rule.id) }
            }
        }
    }

    /// Where in its first interval a rule is first evaluated: a stable fraction from its id.
    static func offset(of rule: AlertRule) -> TimeInterval {
        let interval = Double(max(1, rule.evaluationIntervalSeconds))
        guard interval > 1 else { return 0 }
        let hash = Fingerprint.of(["rule_id": rule.id])
        let fraction = Double(UInt64(hash.prefix(8), radix: 16) ?? 0) / Double(UInt32.max)
        return (interval * fraction).rounded(.down)
    }

    /// Evaluates `rule` once at `now`: measures, moves the state machine, stores the new
    /// state, then notifies. Never throws: failures are logged and recorded on the rule.
    public func evaluate(_ rule: AlertRule, at now: Date) async {
        let started = ContinuousClock.now
        var observation: AlertObservation
        var value: Double?
        var problem: String?
        do {
            value = try await metrics.value(of: rule, at: now)
            observation = value.map { .value($0, breached: rule.condition.holds($0, threshold: rule.threshold)) } ?? .noData
        } catch {
            observation = .failed
            problem = Self.describe(error)
            logger.warning("alert rule evaluation failed", metadata: ["alert.rule": "\(rule.name)", "error": "\(problem ?? "")"])
        }
        do {
            try await apply(observation, value: value, rule: rule, at: now, problem: problem)
        } catch {
            logger.warning("cannot store alert state", metadata: ["alert.rule": "\(rule.name)", "error": "\(error)"])
        }
        let outcome: String
        switch observation {
        case .value: outcome = "value"
        case .noData: outcome = "no_data"
        case .failed: outcome = "error"
        }
        observer?.ruleEvaluated?(rule, outcome, ContinuousClock.now - started)
    }

    private func apply(_ observation: AlertObservation, value: Double?, rule: AlertRule, at now: Date, problem: String?) async throws {
        let alerts = database.alerts
        let stored = try await alerts.latestInstance(ruleID: rule.id)
        let current = stored.map(AlertState.init(stored:)) ?? .inactive
        let (next, actions) = AlertStateMachine.evaluate(current, observation, at: now, policy: rule.policy)
        var instanceID = stored?.id
        var startsAt = current.firedAt ?? stored?.triggeredAt ?? now
        let measured = value ?? stored?.metricValue ?? rule.threshold
        var notifications: [AlertNotification] = []
        for action in actions {
            switch action {
            case .openPending:
                instanceID = try await alerts.openInstance(rule.newInstance(firing: false, value: measured, at: now))
            case .openFiring:
                instanceID = try await alerts.openInstance(rule.newInstance(firing: true, value: measured, at: now))
                startsAt = now
                observer?.firingChanged?(rule, true)
            case .promoteToFiring:
                if let instanceID { try await alerts.promoteInstance(id: instanceID, value: measured, message: rule.message(value: measured), at: now) }
                startsAt = now
                observer?.firingChanged?(rule, true)
            case .cancelPending:
                if let instanceID { try await alerts.deleteInstance(id: instanceID) }
            case .resolve:
                if let instanceID { _ = try await alerts.resolveInstance(id: instanceID, at: now) }
                observer?.firingChanged?(rule, false)
            case .notifyFiring, .notifyRepeat, .notifyResolved:
                guard let instanceID else { continue }
                if action == .notifyRepeat { try await alerts.markNotified(id: instanceID, at: now) }
                let kind: AlertNotification.Kind = action == .notifyFiring ? .firing : action == .notifyRepeat ? .repeated : .resolved
                notifications.append(AlertNotification(kind: kind, instanceID: instanceID, rule: rule, value: measured,
                                                       startsAt: startsAt, endsAt: kind == .resolved ? now : nil))
            }
        }
        if next.status != current.status, next.status == .firing {
            logger.warning("alert firing", metadata: ["alert.rule": "\(rule.name)", "alert.value": "\(measured)", "alert.threshold": "\(rule.threshold)"])
        }
        // Report the state after every evaluation, not only on changes, so `/metrics` also
        // shows an alert that was firing before a restart.
        observer?.firingChanged?(rule, next.status == .firing || next.status == .acknowledged)
        // The new state is stored before anything is sent: a restart never sends twice.
        try await alerts.recordEvaluation(ruleID: rule.id, at: now, value: value, error: problem,
                                          triggered: actions.contains(.notifyFiring))
        for notification in notifications {
            await dispatcher.dispatch(notification, rule: rule)
        }
    }

    /// Error text safe for the API (`last_error`): no SQL, no data.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as RuleQueryError: return error.description
        case let error as StoreError: return error.description
        default: return "evaluation failed"
        }
    }
}

extension AlertState {
    /// The state of a stored instance (an unknown status reads as resolved).
    init(stored: AlertInstanceState) {
        self.init(status: Status(rawValue: stored.status ?? "") ?? .resolved, pendingSince: stored.pendingSince, firedAt: stored.firedAt,
                  lastNotifiedAt: stored.lastNotifiedAt, resolvedAt: stored.resolvedAt)
    }
}
