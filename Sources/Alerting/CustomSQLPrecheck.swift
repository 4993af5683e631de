/// A cheap look at a `custom_sql` text before the store compiles it, for friendly 400s: not
/// empty, not too long, one statement, a `SELECT` (or `WITH … SELECT`).
///
/// It is not the security boundary and does not try to be one: what a rule's SQL may read and
/// call is decided by the database (`RuleQueryRunner`: a narrow PostgreSQL role, an SQLite
/// authorizer; docs/security-customsql.md). A text that gets past this scan (escape strings,
/// Unicode identifiers, dollar quoting) only meets the database's own refusal. The scan skips
/// string literals, quoted identifiers and comments; a text it cannot split is left to the
/// database.
public enum CustomSQLPrecheck {
    /// The longest accepted query text.
    public static let maxLength = 4000

    /// `nil` when `sql` may go on to the store's check, else the problem.
    public static func problem(in sql: String) -> String? {
        let text = sql.trimmingWhitespace
        guard !text.isEmpty else { return "must not be empty" }
        guard text.count <= maxLength else { return "longer than \(maxLength) characters" }
        guard let tokens = tokens(of: text) else { return nil }
        var words = tokens
        // One trailing semicolon is allowed; any other means several statements.
        while words.last == ";" { words.removeLast() }
        if words.contains(";") { return "must be a single statement" }
        guard let first = words.first(where: { $0 != "(" }), first == "select" || first == "with" else {
            return "must be a SELECT (or WITH … SELECT)"
        }
        return nil
    }

    /// The query without trailing semicolons, for wrapping as a subquery.
    static func statement(_ sql: String) -> String {
        var text = sql.trimmingWhitespace
        while text.hasSuffix(";") { text = String(text.dropLast()).trimmingWhitespace }
        return text
    }

    /// Lower-cased words, and `;` and `(` as tokens; literals, quoted names and comments
    /// dropped. `nil` when one of those is not closed.
    static func tokens(of sql: String) -> [String]? {
        let bytes = Array(sql.utf8)
        var tokens: [String] = []
        var word: [UInt8] = []
        func flush() {
            if !word.isEmpty { tokens.append(String(decoding: word, as: UTF8.self).lowercased()) }
            word = []
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                flush()
                var end = index + 1
                while true {
                    guard end < bytes.count else { return nil }
                    if bytes[end] == byte {
                        if end + 1 < bytes.count, bytes[end + 1] == byte { end += 2; continue }
                        break
                    }
                    end += 1
                }
                // A quoted identifier may name a function: keep it as a word.
                if byte != UInt8(ascii: "'") { tokens.append(String(decoding: bytes[(index + 1)..<end], as: UTF8.self).lowercased()) }
                index = end + 1
            case UInt8(ascii: "$"):
                // PostgreSQL dollar quoting: $tag$ … $tag$.
                flush()
                var tagEnd = index + 1
                while tagEnd < bytes.count, bytes[tagEnd].isWordByte, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[tagEnd]) { tagEnd += 1 }
                if tagEnd < bytes.count, bytes[tagEnd] == UInt8(ascii: "$") {
                    let tag = Array(bytes[index...tagEnd])
                    var search = tagEnd + 1
                    var found = false
                    while search + tag.count <= bytes.count {
                        if Array(bytes[search..<(search + tag.count)]) == tag { found = true; break }
                        search += 1
                    }
                    guard found else { return nil }
                    index = search + tag.count
                } else {
                    index += 1 // a parameter like $1
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                }
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                flush()
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                flush()
                guard let end = (index + 2..<max(index + 2, bytes.count - 1)).first(where: {
                    bytes[$0] == UInt8(ascii: "*") && bytes[$0 + 1] == UInt8(ascii: "/")
                }) else { return nil }
                index = end + 2
            case UInt8(ascii: ";"), UInt8(ascii: "("):
                flush()
                tokens.append(String(UnicodeScalar(byte)))
                index += 1
            default:
                if byte.isWordByte {
                    word.append(byte)
                } else {
                    flush()
                }
                index += 1
            }
        }
        flush()
        return tokens
    }
}

extension UInt8 {
    var isWordByte: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || self == UInt8(ascii: "_") || self >= 0x80
    }
}

extension String {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
