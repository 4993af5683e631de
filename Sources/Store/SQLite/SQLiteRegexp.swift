import Foundation
import SQLiteNIO

/// `value REGEXP pattern` on SQLite, which has the operator but no function behind it: the
/// Grafana query endpoints compile LogQL/TraceQL regular expressions to it (PostgreSQL has `~`).
///
/// ICU syntax (NSRegularExpression), close to Go's RE2 for what queries use. The pattern must be
/// anchored by the caller when a full match is wanted. NULL values and invalid patterns match
/// nothing. Compiled patterns are cached (at most 256, all dropped when full). A pattern that
/// backtracks for more than `timeLimit` of its thread's CPU time on one value fails the statement
/// (`tooSlowMessage`) rather than hold a read connection. CPU time, not time passed: several
/// reads run at once, and a thread waiting for a core must not make an ordinary pattern fail.
public enum SQLiteRegexp {
    nonisolated(unsafe) static let function = SQLiteCustomFunction("regexp", argumentCount: 2, pure: true) { arguments in
        try evaluate(pattern: arguments[0], value: arguments[1])
    }

    /// `regexp(pattern, value)`: 1 or 0, or nil (SQL NULL) unless the pattern is text and the
    /// value text or an integer.
    static func evaluate(pattern: SQLiteData, value: SQLiteData) throws -> Int? {
        guard case .text(let pattern) = pattern else { return nil }
        switch value {
        case .text(let text): return try matches(pattern, text) ? 1 : 0
        case .integer(let number): return try matches(pattern, String(number)) ? 1 : 0
        default: return nil
        }
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
        let deadline = threadCPUNanoseconds() + UInt64(timeLimit * 1e9)
        var matched = false
        var late = false
        // `reportProgress` calls back during a long search, so it can be stopped.
        regex.enumerateMatches(in: value, options: [.reportProgress], range: NSRange(value.startIndex..., in: value)) { result, _, stop in
            if result != nil {
                matched = true
                stop.pointee = true
            } else if threadCPUNanoseconds() > deadline {
                late = true
                stop.pointee = true
            }
        }
        if late && !matched { throw TooSlow() }
        return matched
    }

    /// CPU time the calling thread has used.
    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
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
