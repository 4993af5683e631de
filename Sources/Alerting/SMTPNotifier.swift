import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// E-mail over SMTP: EHLO, STARTTLS when the server offers it (then EHLO again), AUTH PLAIN
/// or LOGIN when a user is configured, and a multipart/alternative message with a text and
/// an HTML part.
///
/// Hand-written on SwiftNIO: no maintained Swift SMTP client
/// fits this stack, and the part needed is a dozen commands. `SMTP_TLS_VERIFY=false` (see
/// `SMTPSettings.verifyCertificates`) accepts self-signed certificates, for test servers only.
public struct SMTPNotifier: Notifier {
    public var channel: NotificationChannel { .email }
    let settings: SMTPSettings
    let from: String
    let to: [String]

    public init(settings: SMTPSettings, from: String, to: [String]) {
        self.settings = settings
        self.from = from
        self.to = to
    }

    public func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        let message = Self.message(notification, from: from, to: to, traceparent: headers.first { $0.0 == "traceparent" }?.1)
        do {
            let code = try await withDeadline(timeout) {
                try await SMTPSession(settings: settings).deliver(from: from, to: to, message: message)
            }
            return NotificationOutcome(statusCode: code)
        } catch let error as SMTPError {
            if case .reply(let code, _) = error, (500..<600).contains(code) { throw .rejected(statusCode: code) }
            throw .transport(error.description)
        } catch is DeadlineExceeded {
            throw .transport("timed out")
        } catch {
            throw .transport("SMTP connection failed (\(type(of: error)))")
        }
    }

    /// The whole message (headers and body, CRLF line ends, before dot-stuffing).
    static func message(_ notification: AlertNotification, from: String, to: [String], traceparent: String?, date: Date = Date()) -> String {
        let state = notification.isResolved ? "RESOLVED" : notification.severity.rawValue.uppercased()
        let subject = "[\(state)] \(notification.ruleName)"
        let value = notification.value.map(AlertRule.format) ?? "-"
        let threshold = "\(notification.condition.symbol) \(AlertRule.format(notification.threshold))"
        let text = """
            Alert: \(notification.ruleName)
            Status: \(notification.isResolved ? "resolved" : "firing")
            Severity: \(notification.severity.rawValue.uppercased())
            Value: \(value)
            Threshold: \(threshold)

            \(notification.message)
            \(notification.description.map { "\n\($0)\n" } ?? "")
            Fingerprint: \(notification.fingerprint)
            --
            Sightline alerting
            """
        let colour = notification.isResolved ? "green" : notification.severity == .critical ? "red" : "orange"
        let html = """
            <html><body>
            <h2 style="color: \(colour)">\(escape(notification.ruleName))</h2>
            <table>
            <tr><td><strong>Status:</strong></td><td>\(notification.isResolved ? "resolved" : "firing")</td></tr>
            <tr><td><strong>Severity:</strong></td><td>\(escape(notification.severity.rawValue.uppercased()))</td></tr>
            <tr><td><strong>Value:</strong></td><td>\(escape(value))</td></tr>
            <tr><td><strong>Threshold:</strong></td><td>\(escape(threshold))</td></tr>
            </table>
            <p>\(escape(notification.message))</p>
            \(notification.description.map { "<p>\(escape($0))</p>" } ?? "")
            <hr><small>Sightline alerting · \(escape(notification.fingerprint))</small>
            </body></html>
            """
        let boundary = "sightline-\(notification.fingerprint)-\(Int(date.timeIntervalSince1970))"
        let dateFormatter = DateFormatter()
        dateFormatter.locale = Locale(identifier: "en_US_POSIX")
        dateFormatter.timeZone = TimeZone(identifier: "UTC")
        dateFormatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var lines = [
            "From: \(headerSafe(from))",
            "To: \(to.map(headerSafe).joined(separator: ", "))",
            "Subject: \(encodedWord(subject))",
            "Date: \(dateFormatter.string(from: date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@sightline>",
            "MIME-Version: 1.0",
            "X-Sightline-Fingerprint: \(notification.fingerprint)",
        ]
        if let traceparent { lines.append("traceparent: \(headerSafe(traceparent))") }
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            base64Lines(text),
            "--\(boundary)",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            base64Lines(html),
            "--\(boundary)--",
        ]
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// No line breaks in a header (header injection).
    static func headerSafe(_ text: String) -> String {
        String(text.filter { $0 != "\r" && $0 != "\n" })
    }

    static func encodedWord(_ text: String) -> String {
        let safe = headerSafe(text)
        if safe.allSatisfy({ $0.isASCII }) { return safe }
        return "=?UTF-8?B?\(Data(safe.utf8).base64EncodedString())?="
    }

    static func base64Lines(_ text: String) -> String {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n")
    }
}

enum SMTPError: Error, CustomStringConvertible {
    case reply(Int, String)
    case closed
    case authUnavailable

    var description: String {
        switch self {
        // The server's text may echo an address, never a password.
        case .reply(let code, let text): "SMTP server answered \(code) \(text.prefix(120))"
        case .closed: "SMTP server closed the connection"
        case .authUnavailable: "SMTP server offers no AUTH PLAIN or LOGIN"
        }
    }
}

/// One SMTP conversation.
struct SMTPSession {
    let settings: SMTPSettings

    /// Sends `message`; returns the final reply code (250).
    func deliver(from: String, to: [String], message: String) async throws -> Int {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var reader = SMTPReader(iterator: inbound.makeAsyncIterator())
            func command(_ line: String, expect: ClosedRange<Int>) async throws -> (Int, [String]) {
                try await outbound.write(ByteBuffer(string: line + "\r\n"))
                return try await reader.expect(expect)
            }
            _ = try await reader.expect(220...220)
            var (_, features) = try await command("EHLO sightline.local", expect: 250...250)
            if features.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
                _ = try await command("STARTTLS", expect: 220...220)
                var tls = TLSConfiguration.makeClientConfiguration()
                if !settings.verifyCertificates { tls.certificateVerification = .none }
                let context = try NIOSSLContext(configuration: tls)
                let hostname = settings.host.first?.isNumber == true ? nil : settings.host
                let pipeline = channel.channel.pipeline
                try await channel.channel.eventLoop.submit {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: hostname)
                    try pipeline.syncOperations.addHandler(handler, position: .first)
                }.get()
                (_, features) = try await command("EHLO sightline.local", expect: 250...250)
            }
            if let user = settings.username, let password = settings.password {
                let auth = features.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
                if auth.contains("PLAIN") {
                    let token = Data("\u{0}\(user)\u{0}\(password)".utf8).base64EncodedString()
                    _ = try await command("AUTH PLAIN \(token)", expect: 235...235)
                } else if auth.contains("LOGIN") {
                    _ = try await command("AUTH LOGIN", expect: 334...334)
                    _ = try await command(Data(user.utf8).base64EncodedString(), expect: 334...334)
                    _ = try await command(Data(password.utf8).base64EncodedString(), expect: 235...235)
                } else {
                    throw SMTPError.authUnavailable
                }
            }
            _ = try await command("MAIL FROM:<\(SMTPNotifier.headerSafe(from))>", expect: 250...250)
            for recipient in to {
                _ = try await command("RCPT TO:<\(SMTPNotifier.headerSafe(recipient))>", expect: 250...251)
            }
            _ = try await command("DATA", expect: 354...354)
            // Dot-stuffing: a line starting with "." gets another.
            let stuffed = message.split(separator: "\r\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
            try await outbound.write(ByteBuffer(string: stuffed + (stuffed.hasSuffix("\r\n") ? "" : "\r\n") + ".\r\n"))
            let (code, _) = try await reader.expect(250...250)
            try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
            return code
        }
    }
}

/// Reads SMTP replies (`250-first`, `250 last`) from the inbound byte stream.
struct SMTPReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending: [UInt8] = []

    mutating func line() async throws -> String {
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var bytes = Array(pending[..<end])
                pending.removeFirst(end + 1)
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard pending.count < 64 * 1024, let buffer = try await iterator.next() else { throw SMTPError.closed }
            pending += Array(buffer: buffer)
        }
    }

    /// One reply; throws unless its code is in `range`. Returns the code and the text of
    /// every line (the EHLO feature list).
    mutating func expect(_ range: ClosedRange<Int>) async throws -> (Int, [String]) {
        var texts: [String] = []
        for _ in 0..<100 {
            let line = try await line()
            guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPError.reply(0, line) }
            texts.append(String(line.dropFirst(4)))
            let more = line.count > 3 && line[line.index(line.startIndex, offsetBy: 3)] == "-"
            if !more {
                guard range.contains(code) else { throw SMTPError.reply(code, texts.joined(separator: " ")) }
                return (code, texts)
            }
        }
        throw SMTPError.reply(0, "reply too long")
    }
}

struct DeadlineExceeded: Error {}

/// Runs `body`, cancelling it after `limit`.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
        return value
    }
}
