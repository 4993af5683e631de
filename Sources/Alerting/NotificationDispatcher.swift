import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Store
import Tracing

/// Sends one notification to each of a rule's channels: each attempt with a time limit and
/// inside a client span whose `traceparent` goes along, failed attempts retried on the
/// `RetrySchedule`, every attempt recorded in the store.
public struct NotificationDispatcher: Sendable {
    let database: AlertDatabase
    let configuration: AlertingConfiguration
    let tracer: (any Tracer)?
    let observer: AlertObserver?
    let logger: Logger
    /// Builds the notifier of a channel for a rule (`nil`: not configured). Replaceable in tests.
    let makeNotifier: @Sendable (NotificationChannel, AlertRule) -> (any Notifier)?
    /// Waits between attempts (the clock is injected so tests need not sleep).
    let sleep: @Sendable (Duration) async throws -> Void

    public init(database: AlertDatabase, configuration: AlertingConfiguration, tracer: (any Tracer)? = nil,
                observer: AlertObserver? = nil, logger: Logger,
                makeNotifier: (@Sendable (NotificationChannel, AlertRule) -> (any Notifier)?)? = nil,
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.database = database
        self.configuration = configuration
        self.tracer = tracer
        self.observer = observer
        self.logger = logger
        self.makeNotifier = makeNotifier ?? { channel, rule in Self.standardNotifier(channel, rule, configuration) }
        self.sleep = sleep
    }

    /// The notifier the configuration (and the rule's overrides) give for `channel`. A rule's
    /// own destination (set through the API) goes through the egress policy; the environment's
    /// is trusted.
    static func standardNotifier(_ channel: NotificationChannel, _ rule: AlertRule, _ configuration: AlertingConfiguration) -> (any Notifier)? {
        let egress = configuration.egress
        switch channel {
        case .slack:
            if let url = rule.overrides.slackWebhookURL { return SlackNotifier(webhookURL: url, egress: egress) }
            return configuration.slackWebhookURL.map { SlackNotifier(webhookURL: $0) }
        case .webhook:
            if let url = rule.overrides.webhookURL { return WebhookNotifier(url: url, externalURL: configuration.externalURL, egress: egress) }
            return configuration.webhookURL.map { WebhookNotifier(url: $0, externalURL: configuration.externalURL) }
        case .alertmanager:
            if let url = rule.overrides.alertmanagerURL { return AlertmanagerNotifier(baseURL: url, generatorURL: configuration.externalURL, egress: egress) }
            return configuration.alertmanagerURL.map { AlertmanagerNotifier(baseURL: $0, generatorURL: configuration.externalURL) }
        case .email:
            let recipients = rule.overrides.emailTo ?? configuration.emailTo
            guard let smtp = configuration.smtp, !recipients.isEmpty else { return nil }
            if let own = rule.overrides.emailTo, egress.refusedRecipient(in: own) != nil { return RefusedDestination(channel: .email) }
            return SMTPNotifier(settings: smtp, from: configuration.emailFrom, to: recipients)
        }
    }

    /// Sends `notification` on every channel of `rule`, channels in parallel.
    public func dispatch(_ notification: AlertNotification, rule: AlertRule) async {
        await withTaskGroup(of: Void.self) { group in
            for channel in Set(rule.channels) {
                group.addTask { await self.deliver(notification, rule: rule, channel: channel) }
            }
        }
    }

    /// One channel: attempts until success, a permanent failure, or the schedule ends.
    func deliver(_ notification: AlertNotification, rule: AlertRule, channel: NotificationChannel) async {
        guard let notifier = makeNotifier(channel, rule) else {
            await record(notification, channel: channel, attempt: 1, success: false, statusCode: nil,
                         error: NotificationError.notConfigured(channel).description)
            return
        }
        var attempt = 1
        while true {
            let outcome = await attemptOnce(notifier, notification)
            switch outcome {
            case .success(let result):
                await record(notification, channel: channel, attempt: attempt, success: true, statusCode: result.statusCode, error: nil)
                return
            case .failure(let error):
                await record(notification, channel: channel, attempt: attempt, success: false, statusCode: error.statusCode, error: error.description)
                guard error.isRetryable, !Task.isShuttingDownGracefully, let delay = configuration.retry.delay(afterAttempt: attempt) else {
                    logger.warning("notification failed", metadata: [
                        "alert.rule": "\(rule.name)", "alert.channel": "\(channel.rawValue)", "attempts": "\(attempt)", "error": "\(error)",
                    ])
                    return
                }
                do { try await sleep(delay) } catch { return }
                attempt += 1
            }
        }
    }

    private func attemptOnce(_ notifier: any Notifier, _ notification: AlertNotification) async -> Result<NotificationOutcome, NotificationError> {
        let timeout = configuration.notifyTimeout
        guard let tracer else {
            return await Self.result { () async throws(NotificationError) in try await notifier.send(notification, headers: [], timeout: timeout) }
        }
        let span = tracer.startAnySpan("notify \(notifier.channel.rawValue)", context: .current ?? .topLevel, ofKind: .client)
        span.attributes["alert.rule_id"] = notification.ruleID
        span.attributes["alert.channel"] = notifier.channel.rawValue
        span.attributes["alert.kind"] = notification.kind.rawValue
        var headers = HeaderList()
        tracer.inject(span.context, into: &headers, using: HeaderListInjector())
        let result = await Self.result { () async throws(NotificationError) in try await notifier.send(notification, headers: headers.items, timeout: timeout) }
        if case .failure(let error) = result {
            span.setStatus(.init(code: .error, message: error.description))
        }
        span.end()
        return result
    }

    private static func result(_ body: () async throws(NotificationError) -> NotificationOutcome) async -> Result<NotificationOutcome, NotificationError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    private func record(_ notification: AlertNotification, channel: NotificationChannel, attempt: Int, success: Bool, statusCode: Int?, error: String?) async {
        observer?.notificationAttempted(channel: channel, success: success)
        do {
            try await database.alerts.recordNotificationAttempt(NewNotificationAttempt(
                instanceID: notification.instanceID, ruleID: notification.ruleID, channel: channel.rawValue, kind: notification.kind.rawValue,
                attempt: attempt, at: Date(), success: success, statusCode: statusCode, error: error))
        } catch {
            logger.warning("cannot record notification attempt", metadata: ["error": "\(error)"])
        }
    }
}

struct HeaderList: Sendable {
    var items: [(String, String)] = []
}

struct HeaderListInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HeaderList) {
        carrier.items.removeAll { $0.0.lowercased() == key.lowercased() }
        carrier.items.append((key, value))
    }
}
