// Fragments the Tempo and Loki statements share, one spelling per dialect.

extension SQLBuilder {
    /// `(value REGEXP pattern)` on SQLite (`SQLiteRegexp`), `(value ~ pattern)` on PostgreSQL:
    /// true where the pattern matches anywhere in the value (anchor it for a whole match).
    mutating func regex(_ value: String, _ pattern: String) -> String {
        switch dialect {
        case .sqlite: return "(\(value) REGEXP \(bind(pattern)))"
        case .postgres: return "(\(value) ~ \(bind(pattern)))"
        }
    }

    /// The OTLP/JSON resource of the span or log record aliased `row`: each distinct resource
    /// is stored once, in `enterprise.resources`, and the row holds its id (docs/partitioning.md).
    static func resource(of row: String) -> String {
        "coalesce((SELECT r.resource FROM enterprise.resources r WHERE r.id = \(row).resource_id), '{}')"
    }

    /// The OTLP/JSON instrumentation scope of the span or log record aliased `row` (stored once,
    /// in `enterprise.scopes`).
    static func scope(of row: String) -> String {
        "coalesce((SELECT c.scope FROM enterprise.scopes c WHERE c.id = \(row).scope_id), '{}')"
    }

    /// A table function giving one row per attribute of the OTLP/JSON resource object in
    /// `column` (`{"attributes": [{"key": …, "value": {…}}]}`), none when it has no array of
    /// attributes. Alias the rows and read them with `attributeKey`.
    func resourceAttributes(_ column: String) -> String {
        switch dialect {
        case .sqlite: return "json_each(\(column), '$.attributes')"
        case .postgres:
            return "jsonb_array_elements(CASE WHEN jsonb_typeof(\(column) -> 'attributes') = 'array' THEN \(column) -> 'attributes' ELSE '[]'::jsonb END)"
        }
    }

    /// The key of the attribute row `alias` of `resourceAttributes`.
    func attributeKey(_ alias: String) -> String {
        dialect == .sqlite ? "json_extract(\(alias).value, '$.key')" : "\(alias) ->> 'key'"
    }

    /// The `stringValue` of the attribute row `alias` of `resourceAttributes`.
    func attributeString(_ alias: String) -> String {
        dialect == .sqlite ? "json_extract(\(alias).value, '$.value.stringValue')" : "\(alias) -> 'value' ->> 'stringValue'"
    }
}
