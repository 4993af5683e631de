import Foundation
import Hummingbird
import OTLP
import Store

// Tag names and values for the search editor: /api/search/tags, /api/v2/search/tags,
// /api/search/tag/{tag}/values, /api/v2/search/tag/{tag}/values. Read from the most recent
// `sampleSpans` spans of the range (`start`/`end` in Unix seconds, default: all), at most
// `maxValues` each.

extension TempoAPI {
    enum Scope: String, CaseIterable {
        case resource, span, intrinsic
    }

    /// `GET /api/search/tags` → `{"tagNames": [...]}`; `/api/v2/search/tags?scope=` →
    /// `{"scopes": [{"name": "resource", "tags": [...]}, {"name": "span", ...}, {"name": "intrinsic", ...}]}`.
    func tags(_ request: Request, v2: Bool) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let scopes: [Scope]
        switch try form.text("scope")?.lowercased() {
        case nil, "all", "none": scopes = Scope.allCases
        case let name?:
            guard let scope = Scope(rawValue: name) else { throw .badParameter("scope", "must be resource, span, intrinsic, all or none") }
            scopes = [scope]
        }
        var names: [Scope: [String]] = [:]
        for scope in scopes {
            switch scope {
            case .intrinsic: names[scope] = Self.intrinsics
            case .span: names[scope] = try await spanTagNames(form)
            case .resource: names[scope] = try await resourceTagNames(form)
            }
        }
        if v2 {
            return Response.json { body in
                body.key("scopes")
                body.beginArray()
                for scope in scopes {
                    body.beginObject()
                    body.key("name"); body.string(scope.rawValue)
                    body.key("tags")
                    body.beginArray()
                    for name in names[scope] ?? [] { body.string(name) }
                    body.endArray()
                    body.endObject()
                }
                body.endArray()
            }
        }
        let all = Set((names[.span] ?? []) + (names[.resource] ?? [])).sorted()
        return Response.json { body in
            body.key("tagNames")
            body.beginArray()
            for name in all.prefix(Self.maxValues) { body.string(name) }
            body.endArray()
        }
    }

    /// The most recent spans of the range, as a subquery `s`.
    func sample(_ sql: inout SQLBuilder, _ form: FormParameters, columns: String) throws(GrafanaFailure) -> String {
        var conditions: [String] = []
        if let start = try form.time("start") { conditions.append("start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = try form.time("end") { conditions.append("start_time <= \(sql.bindTime(unixNano: end))") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return "(SELECT \(columns) FROM enterprise.trace_spans \(whereClause) ORDER BY start_time DESC LIMIT \(sql.bind(Int64(Self.sampleSpans))))"
    }

    func spanTagNames(_ form: FormParameters) async throws(GrafanaFailure) -> [String] {
        var sql = SQLBuilder(store.dialect)
        let spans = try sample(&sql, form, columns: "tags")
        let limit = sql.bind(Int64(Self.maxValues))
        let text: String
        switch store.dialect {
        case .sqlite:
            text = "SELECT DISTINCT j.key AS name FROM \(spans) s, json_each(s.tags) j WHERE json_valid(s.tags) ORDER BY name LIMIT \(limit)"
        case .postgres:
            text = "SELECT DISTINCT k AS name FROM \(spans) s, jsonb_object_keys(CASE WHEN jsonb_typeof(s.tags) = 'object' THEN s.tags ELSE '{}'::jsonb END) k ORDER BY name LIMIT \(limit)"
        }
        return try await read(sql.query(text)).compactMap { $0["name"].text }
    }

    func resourceTagNames(_ form: FormParameters) async throws(GrafanaFailure) -> [String] {
        var sql = SQLBuilder(store.dialect)
        let spans = try sample(&sql, form, columns: "resource")
        let limit = sql.bind(Int64(Self.maxValues))
        let text: String
        switch store.dialect {
        case .sqlite:
            text = "SELECT DISTINCT json_extract(a.value, '$.key') AS name FROM \(spans) s, json_each(s.resource, '$.attributes') a ORDER BY name LIMIT \(limit)"
        case .postgres:
            text = "SELECT DISTINCT a ->> 'key' AS name FROM \(spans) s, jsonb_array_elements(CASE WHEN jsonb_typeof(s.resource -> 'attributes') = 'array' THEN s.resource -> 'attributes' ELSE '[]'::jsonb END) a ORDER BY name LIMIT \(limit)"
        }
        return try await read(sql.query(text)).compactMap { $0["name"].text }
    }

    /// `GET /api/search/tag/{tag}/values` → `{"tagValues": ["a", ...]}` (tag unscoped:
    /// `service.name`, `http.route`); `/api/v2/search/tag/{tag}/values?q=` → `{"tagValues":
    /// [{"type": "string", "value": "a"}, ...]}` (tag scoped: `resource.service.name`, `span.x`,
    /// `.x`, `name`, `status`, `kind`); `q` narrows to spans a TraceQL filter matches.
    func tagValues(_ request: Request, tag: String, v2: Bool) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        guard !tag.isEmpty, tag.count <= 256 else { throw .badParameter("tag", "expected a tag name") }
        let attribute: TraceQLAttribute
        if v2 {
            guard let parsed = TraceQLAttribute(tag) else {
                throw .badParameter("tag", "unknown tag \"\(tag.prefix(80))\": use resource.<name>, span.<name>, .<name> or an intrinsic")
            }
            attribute = parsed
        } else {
            attribute = tag == "service.name" ? .resource("service.name") : TraceQLAttribute.intrinsics[tag] ?? .unscoped(tag)
        }
        guard attribute.key.allSatisfy({ $0.isLetter || $0.isNumber || "._-:/".contains($0) }) else {
            throw .badParameter("tag", "invalid tag name \"\(tag.prefix(80))\"")
        }
        var filter: TraceQLExpression?
        if v2, let q = try form.text("q") {
            do {
                filter = try TraceQLQuery.parse(q).filter
            } catch {
                // Grafana sends the query being typed, often incomplete: values are then not narrowed.
                filter = nil
            }
        }
        let values = try await values(of: attribute, filter: filter, form)
        return Response.json { body in
            body.key("tagValues")
            body.beginArray()
            for value in values {
                if v2 {
                    body.beginObject()
                    body.key("type"); body.string(value.type)
                    body.key("value"); body.string(value.text)
                    body.endObject()
                } else {
                    body.string(value.text)
                }
            }
            body.endArray()
            if v2 {
                body.key("metrics")
                body.beginObject()
                body.key("inspectedBytes"); body.string("0")
                body.key("completedJobs"); body.int(1)
                body.key("totalJobs"); body.int(1)
                body.endObject()
            }
        }
    }

    struct TagValue: Hashable {
        var type: String
        var text: String
    }

    func values(of attribute: TraceQLAttribute, filter: TraceQLExpression?, _ form: FormParameters) async throws(GrafanaFailure) -> [TagValue] {
        switch attribute {
        case .status: return ["error", "ok", "unset"].map { TagValue(type: "keyword", text: $0) }
        case .kind: return ["unspecified", "internal", "server", "client", "producer", "consumer"].map { TagValue(type: "keyword", text: $0) }
        case .duration, .traceDuration: return []
        default: break
        }
        // The select list comes first in the text, so its values are bound first (SQLite's `?` are positional).
        var sql = SQLBuilder(store.dialect)
        let value: String
        let type: String
        switch (attribute, sql.dialect) {
        case (.name, _): value = "s.operation_name"; type = "'string'"
        case (.statusMessage, _): value = "s.error_message"; type = "'string'"
        case (.rootName, _): value = "t.root_span_name"; type = "'string'"
        case (.rootServiceName, _), (.resource("service.name"), _), (.unscoped("service.name"), _):
            value = "s.service_name"; type = "'string'"
        case (.span(let key), .sqlite), (.unscoped(let key), .sqlite):
            let path = "$.\"" + key + "\""
            value = "json_extract(s.tags, \(sql.bind(path)))"
            type = "json_type(s.tags, \(sql.bind(path)))"
        case (.span(let key), .postgres), (.unscoped(let key), .postgres):
            value = "(s.tags ->> \(sql.bind(key)))"
            let k1 = sql.bind(key)
            let k2 = sql.bind(key)
            type = "(CASE WHEN jsonb_typeof(s.tags -> \(k1)) = 'number' AND (s.tags ->> \(k2)) ~ '^-?[0-9]+$' THEN 'int' ELSE jsonb_typeof(s.tags -> \(k1)) END)"
        case (.resource(let key), .sqlite):
            let placeholder = sql.bind(key)
            value = "(SELECT coalesce(json_extract(a.value, '$.value.stringValue'), json_extract(a.value, '$.value.intValue'), json_extract(a.value, '$.value.doubleValue'), CASE json_extract(a.value, '$.value.boolValue') WHEN 1 THEN 'true' WHEN 0 THEN 'false' END) FROM json_each(s.resource, '$.attributes') a WHERE json_extract(a.value, '$.key') = \(placeholder) LIMIT 1)"
            let again = sql.bind(key)
            type = "(SELECT CASE WHEN json_extract(a.value, '$.value.stringValue') IS NOT NULL THEN 'string' WHEN json_extract(a.value, '$.value.intValue') IS NOT NULL THEN 'int' WHEN json_extract(a.value, '$.value.doubleValue') IS NOT NULL THEN 'float' ELSE 'bool' END FROM json_each(s.resource, '$.attributes') a WHERE json_extract(a.value, '$.key') = \(again) LIMIT 1)"
        case (.resource(let key), .postgres):
            let placeholder = sql.bind(key)
            let attributes = "jsonb_array_elements(CASE WHEN jsonb_typeof(s.resource -> 'attributes') = 'array' THEN s.resource -> 'attributes' ELSE '[]'::jsonb END)"
            value = "(SELECT coalesce(a -> 'value' ->> 'stringValue', a -> 'value' ->> 'intValue', a -> 'value' ->> 'doubleValue', a -> 'value' ->> 'boolValue') FROM \(attributes) a WHERE a ->> 'key' = \(placeholder) LIMIT 1)"
            let again = sql.bind(key)
            type = "(SELECT CASE WHEN (a -> 'value' ->> 'stringValue') IS NOT NULL THEN 'string' WHEN (a -> 'value' ->> 'intValue') IS NOT NULL THEN 'int' WHEN (a -> 'value' ->> 'doubleValue') IS NOT NULL THEN 'float' ELSE 'bool' END FROM \(attributes) a WHERE a ->> 'key' = \(again) LIMIT 1)"
        default:
            return []
        }
        var conditions: [String] = []
        if let start = try form.time("start") { conditions.append("s.start_time >= \(sql.bindTime(unixNano: start))") }
        if let end = try form.time("end") { conditions.append("s.start_time <= \(sql.bindTime(unixNano: end))") }
        if let filter { conditions.append(filter.sql(&sql)) }
        let sampleLimit = sql.bind(Int64(Self.sampleSpans))
        let limit = sql.bind(Int64(Self.maxValues))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await read(sql.query("""
            SELECT DISTINCT x.v, x.ty FROM (
                SELECT \(value) AS v, \(type) AS ty FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
                \(whereClause) ORDER BY s.start_time DESC LIMIT \(sampleLimit)
            ) x WHERE x.v IS NOT NULL ORDER BY x.v LIMIT \(limit)
            """))
        var seen: Set<TagValue> = []
        var values: [TagValue] = []
        for row in rows {
            let text: String
            switch row["v"] {
            case .text(let string): text = string
            case .int(let number): text = String(number)
            case .double(let number): text = String(number)
            case .bool(let flag): text = String(flag)
            case .null: continue
            }
            let stored = row["ty"].text ?? "string"
            // SQLite's json_extract gives booleans as 1 and 0.
            let value = TagValue(type: Self.tempoType(stored), text: stored == "true" || stored == "false" ? stored : text)
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }

    /// Tempo's value types from SQLite's `json_type`/PostgreSQL's `jsonb_typeof`.
    static func tempoType(_ stored: String) -> String {
        switch stored {
        case "integer", "int": return "int"
        case "real", "float": return "float"
        case "number": return "float"
        case "true", "false", "boolean", "bool": return "bool"
        default: return "string"
        }
    }
}

extension TraceQLAttribute {
    /// The attribute name without its scope.
    var key: String {
        switch self {
        case .span(let key), .resource(let key), .unscoped(let key): return key
        default: return text
        }
    }
}
