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
            case .span: names[scope] = try await attributeNames(.span, form)
            case .resource: names[scope] = try await attributeNames(.resource, form)
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

    /// The most recent spans of the range (`start`/`end`).
    func sample(_ form: FormParameters) throws(GrafanaFailure) -> SpanSample {
        SpanSample(start: try form.time("start"), end: try form.time("end"), size: Self.sampleSpans)
    }

    func attributeNames(_ scope: SpanAttributeScope, _ form: FormParameters) async throws(GrafanaFailure) -> [String] {
        let sample = try sample(form)
        return try await reading { try await tempo.attributeNames(scope, in: sample, limit: Self.maxValues) }
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
        let sample = try sample(form)
        let values = try await reading { try await tempo.values(of: attribute.spanField, where: filter?.spanCondition, in: sample, limit: Self.maxValues) }
        return values.map { TagValue(type: $0.kind.rawValue, text: $0.text) }
    }
}

extension TraceQLAttribute {
    /// The attribute name without its scope.
    var key: String {
        switch self {
        case .span(let key), .resource(let key), .unscoped(let key), .event(let key), .link(let key): return key
        default: return text
        }
    }
}
