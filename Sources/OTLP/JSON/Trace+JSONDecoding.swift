// Reading the OTLP/JSON form of the trace messages; see `Model+JSONDecoding.swift`.

extension ExportTraceServiceRequest {
    enum JSONField: Int, MessageField {
        case resourceSpans
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resourceSpans:
                resourceSpans = try reader.array { reader, index throws(JSONReadError) in
                    reader.resourceIndex = index
                    return try reader.element(ResourceSpans.init(json:))
                }
            }
        }
    }
}

extension ResourceSpans {
    enum JSONField: Int, MessageField {
        case resource, scopeSpans, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resource: resource = try reader.object(Resource.init(json:)) ?? Resource()
            case .scopeSpans:
                scopeSpans = try reader.array { reader, index throws(JSONReadError) in
                    reader.scopeIndex = index
                    return try reader.element(ScopeSpans.init(json:))
                }
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension ScopeSpans {
    enum JSONField: Int, MessageField {
        case scope, spans, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .scope: scope = try reader.object(InstrumentationScope.init(json:)) ?? InstrumentationScope()
            case .spans: spans = try reader.items("spans", in: "resourceSpans", "scopeSpans", Span.init(json:))
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension Span {
    enum JSONField: Int, MessageField {
        case traceId, spanId, traceState, parentSpanId, flags, name, kind, startTimeUnixNano, endTimeUnixNano
        case attributes, droppedAttributesCount, events, droppedEventsCount, links, droppedLinksCount, status
        static let keys = JSONKeys(Self.self)
        static let required: [Self] = [.traceId, .spanId]
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        // The ids are required: reading fails unless both are set.
        self.init(traceId: TraceID(high: 0, low: 0), spanId: SpanID(0))
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .traceId: traceId = try reader.requiredTraceID()
            case .spanId: spanId = try reader.requiredSpanID()
            case .traceState: traceState = try reader.string()
            case .parentSpanId: parentSpanId = try reader.spanID().flatMap { $0.isZero ? nil : $0 }
            case .flags: flags = try reader.uint32()
            case .name: name = try reader.string()
            case .kind: kind = SpanKind(rawValue: try reader.enumeration(names: SpanKind.names))
            case .startTimeUnixNano: startTimeUnixNano = try reader.timestamp()
            case .endTimeUnixNano: endTimeUnixNano = try reader.timestamp()
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            case .events: events = try reader.objects(SpanEvent.init(json:))
            case .droppedEventsCount: droppedEventsCount = try reader.uint32()
            case .links: links = try reader.objects(SpanLink.init(json:))
            case .droppedLinksCount: droppedLinksCount = try reader.uint32()
            case .status: status = try reader.object(SpanStatus.init(json:)) ?? SpanStatus()
            }
        }
    }
}

extension SpanEvent {
    enum JSONField: Int, MessageField {
        case timeUnixNano, name, attributes, droppedAttributesCount
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .name: name = try reader.string()
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            }
        }
    }
}

extension SpanLink {
    enum JSONField: Int, MessageField {
        case traceId, spanId, traceState, attributes, droppedAttributesCount, flags
        static let keys = JSONKeys(Self.self)
        static let required: [Self] = [.traceId, .spanId]
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        // The ids are required: reading fails unless both are set.
        self.init(traceId: TraceID(high: 0, low: 0), spanId: SpanID(0))
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .traceId: traceId = try reader.requiredTraceID()
            case .spanId: spanId = try reader.requiredSpanID()
            case .traceState: traceState = try reader.string()
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            case .flags: flags = try reader.uint32()
            }
        }
    }
}

extension SpanStatus {
    enum JSONField: Int, MessageField {
        case message, code
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .message: message = try reader.string()
            case .code: code = StatusCode(rawValue: try reader.enumeration(names: StatusCode.names))
            }
        }
    }
}
