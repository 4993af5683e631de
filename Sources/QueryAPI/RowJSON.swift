import OTLP
import Store

/// Writes result rows as JSON objects: each column under its name; the columns that hold JSON
/// text (tags, attributes, events, …) are embedded as JSON, not as strings.
enum RowJSON {
    static let jsonColumns: Set<String> = [
        "tags", "logs", "attributes", "events", "links", "resource", "scope", "extra", "body",
    ]
    /// Columns stored as 0/1 integers on SQLite and booleans on PostgreSQL.
    static let booleanColumns: Set<String> = ["context_from_root"]

    static func write(_ row: ResultRow, into body: inout JSONWriter, skipping skipped: Set<String> = []) {
        for (column, value) in zip(row.columns, row.values) where !skipped.contains(column) {
            body.key(column)
            write(value, column: column, into: &body)
        }
    }

    static func write(_ value: SQLValue, column: String, into body: inout JSONWriter) {
        switch value {
        case .null: body.null()
        case .int(let number) where booleanColumns.contains(column): body.bool(number != 0)
        case .int(let number): body.int(number)
        case .double(let number) where number.isFinite: body.double(number)
        case .double: body.null()
        case .bool(let flag): body.bool(flag)
        case .text(let text) where jsonColumns.contains(column) && !text.isEmpty: body.rawValue(text.utf8)
        case .text(let text): body.string(text)
        }
    }
}
