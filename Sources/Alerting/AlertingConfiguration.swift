import Foundation

/// The alert engine's settings: notification destinations (the seeds' variable names) and
/// the evaluator's timing. Secrets (`slackWebhookURL`, `webhookURL`, `smtpPassword`) are
/// never logged or returned; `redactedDescription` says only whether they are set.
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

    /// Reads the variables above from `environment`; returns the problems found (each naming
    /// the variable, never a secret value).
    public static func fromEnvironment(_ environment: [String: String]) -> (AlertingConfiguration, [String]) {
        var problems: [String] = []
        func text(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingWhitespace, !value.isEmpty else { return nil }
            return value
        }
        func url(_ name: String) -> String? {
            guard let value = text(name) else { return nil }
            guard let components = URLComponents(string: value), ["http", "https"].contains(components.scheme ?? ""),
                  components.host?.isEmpty == false else {
                problems.append("\(name): expected an http:// or https:// URL")
                return nil
            }
            return value
        }
        func positive(_ name: String, _ fallback: Int) -> Int {
            guard let value = text(name) else { return fallback }
            guard let number = Int(value), number > 0 else {
                problems.append("\(name)=\"\(value)\": expected a positive whole number")
                return fallback
            }
            return number
        }
        var configuration = AlertingConfiguration()
        configuration.slackWebhookURL = url("SLACK_WEBHOOK_URL")
        configuration.webhookURL = url("ALERT_WEBHOOK_URL")
        configuration.alertmanagerURL = url("ALERTMANAGER_URL")
        if let host = text("SMTP_HOST") {
            let port = positive("SMTP_PORT", 587)
            if port > 65535 { problems.append("SMTP_PORT=\"\(port)\": expected a port number") }
            var verify = true
            if let text = text("SMTP_TLS_VERIFY") {
                switch text.lowercased() {
                case "1", "true", "yes", "on": verify = true
                case "0", "false", "no", "off": verify = false
                default: problems.append("SMTP_TLS_VERIFY=\"\(text)\": expected true or false")
                }
            }
            configuration.smtp = SMTPSettings(host: host, port: port, username: text("SMTP_USER"), password: text("SMTP_PASSWORD"),
                                              verifyCertificates: verify)
        }
        configuration.emailFrom = text("ALERT_EMAIL_FROM") ?? configuration.emailFrom
        configuration.emailTo = (text("ALERT_EMAIL_TO") ?? "").split(separator: ",").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
        if let enabled = text("SIGHTLINE_ALERTS_ENABLED") {
            switch enabled.lowercased() {
            case "1", "true", "yes", "on": configuration.evaluatorEnabled = true
            case "0", "false", "no", "off": configuration.evaluatorEnabled = false
            default: problems.append("SIGHTLINE_ALERTS_ENABLED=\"\(enabled)\": expected true or false")
            }
        }
        configuration.tick = .milliseconds(positive("SIGHTLINE_ALERT_TICK_MS", 1000))
        configuration.notifyTimeout = .seconds(positive("SIGHTLINE_ALERT_NOTIFY_TIMEOUT", 10))
        configuration.retry = RetrySchedule(maxAttempts: positive("SIGHTLINE_ALERT_RETRY_ATTEMPTS", 5),
                                            initialDelay: .milliseconds(positive("SIGHTLINE_ALERT_RETRY_INITIAL_MS", 1000)))
        configuration.customSQLTimeout = .seconds(positive("SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT", 5))
        configuration.externalURL = text("SIGHTLINE_EXTERNAL_URL") ?? ""
        let (egress, egressProblems) = EgressPolicy.fromEnvironment(environment)
        configuration.egress = egress
        problems += egressProblems
        return (configuration, problems)
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
