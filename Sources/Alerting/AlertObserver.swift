/// Hooks for `/metrics` (alert evaluations, notifications by channel and outcome, firing
/// alerts by rule and severity). Every closure is optional and must return quickly; the
/// server wires them to its metric families.
public struct AlertObserver: Sendable {
    /// A rule was evaluated: `outcome` is `value`, `no_data` or `error`.
    public var ruleEvaluated: (@Sendable (_ rule: AlertRule, _ outcome: String, _ duration: Duration) -> Void)?
    /// One notification attempt finished.
    public var notificationAttempted: (@Sendable (_ channel: NotificationChannel, _ success: Bool) -> Void)?
    /// An alert started (`true`) or stopped (`false`) firing (acknowledged counts as firing).
    public var firingChanged: (@Sendable (_ rule: AlertRule, _ firing: Bool) -> Void)?

    public init(ruleEvaluated: (@Sendable (AlertRule, String, Duration) -> Void)? = nil,
                notificationAttempted: (@Sendable (NotificationChannel, Bool) -> Void)? = nil,
                firingChanged: (@Sendable (AlertRule, Bool) -> Void)? = nil) {
        self.ruleEvaluated = ruleEvaluated
        self.notificationAttempted = notificationAttempted
        self.firingChanged = firingChanged
    }

    func notificationAttempted(channel: NotificationChannel, success: Bool) { notificationAttempted?(channel, success) }
}
