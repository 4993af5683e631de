import Foundation

// The OTLP/JSON encoding of wire-model parts, used to keep the typed form of attributes,
// resources, scopes, events and links in the store.

extension JSONWriter {
    /// An `AnyValue` in OTLP/JSON form, e.g. `{"intValue":"42"}`.
    public mutating func otlp(_ value: AnyValue) {
        beginObject()
        switch value {
        case .string(let text): key("stringValue"); string(text)
        case .bool(let flag): key("boolValue"); bool(flag)
        case .int(let number): key("intValue"); string(String(number))
        case .double(let number): key("doubleValue"); double(number)
        case .bytes(let data): key("bytesValue"); string(Data(data).base64EncodedString())
        case .array(let values):
            key("arrayValue")
            beginObject()
            if !values.isEmpty {
                key("values")
                beginArray()
                for element in values { otlp(element) }
                endArray()
            }
            endObject()
        case .kvlist(let values):
            key("kvlistValue")
            beginObject()
            if !values.isEmpty {
                key("values")
                otlp(values)
            }
            endObject()
        case .empty: break
        }
        endObject()
    }

    /// Attributes in OTLP/JSON form: `[{"key":"k","value":{...}}]`.
    public mutating func otlp(_ attributes: [KeyValue]) {
        beginArray()
        for attribute in attributes {
            beginObject()
            key("key"); string(attribute.key)
            key("value"); otlp(attribute.value)
            endObject()
        }
        endArray()
    }

    /// A resource in OTLP/JSON form, with the schema URL of its `ResourceSpans`/`ResourceLogs`.
    public mutating func otlp(_ resource: Resource, schemaUrl: String) {
        beginObject()
        key("attributes"); otlp(resource.attributes)
        if resource.droppedAttributesCount > 0 { key("droppedAttributesCount"); uint(UInt64(resource.droppedAttributesCount)) }
        if !resource.entityRefs.isEmpty {
            key("entityRefs")
            beginArray()
            for ref in resource.entityRefs {
                beginObject()
                if !ref.schemaUrl.isEmpty { key("schemaUrl"); string(ref.schemaUrl) }
                key("type"); string(ref.type)
                key("idKeys"); beginArray(); ref.idKeys.forEach { string($0) }; endArray()
                key("descriptionKeys"); beginArray(); ref.descriptionKeys.forEach { string($0) }; endArray()
                endObject()
            }
            endArray()
        }
        if !schemaUrl.isEmpty { key("schemaUrl"); string(schemaUrl) }
        endObject()
    }

    /// A scope in OTLP/JSON form, with the schema URL of its `ScopeSpans`/`ScopeLogs`.
    public mutating func otlp(_ scope: InstrumentationScope, schemaUrl: String) {
        beginObject()
        key("name"); string(scope.name)
        if !scope.version.isEmpty { key("version"); string(scope.version) }
        if !scope.attributes.isEmpty { key("attributes"); otlp(scope.attributes) }
        if scope.droppedAttributesCount > 0 { key("droppedAttributesCount"); uint(UInt64(scope.droppedAttributesCount)) }
        if !schemaUrl.isEmpty { key("schemaUrl"); string(schemaUrl) }
        endObject()
    }

    /// Span events in OTLP/JSON form.
    public mutating func otlp(_ events: [SpanEvent]) {
        beginArray()
        for event in events {
            beginObject()
            key("timeUnixNano"); string(String(event.timeUnixNano))
            key("name"); string(event.name)
            if !event.attributes.isEmpty { key("attributes"); otlp(event.attributes) }
            if event.droppedAttributesCount > 0 { key("droppedAttributesCount"); uint(UInt64(event.droppedAttributesCount)) }
            endObject()
        }
        endArray()
    }

    /// Span links in OTLP/JSON form.
    public mutating func otlp(_ links: [SpanLink]) {
        beginArray()
        for link in links {
            beginObject()
            key("traceId"); string(link.traceId.hex)
            key("spanId"); string(link.spanId.hex)
            if !link.traceState.isEmpty { key("traceState"); string(link.traceState) }
            if !link.attributes.isEmpty { key("attributes"); otlp(link.attributes) }
            if link.droppedAttributesCount > 0 { key("droppedAttributesCount"); uint(UInt64(link.droppedAttributesCount)) }
            if link.flags != 0 { key("flags"); uint(UInt64(link.flags)) }
            endObject()
        }
        endArray()
    }

    /// A value in plain JSON, as queries and the `tags`/`extra` columns expect:
    /// strings, numbers, booleans, arrays and objects; bytes as base64; no value as null.
    public mutating func flat(_ value: AnyValue) {
        switch value {
        case .string(let text): string(text)
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .bytes(let data): string(Data(data).base64EncodedString())
        case .array(let values):
            beginArray()
            for element in values { flat(element) }
            endArray()
        case .kvlist(let values): flat(values)
        case .empty: null()
        }
    }

    /// Attributes as one plain JSON object.
    public mutating func flat(_ attributes: [KeyValue], skipping skipped: Set<String> = []) {
        beginObject()
        for attribute in attributes where !skipped.contains(attribute.key) {
            key(attribute.key)
            flat(attribute.value)
        }
        endObject()
    }
}
