// A Loki selection as SQL over a record `l` of `enterprise.structured_logs`. Every value is
// bound; regular expressions run in the store (`REGEXP` on SQLite, `~` on PostgreSQL).

extension LokiLabelMatch {
    /// A boolean SQL expression over row `l`. A label the stream lacks counts as "" (Loki's rule),
    /// so `!=` and `!~` select streams without it.
    func sql(_ builder: inout SQLBuilder) -> String {
        if name == "level" || name == "detected_level", op == .equal || op == .notEqual, !value.isEmpty {
            // On the stored column, so its index serves.
            guard let stored = LokiLabels.levelAliases[value.lowercased()] ?? LokiLabels.levelNames.keys.first(where: { $0 == value }) else {
                return op == .equal ? "1 = 0" : "1 = 1"
            }
            return "l.level \(op == .equal ? "=" : "<>") \(builder.bind(stored))"
        }
        guard let column = LokiLabels.valueSQL(name, &builder) else {
            // A label no stream has (`__error__` too: nothing here makes errors) is "" everywhere.
            return matchesEmpty ? "1 = 1" : "1 = 0"
        }
        switch op {
        case .equal:
            return value.isEmpty ? "coalesce(\(column), '') = ''" : "\(column) = \(builder.bind(value))"
        case .notEqual:
            return "coalesce(\(column), '') <> \(builder.bind(value))"
        case .matches:
            return builder.regex("coalesce(\(column), '')", RegexPattern.anchored(value))
        case .notMatches:
            return "NOT " + builder.regex("coalesce(\(column), '')", RegexPattern.anchored(value))
        }
    }

    /// Whether a stream without the label is selected.
    var matchesEmpty: Bool {
        switch op {
        case .equal: return value.isEmpty
        case .notEqual: return !value.isEmpty
        case .matches: return RegexPattern.fullMatch(value, "")
        case .notMatches: return !RegexPattern.fullMatch(value, "")
        }
    }
}

extension LokiLineMatch {
    func sql(_ builder: inout SQLBuilder) -> String {
        switch op {
        case .contains, .notContains:
            guard !value.isEmpty else { return "1 = 1" }
            let position = builder.dialect == .sqlite ? "instr(l.message, \(builder.bind(value)))" : "strpos(l.message, \(builder.bind(value)))"
            if let column = idColumn {
                // The id columns are stored in lower case and indexed.
                let id = builder.bind(value.lowercased())
                return op == .contains ? "(\(position) > 0 OR \(column) = \(id))"
                                       : "(\(position) = 0 AND coalesce(\(column), '') <> \(id))"
            }
            return op == .contains ? "\(position) > 0" : "\(position) = 0"
        case .matches:
            return builder.regex("l.message", value)
        case .notMatches:
            return "NOT " + builder.regex("l.message", value)
        }
    }
}

extension LokiLineMatch {
    /// The id column a `contains` needle also matches: `l.trace_id` for 32 hex digits,
    /// `l.span_id` for 16.
    var idColumn: String? {
        guard value.allSatisfy(\.isHexDigit) else { return nil }
        switch value.count {
        case 32: return "l.trace_id"
        case 16: return "l.span_id"
        default: return nil
        }
    }
}

extension LokiJSONField {
    /// On SQLite the JSON functions read the field of a valid object (the first of duplicates,
    /// so a key written twice keeps the line); on PostgreSQL, which has no cast that fails
    /// softly before version 16, a regular expression finds `"key": "value"` or `"key": value`
    /// in a line that opens with `{`. A line with a `\u` escape is kept on both.
    func sql(_ builder: inout SQLBuilder) -> String {
        let quotedKey = "\"" + key + "\""
        switch builder.dialect {
        case .sqlite:
            let needle = builder.bind(quotedKey)
            let path = builder.bind("$." + key)
            // CASE, not OR: the JSON functions fail on a line that is not JSON.
            return "(CASE WHEN instr(l.message, \(builder.bind("\\u"))) > 0 THEN 1 WHEN NOT json_valid(l.message) THEN 1"
                + " WHEN json_type(l.message) <> 'object' THEN 1"
                + " WHEN instr(substr(l.message, instr(l.message, \(needle)) + length(\(needle))), \(needle)) > 0 THEN 1"
                + " ELSE coalesce(CASE json_type(l.message, \(path)) WHEN 'text' THEN json_extract(l.message, \(path)) ELSE l.message -> \(path) END"
                + " = \(builder.bind(value)), 0) END = 1)"
        case .postgres:
            let space = "[ \t\n\r]*"
            let literal = value.replacingOccurrences(of: ".", with: "\\.")
            let pattern = "\(quotedKey)\(space):\(space)(\"\(literal)\"|\(literal)[],} \t\n\r])"
            return "(l.message !~ \(builder.bind("^[ \t\n\r]*\\{")) OR strpos(l.message, \(builder.bind("\\u"))) > 0 OR "
                + builder.regex("l.message", pattern) + ")"
        }
    }
}

extension LokiSelection {
    /// The conditions on row `l`, joined with AND.
    func sql(_ builder: inout SQLBuilder) -> String {
        var conditions: [String] = []
        for matcher in matchers + labelFilters { conditions.append(matcher.sql(&builder)) }
        for filter in lineFilters { conditions.append(filter.sql(&builder)) }
        for field in jsonFields { conditions.append(field.sql(&builder)) }
        for alternatives in anyOf {
            let each = alternatives.labels.map { $0.sql(&builder) } + alternatives.lines.map { $0.sql(&builder) }
            conditions.append(each.isEmpty ? "1 = 0" : "(" + each.joined(separator: " OR ") + ")")
        }
        return conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND ")
    }
}
