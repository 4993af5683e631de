import Foundation

/// Regular expressions in the query descriptions the store takes (`SpanCondition`,
/// `LokiSelection`): the store runs them (SQLite's `REGEXP`, PostgreSQL's `~`).
public enum RegexPattern {
    /// `^(?:pattern)$`, so the whole text must match, with a leading `(?i)`-style flag group
    /// kept in front (PostgreSQL only takes embedded options at the very start).
    public static func anchored(_ pattern: String) -> String {
        if pattern.hasPrefix("(?"), let close = pattern.firstIndex(of: ")"),
           pattern[pattern.index(pattern.startIndex, offsetBy: 2)..<close].allSatisfy({ "imsx".contains($0) }),
           close > pattern.index(pattern.startIndex, offsetBy: 2) {
            let flags = pattern[...close]
            return flags + "^(?:" + pattern[pattern.index(after: close)...] + ")$"
        }
        return "^(?:" + pattern + ")$"
    }

    /// Whether `pattern` matches the whole of `text` (ICU syntax); an invalid pattern matches nothing.
    static func fullMatch(_ pattern: String, _ text: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: anchored(pattern)) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
