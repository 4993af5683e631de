/// The alert engine's settings: notification destinations and the evaluator's timing, read
/// from the environment variables named below by `SightlineConfiguration` (its `Setting`
/// table holds their names, defaults and checks). Secrets (`slackWebhookURL`, `webhookURL`,
/// `smtpPassword`) are never logged or returned; `redactedDescription` says only whether
/// they are set.
public struct AlertingConfiguration: Sendable, Equatable {
    /// `SLACK_WEBHOOK_URL`.
    public var slackWebhookURL: String?
    /// `ALERT_WEBHOOK_URL`: receives the Alertmanager webhook payload (version 4).
    public var webhookURL: String?
    /// `ALERTMANAGER_URL`: a real Alertmanager (`/api/v2/alerts` is appended).
    public var alertmanagerURL: String?
    /// `SMTP_HOST`, `SMTP_PORT` (default 587), `SMTP_USER`, `SMTP_PASSWORD`.
    public var smtp: SMTPSettings?
    /// `ALERT_EMAIL_FROM` (default `alerts@sightline.local`).
    public var emailFrom: String
    /// `ALERT_EMAIL_TO`: comma-separated recipients.
    public var emailTo: [String]
    /// `SIGHTLINE_ALERTS_ENABLED`: run the evaluator (default true).
    public var evaluatorEnabled: Bool
    /// How often the evaluator looks for due rules (`SIGHTLINE_ALERT_TICK_MS`, default 1000).
    public var tick: Duration
    /// Limit for one notification attempt (`SIGHTLINE_ALERT_NOTIFY_TIMEOUT`, seconds, default 10).
    public var notifyTimeout: Duration
    /// Retries (`SIGHTLINE_ALERT_RETRY_ATTEMPTS`, default 5; `SIGHTLINE_ALERT_RETRY_INITIAL_MS`, default 1000).
    public var retry: RetrySchedule
    /// Limit for one `custom_sql` evaluation (`SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT`, seconds, default 5).
    public var customSQLTimeout: Duration
    /// Rules evaluated at the same time, at most.
    public var maxConcurrentEvaluations: Int
    /// Link put into webhook and Alertmanager payloads (`SIGHTLINE_EXTERNAL_URL`).
    public var externalURL: String
    /// Where destinations set through the API may go (`SIGHTLINE_ALERT_ALLOWED_HOSTS`,
    /// `SIGHTLINE_ALERT_EMAIL_DOMAINS`; see `EgressPolicy`).
    public var egress: EgressPolicy

    public init(slackWebhookURL: String? = nil, webhookURL: String? = nil, alertmanagerURL: String? = nil, smtp: SMTPSettings? = nil,
                emailFrom: String = "alerts@sightline.local", emailTo: [String] = [], evaluatorEnabled: Bool = true,
                tick: Duration = .seconds(1), notifyTimeout: Duration = .seconds(10), retry: RetrySchedule = RetrySchedule(),
                customSQLTimeout: Duration = .seconds(5), maxConcurrentEvaluations: Int = 8, externalURL: String = "",
                egress: EgressPolicy = EgressPolicy()) {
        self.slackWebhookURL = slackWebhookURL
        self.webhookURL = webhookURL
        self.alertmanagerURL = alertmanagerURL
        self.smtp = smtp
        self.emailFrom = emailFrom
        self.emailTo = emailTo
        self.evaluatorEnabled = evaluatorEnabled
        self.tick = tick
        self.notifyTimeout = notifyTimeout
        self.retry = retry
        self.customSQLTimeout = customSQLTimeout
        self.maxConcurrentEvaluations = maxConcurrentEvaluations
        self.externalURL = externalURL
        self.egress = egress
    }

    /// For the start-up log: which destinations are set, never their values.
    public var redactedDescription: String {
        "alerts=\(evaluatorEnabled ? "on" : "off") slack=\(slackWebhookURL != nil) webhook=\(webhookURL != nil) "
            + "alertmanager=\(alertmanagerURL != nil) smtp=\(smtp != nil) email_to=\(emailTo.count) "
            + "alert_allowed_hosts=\(egress.allowances.count) alert_email_domains=\(egress.emailDomains.count)"
    }
}

/// SMTP server settings (`SMTP_*`).
public struct SMTPSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    /// `SMTP_TLS_VERIFY` (default true): verify the server's certificate after STARTTLS.
    /// `false` accepts any certificate (test servers only).
    public var verifyCertificates: Bool

    public init(host: String, port: Int = 587, username: String? = nil, password: String? = nil, verifyCertificates: Bool = true) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.verifyCertificates = verifyCertificates
    }
}
