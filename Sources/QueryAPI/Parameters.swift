import Foundation
import Hummingbird

/// The query string of one request, read with the checks docs/api.md describes: every
/// parameter is validated and a bad one is refused with 400 naming it.
struct Parameters {
    private let values: [String: String]

    init(_ request: Request) throws(QueryFailure) {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard values[name] == nil else { throw .badParameter(name, "given more than once") }
            values[name] = String(value)
        }
        self.values = values
    }

    /// Every parameter named `<prefix><key>` (such as `attr.http.route=/users`), by key.
    func prefixed(_ prefix: String, maxLength: Int = 512) throws(QueryFailure) -> [String: String] {
        var found: [String: String] = [:]
        for (name, value) in values where name.hasPrefix(prefix) && name.count > prefix.count {
            guard value.count <= maxLength else { throw .badParameter(name, "longer than \(maxLength) characters") }
            found[String(name.dropFirst(prefix.count))] = value
        }
        return found
    }

    /// The text of `name`, or `nil` when absent or empty.
    func text(_ name: String, maxLength: Int = 512) throws(QueryFailure) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        guard value.count <= maxLength else { throw .badParameter(name, "longer than \(maxLength) characters") }
        return value
    }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(QueryFailure) -> Int {
        guard let text = try text(name) else { return fallback }
        guard let value = Int(text) else { throw .badParameter(name, "expected an integer, got \"\(text.prefix(40))\"") }
        guard range.contains(value) else { throw .badParameter(name, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func double(_ name: String, in range: ClosedRange<Double>) throws(QueryFailure) -> Double? {
        guard let text = try text(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw .badParameter(name, "expected a number, got \"\(text.prefix(40))\"") }
        guard range.contains(value) else { throw .badParameter(name, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    /// One of `allowed` (compared case-insensitively, returned as listed), or `nil`.
    func choice(_ name: String, _ allowed: [String], aliases: [String: String] = [:]) throws(QueryFailure) -> String? {
        guard let text = try text(name) else { return nil }
        if let alias = aliases[text.lowercased()] { return alias }
        guard let match = allowed.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) else {
            throw .badParameter(name, "must be one of \(allowed.joined(separator: ", "))")
        }
        return match
    }

    /// A trace id: 32 hex digits (either case), returned in lower case.
    func traceID(_ name: String) throws(QueryFailure) -> String? {
        guard let text = try text(name) else { return nil }
        return try Self.traceID(text, name: name)
    }

    static func traceID(_ text: String, name: String) throws(QueryFailure) -> String {
        guard text.utf8.count == 32, text.utf8.allSatisfy(\.isHexDigit) else {
            throw .badParameter(name, "expected 32 hex digits")
        }
        guard text.utf8.contains(where: { $0 != UInt8(ascii: "0") }) else { throw .badParameter(name, "must not be all zeros") }
        return text.lowercased()
    }

    /// The window a query reads: `from` and `to` (Unix milliseconds, `to` after `from`, at most
    /// 168 hours apart; both or neither) when given, a range picked on a chart; otherwise the
    /// `hours` before now. Start inclusive, end exclusive; `until` is nil for "until now".
    func timeRange() throws(QueryFailure) -> (seconds: Int64, sinceUnixNano: Int64, untilUnixNano: Int64?) {
        let from = try milliseconds("from")
        let to = try milliseconds("to")
        guard from != nil || to != nil else {
            let window = try window()
            return (Int64(window.hours) * 3600, window.sinceUnixNano, nil)
        }
        guard let from else { throw .badParameter("from", "required with to") }
        guard let to else { throw .badParameter("to", "required with from") }
        guard to > from else { throw .badParameter("to", "must be after from") }
        guard to - from <= 168 * 3_600_000 else { throw .badParameter("to", "at most 168 hours after from") }
        // `since` is exclusive and the stores keep microseconds: one microsecond before `from`.
        return ((to - from + 999) / 1000, from * 1_000_000 - 1_000, to * 1_000_000)
    }

    /// Unix milliseconds between 1970 and 9999.
    private func milliseconds(_ name: String) throws(QueryFailure) -> Int64? {
        guard let text = try text(name) else { return nil }
        guard let value = Int64(text) else { throw .badParameter(name, "expected Unix milliseconds, got \"\(text.prefix(40))\"") }
        guard (0...253_402_300_799_999).contains(value) else { throw .badParameter(name, "must be between 0 and 253402300799999") }
        return value
    }

    /// The number of hours back a query looks (`hours`, 1–168, default 24), as a start time.
    func window(defaultHours: Int = 24) throws(QueryFailure) -> (hours: Int, sinceUnixNano: Int64) {
        let hours = try int("hours", default: defaultHours, in: 1...168)
        let now = Int64(Date.now.timeIntervalSince1970 * 1e9)
        return (hours, now - Int64(hours) * 3_600_000_000_000)
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
