import Foundation

/// Timing a rule's state machine applies.
public struct AlertPolicy: Sendable, Equatable {
    /// How long the condition must hold before pending becomes firing (zero: fire at once).
    public var forDuration: Duration
    /// After a resolution, the rule does not fire again for this long.
    public var cooldown: Duration
    /// A firing, unacknowledged alert is notified again this often (`nil`: never).
    public var repeatInterval: Duration?

    public init(forDuration: Duration = .zero, cooldown: Duration = .zero, repeatInterval: Duration? = nil) {
        self.forDuration = forDuration
        self.cooldown = cooldown
        self.repeatInterval = repeatInterval
    }
}

/// The state of one alert (one rule's fingerprint), as kept in the store.
public struct AlertState: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// No open instance (never fired, or the pending condition cleared).
        case inactive
        case pending
        case firing
        case acknowledged
        case resolved
    }

    public var status: Status
    /// When the current pending period started.
    public var pendingSince: Date?
    /// When the alert started firing.
    public var firedAt: Date?
    /// When the last firing or repeat notification went out.
    public var lastNotifiedAt: Date?
    /// When the alert was last resolved (starts the cooldown).
    public var resolvedAt: Date?

    public init(status: Status = .inactive, pendingSince: Date? = nil, firedAt: Date? = nil,
                lastNotifiedAt: Date? = nil, resolvedAt: Date? = nil) {
        self.status = status
        self.pendingSince = pendingSince
        self.firedAt = firedAt
        self.lastNotifiedAt = lastNotifiedAt
        self.resolvedAt = resolvedAt
    }

    public static let inactive = AlertState()
}

/// What one evaluation of a rule found.
public enum AlertObservation: Sendable, Equatable {
    /// The condition holds (`true`) or not for the measured value.
    case value(Double, breached: Bool)
    /// Nothing to measure (no spans, no metrics); changes nothing.
    case noData
    /// The metric could not be computed (store down, query cancelled); changes nothing.
    case failed
}

/// What the evaluator must do after a transition. The state change itself is persisted first.
public enum AlertAction: Sendable, Equatable {
    /// Open a new instance in `pending` (a new alert; not notified).
    case openPending
    /// Open a new instance directly in `firing`.
    case openFiring
    /// The pending instance becomes firing.
    case promoteToFiring
    /// The pending condition cleared before `forDuration`: drop the pending instance.
    case cancelPending
    /// Resolve the open instance.
    case resolve
    /// Send the firing notification (once per firing).
    case notifyFiring
    /// Send the firing notification again (repeat interval).
    case notifyRepeat
    /// Send the resolved notification.
    case notifyResolved
}

/// Refusal of a manual change (acknowledge, resolve) in the current state.
public struct AlertTransitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var from: AlertState.Status
    public var action: String
    public var description: String { "cannot \(action) an alert that is \(from.rawValue)" }
}

/// The alert state machine (docs/alerting.md, "States"): pending (`forDuration`) → firing → acknowledged →
/// resolved, one notification per firing, a resolved notification when the condition
/// clears, cooldown after resolution and an optional repeat interval. Pure: no I/O, no clock.
public enum AlertStateMachine {
    /// How much earlier than the exact instant a duration counts as elapsed. Times come back
    /// from the store truncated to microseconds and through floating-point seconds, so an
    /// evaluation exactly `forDuration` after the pending one could measure a fraction of a
    /// microsecond less and fire one evaluation late (the injected-clock test did, now and then).
    public static let tolerance: TimeInterval = 0.001

    /// Whether `interval` has passed from `start` to `now`, within `tolerance`.
    static func elapsed(_ interval: Duration, from start: Date, to now: Date) -> Bool {
        now.timeIntervalSince(start) >= interval.seconds - tolerance
    }

    /// The next state after `observation` at `now`, and the actions to carry out in order.
    public static func evaluate(_ state: AlertState, _ observation: AlertObservation, at now: Date,
                                policy: AlertPolicy) -> (state: AlertState, actions: [AlertAction]) {
        guard case .value(_, let breached) = observation else { return (state, []) }
        var next = state
        switch (state.status, breached) {
        case (.inactive, true), (.resolved, true):
            if state.status == .resolved, let resolvedAt = state.resolvedAt,
               !elapsed(policy.cooldown, from: resolvedAt, to: now) {
                return (state, [])
            }
            if policy.forDuration > .zero {
                next = AlertState(status: .pending, pendingSince: now, resolvedAt: state.resolvedAt)
                return (next, [.openPending])
            }
            next = AlertState(status: .firing, pendingSince: now, firedAt: now, lastNotifiedAt: now, resolvedAt: state.resolvedAt)
            return (next, [.openFiring, .notifyFiring])
        case (.inactive, false), (.resolved, false):
            return (state, [])
        case (.pending, true):
            let since = state.pendingSince ?? now
            guard elapsed(policy.forDuration, from: since, to: now) else { return (state, []) }
            next.status = .firing
            next.firedAt = now
            next.lastNotifiedAt = now
            return (next, [.promoteToFiring, .notifyFiring])
        case (.pending, false):
            return (AlertState(status: .inactive, resolvedAt: state.resolvedAt), [.cancelPending])
        case (.firing, true):
            if let repeatInterval = policy.repeatInterval, let last = state.lastNotifiedAt,
               elapsed(repeatInterval, from: last, to: now) {
                next.lastNotifiedAt = now
                return (next, [.notifyRepeat])
            }
            return (state, [])
        case (.acknowledged, true):
            return (state, [])
        case (.firing, false), (.acknowledged, false):
            next.status = .resolved
            next.resolvedAt = now
            return (next, [.resolve, .notifyResolved])
        }
    }

    /// An operator acknowledges: firing (or pending) → acknowledged. Repeats stop.
    public static func acknowledge(_ state: AlertState) throws(AlertTransitionError) -> AlertState {
        guard state.status == .firing || state.status == .pending else {
            throw AlertTransitionError(from: state.status, action: "acknowledge")
        }
        var next = state
        next.status = .acknowledged
        return next
    }

    /// An operator resolves by hand: pending, firing or acknowledged → resolved (cooldown starts).
    public static func resolve(_ state: AlertState, at now: Date) throws(AlertTransitionError) -> AlertState {
        guard [.pending, .firing, .acknowledged].contains(state.status) else {
            throw AlertTransitionError(from: state.status, action: "resolve")
        }
        var next = state
        next.status = .resolved
        next.resolvedAt = now
        return next
    }
}

extension Duration {
    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
