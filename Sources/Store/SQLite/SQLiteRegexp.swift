import Foundation
import SQLiteNIO

/// `value REGEXP pattern` on SQLite, which has the operator but no function behind it: the
/// Grafana query endpoints compile LogQL/TraceQL regular expressions to it (PostgreSQL has `~`).
///
/// ICU syntax (NSRegularExpression), close to Go's RE2 for what queries use. The pattern must be
/// anchored by the caller when a full match is wanted. NULL values and invalid patterns match
/// nothing. Compiled patterns are cached (at most 256, all dropped when full). A pattern that
/// backtracks for more than `timeLimit` on one value fails the statement (`tooSlowMessage`)
/// rather than hold the reader connection.
public enum SQLiteRegexp {
    nonisolated(unsafe) static let function = SQLiteCustomFunction("regexp", argumentCount: 2, pure: true) { arguments in
        guard case .text(let pattern) = arguments[0], case .text(let value) = arguments[1] else {
            if case .text(let pattern) = arguments[0], case .integer(let number) = arguments[1] {
                return Int(try matches(pattern, String(number)) ? 1 : 0)
            }
            return nil
        }
        return Int(try matches(pattern, value) ? 1 : 0)
    }

    private static let cache = Cache()
    static let timeLimit: TimeInterval = 0.1
    /// In the store error's reason when a pattern was too slow.
    public static let tooSlowMessage = "regular expression too slow"

    struct TooSlow: Error, CustomStringConvertible {
        var description: String { SQLiteRegexp.tooSlowMessage }
    }

    static func matches(_ pattern: String, _ value: String) throws -> Bool {
        guard let regex = cache.regex(pattern) else { return false }
        let deadline = Date(timeIntervalSinceNow: timeLimit)
        var matched = false
        var late = false
        // `reportProgress` calls back during a long search, so it can be stopped.
        regex.enumerateMatches(in: value, options: [.reportProgress], range: NSRange(value.startIndex..., in: value)) { result, _, stop in
            if result != nil {
                matched = true
                stop.pointee = true
            } else if Date() > deadline {
                late = true
                stop.pointee = true
            }
        }
        if late && !matched { throw TooSlow() }
        return matched
    }

    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var compiled: [String: NSRegularExpression] = [:]

        func regex(_ pattern: String) -> NSRegularExpression? {
            lock.lock()
            defer { lock.unlock() }
            if let found = compiled[pattern] { return found }
            guard pattern.utf8.count <= 4096, let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
            if compiled.count >= 256 { compiled.removeAll() }
            compiled[pattern] = regex
            return regex
        }
    }
}
