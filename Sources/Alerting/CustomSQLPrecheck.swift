/// The checks a `custom_sql` rule passes before it is saved (DESIGN §7): one statement, a
/// SELECT (or WITH … SELECT), no writes, no locking clauses and no functions with side effects.
///
/// This is the first line; the second is where it runs: a read-only transaction with a
/// statement timeout on PostgreSQL, a `query_only` connection on SQLite, wrapped as a scalar
/// subquery so it yields one value. The scan is by hand because neither database offers a
/// "parse only" API through its driver: it skips string literals, quoted identifiers and
/// comments and looks at the words that remain.
public enum CustomSQLGuard {
    /// The longest accepted query text.
    public static let maxLength = 4000

    /// Words that never appear in a read-only query.
    static let forbiddenWords: Set<String> = [
        "insert", "update", "delete", "merge", "upsert", "replace", "drop", "create", "alter", "truncate",
        "grant", "revoke", "copy", "attach", "detach", "pragma", "vacuum", "reindex", "call", "do",
        "execute", "prepare", "deallocate", "listen", "notify", "unlisten", "lock", "set", "reset", "begin",
        "commit", "rollback", "into",
    ]

    /// Function name prefixes with side effects or that reach outside the database.
    static let forbiddenFunctionPrefixes: [String] = [
        "pg_sleep", "pg_terminate_backend", "pg_cancel_backend", "pg_advisory", "pg_try_advisory", "pg_reload_conf",
        "pg_rotate_logfile", "pg_switch_wal", "pg_notify", "pg_create", "pg_drop", "pg_read", "pg_write", "pg_ls_",
        "pg_stat_reset", "pg_file", "pg_logical", "pg_replication", "pg_promote", "pg_backup", "pg_start",
        "pg_stop", "pg_import", "set_config", "nextval", "setval", "lo_", "dblink", "load_extension",
        "txid_current", "pg_current_xact", "query_to_xml", "cursor_to_xml", "table_to_xml", "database_to_xml",
        "schema_to_xml", "readfile", "writefile", "edit", "fts3_tokenizer",
    ]

    /// `nil` when `sql` may be saved, else the problem.
    public static func problem(in sql: String) -> String? {
        let text = sql.trimmingWhitespace
        guard !text.isEmpty else { return "must not be empty" }
        guard text.count <= maxLength else { return "longer than \(maxLength) characters" }
        guard let tokens = tokens(of: text) else { return "has an unterminated string, identifier or comment" }
        var words = tokens
        // One trailing semicolon is allowed; any other means several statements.
        if words.last == ";" { words.removeLast() }
        if words.contains(";") { return "must be a single statement" }
        guard let first = words.first, first == "select" || first == "with" else {
            return "must be a SELECT (or WITH … SELECT)"
        }
        for (index, word) in words.enumerated() {
            let isCall = index + 1 < words.count && words[index + 1] == "("
            if forbiddenWords.contains(word), !(word == "replace" && isCall) { return "must be read-only (\(word.uppercased()) is not allowed)" }
            if word == "for", index + 1 < words.count,
               ["update", "share", "no", "key"].contains(words[index + 1]) {
                return "must not lock rows (FOR \(words[index + 1].uppercased()))"
            }
            if isCall, forbiddenFunctionPrefixes.contains(where: { word.hasPrefix($0) }) {
                return "must not call \(word)() (side effects)"
            }
        }
        return nil
    }

    /// The query without a trailing semicolon, for wrapping as a subquery.
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
