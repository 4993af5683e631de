import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One notification about one alert: what every channel renders.
public struct AlertNotification: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case firing, repeated = "repeat", resolved
    }

    public var kind: Kind
    public var instanceID: String
    public var ruleID: String
    public var ruleName: String
    public var severity: AlertSeverity
    public var metricType: MetricType
    public var value: Double?
    public var threshold: Double
    public var condition: AlertCondition
    public var message: String
    public var description: String?
    public var labels: [String: String]
    public var fingerprint: String
    public var startsAt: Date
    /// Set when resolved.
    public var endsAt: Date?

    public init(kind: Kind, instanceID: String, rule: AlertRule, value: Double?, startsAt: Date, endsAt: Date?) {
        self.kind = kind
        self.instanceID = instanceID
        self.ruleID = rule.id
        self.ruleName = rule.name
        self.severity = rule.severity
        self.metricType = rule.metricType
        self.value = value
        self.threshold = rule.threshold
        self.condition = rule.condition
        self.message = value.map { rule.message(value: $0) } ?? "\(rule.name): resolved"
        if kind == .resolved { self.message = "RESOLVED " + self.message }
        self.description = rule.description
        self.labels = rule.labels
        self.fingerprint = rule.fingerprint
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    public var isResolved: Bool { kind == .resolved }

    var annotations: [String: String] {
        var annotations = ["summary": message, "threshold": AlertRule.format(threshold)]
        if let value { annotations["value"] = AlertRule.format(value) }
        if let description { annotations["description"] = description }
        return annotations
    }
}

/// A finished attempt: the receiver's status code (when it answered).
public struct NotificationOutcome: Sendable, Equatable {
    public var statusCode: Int?
    public init(statusCode: Int?) { self.statusCode = statusCode }
}

/// Why a send failed. Descriptions never carry the destination URL or credentials.
public enum NotificationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No destination configured for the channel.
    case notConfigured(NotificationChannel)
    /// The receiver answered with a non-2xx status.
    case rejected(statusCode: Int)
    /// Connection, TLS or protocol failure, or the time limit.
    case transport(String)
    /// The egress policy refused the destination (set through the API). Says nothing of the
    /// addresses it resolved to or of what listens there.
    case refused

    public var description: String {
        switch self {
        case .notConfigured(let channel): "\(channel.rawValue) is not configured"
        case .rejected(let code): "receiver answered \(code)"
        case .transport(let reason): reason
        case .refused: "destination refused by the egress policy"
        }
    }

    var statusCode: Int? {
        if case .rejected(let code) = self { return code }
        return nil
    }

    var isRetryable: Bool {
        switch self {
        case .notConfigured, .refused: false
        case .rejected(let code): RetrySchedule.isRetryable(statusCode: code)
        case .transport: true
        }
    }
}

/// Sends a notification to one channel's destination. One attempt; retries are the
/// dispatcher's. `headers` carry the trace context (`traceparent`).
public protocol Notifier: Sendable {
    var channel: NotificationChannel { get }
    func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome
}

/// POSTs JSON to a URL with async-http-client: the common part of the HTTP notifiers.
///
/// With an `egress` policy (a destination set through the API) each attempt first decides
/// where to connect (`EgressPolicy.route`: the name looked up, every address checked), then
/// sends on a client of its own, pinned to a checked address, that follows no redirects; when
/// that address refuses the connection, the next checked one is tried. Without a policy (a
/// destination from the environment) it sends on `client`, as configured.
struct JSONPoster: Sendable {
    let url: String
    let client: HTTPClient
    let egress: EgressPolicy?
    /// How `egress` looks names up (replaceable in tests).
    var lookup: @Sendable (String, Duration) async throws(HostResolver.Failure) -> [IPAddress] = HostResolver.addresses

    func post(_ object: Any, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw .transport("cannot encode payload")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "sightline-alerting")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.seconds * 1e9))
        guard let egress else { return try await Self.execute(request, on: client, deadline: deadline) }

        let overrides = try await egress.route(url, lookupTimeout: timeout, lookup: lookup).dnsOverrides
        var lastError = NotificationError.transport("connection failed")
        for dnsOverride in overrides {
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
            configuration.dnsOverride = dnsOverride
            // A failed connection fails the attempt (the next address, or the dispatcher's
            // retry schedule, follows) instead of being retried until the deadline.
            configuration.connectionPool.retryConnectionEstablishment = false
            let pinned = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            let result: Result<NotificationOutcome, NotificationError>
            do {
                result = .success(try await Self.execute(request, on: pinned, deadline: deadline))
            } catch {
                result = .failure(error)
            }
            try? await pinned.shutdown()
            // Only a refused connection moves on: nothing of the request was sent.
            guard case .failure(let error) = result, error == Self.connectionRefused else { return try result.get() }
            lastError = error
        }
        throw lastError
    }

    static let connectionRefused = NotificationError.transport("connection refused")

    private static func execute(_ request: HTTPClientRequest, on client: HTTPClient, deadline: NIODeadline) async throws(NotificationError) -> NotificationOutcome {
        let status: Int
        do {
            let response = try await client.execute(request, deadline: deadline)
            status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1024)
        } catch {
            // The error text of async-http-client can hold the URL: name the kind only.
            throw .transport(Self.describe(error))
        }
        guard (200..<300).contains(status) else { throw .rejected(statusCode: status) }
        return NotificationOutcome(statusCode: status)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
            if error == .remoteConnectionClosed { return "connection closed by receiver" }
            return "HTTP client error"
        }
        let text = "\(type(of: error))"
        if text.contains("Connect") || "\(error)".contains("connection refused") || "\(error)".contains("Connection refused") {
            return "connection refused"
        }
        return "connection failed (\(text))"
    }
}

extension Date {
    /// RFC 3339 with milliseconds, as Alertmanager and Slack readers expect.
    var rfc3339: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: self)
    }
}
