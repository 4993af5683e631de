import Alerting
import SightlineServer
import Testing

/// The alert engine's environment variables, read through `Setting`'s table into
/// `AlertingConfiguration`.
@Suite("Alerting configuration")
struct AlertingConfigurationTests {
    static let everyVariable = [
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/secret",
        "ALERT_WEBHOOK_URL": " http://127.0.0.1:9000/hook ",
        "ALERTMANAGER_URL": "http://alertmanager:9093",
        "SMTP_HOST": "mail.example.com", "SMTP_PORT": "2525", "SMTP_USER": "alerts", "SMTP_PASSWORD": "pw", "SMTP_TLS_VERIFY": "no",
        "ALERT_EMAIL_FROM": "sightline@example.com", "ALERT_EMAIL_TO": "ops@example.com, ,oncall@example.com",
        "SIGHTLINE_ALERTS_ENABLED": "OFF", "SIGHTLINE_ALERT_TICK_MS": "250", "SIGHTLINE_ALERT_NOTIFY_TIMEOUT": "3",
        "SIGHTLINE_ALERT_RETRY_ATTEMPTS": "7", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "200", "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "2",
        "SIGHTLINE_EXTERNAL_URL": "https://sightline.example.com",
        "SIGHTLINE_ALERT_ALLOWED_HOSTS": "hooks.internal:8080", "SIGHTLINE_ALERT_EMAIL_DOMAINS": "example.com",
    ]

    @Test("every variable is read into its field")
    func everyVariable() throws {
        let configuration = try SightlineConfiguration.resolve(environment: Self.everyVariable).alerting
        #expect(configuration == AlertingConfiguration(
            slackWebhookURL: "https://hooks.slack.com/services/T/B/secret", webhookURL: "http://127.0.0.1:9000/hook",
            alertmanagerURL: "http://alertmanager:9093",
            smtp: SMTPSettings(host: "mail.example.com", port: 2525, username: "alerts", password: "pw", verifyCertificates: false),
            emailFrom: "sightline@example.com", emailTo: ["ops@example.com", "oncall@example.com"], evaluatorEnabled: false,
            tick: .milliseconds(250), notifyTimeout: .seconds(3), retry: RetrySchedule(maxAttempts: 7, initialDelay: .milliseconds(200)),
            customSQLTimeout: .seconds(2), externalURL: "https://sightline.example.com",
            egress: EgressPolicy(allowances: [.host("hooks.internal", port: 8080)], emailDomains: ["example.com"])))
    }

    @Test("unset or blank, each variable has its default; the SMTP_* variables count only with SMTP_HOST")
    func defaults() throws {
        #expect(try SightlineConfiguration.resolve().alerting == AlertingConfiguration())
        let blank = Self.everyVariable.mapValues { _ in " " }
        #expect(try SightlineConfiguration.resolve(environment: blank).alerting == AlertingConfiguration())
        let withoutHost = try SightlineConfiguration.resolve(environment: ["SMTP_PORT": "not a port", "SMTP_TLS_VERIFY": "perhaps",
                                                                           "SMTP_PASSWORD": "pw"])
        #expect(withoutHost.alerting.smtp == nil)
        #expect(try SightlineConfiguration.resolve(environment: ["SMTP_HOST": "mail"]).alerting.smtp == SMTPSettings(host: "mail", port: 587))
    }

    @Test("every problem at once, each naming its variable; a URL is never quoted")
    func problems() {
        do {
            _ = try SightlineConfiguration.resolve(environment: [
                "SLACK_WEBHOOK_URL": "ftp://hooks.slack.com/secret-token", "ALERT_WEBHOOK_URL": "hooks/secret-token",
                "ALERTMANAGER_URL": "http://", "SMTP_HOST": "mail", "SMTP_PORT": "0", "SMTP_TLS_VERIFY": "perhaps",
                "SIGHTLINE_ALERTS_ENABLED": "sometimes", "SIGHTLINE_ALERT_TICK_MS": "0", "SIGHTLINE_ALERT_NOTIFY_TIMEOUT": "-1",
                "SIGHTLINE_ALERT_RETRY_ATTEMPTS": "x", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "1.5", "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "0",
            ])
            Issue.record("bad values were accepted")
        } catch {
            #expect(error.problems == [
                "SLACK_WEBHOOK_URL: expected an http:// or https:// URL",
                "ALERT_WEBHOOK_URL: expected an http:// or https:// URL",
                "ALERTMANAGER_URL: expected an http:// or https:// URL",
                "SMTP_PORT=\"0\": expected a port number from 1 to 65535",
                "SMTP_TLS_VERIFY=\"perhaps\": expected true or false",
                "SIGHTLINE_ALERTS_ENABLED=\"sometimes\": expected true or false",
                "SIGHTLINE_ALERT_TICK_MS=\"0\": expected a positive whole number",
                "SIGHTLINE_ALERT_NOTIFY_TIMEOUT=\"-1\": expected a positive whole number",
                "SIGHTLINE_ALERT_RETRY_ATTEMPTS=\"x\": expected a positive whole number",
                "SIGHTLINE_ALERT_RETRY_INITIAL_MS=\"1.5\": expected a positive whole number",
                "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT=\"0\": expected a positive whole number",
            ])
            #expect(!error.description.contains("secret-token"))
        }
    }
}
