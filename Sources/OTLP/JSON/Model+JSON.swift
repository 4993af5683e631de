import Foundation

// Decodable conformances for the OTLP/JSON form of the wire model.

extension AnyValue: Decodable {
    private enum CodingKeys: String, CodingKey {
        case stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue
    }

    private enum ListKeys: String, CodingKey { case values }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in container.allKeys {
            switch key {
            case .stringValue:
                if let value = try container.decodeIfPresent(String.self, forKey: key) { self = .string(value); return }
            case .boolValue:
                if let value = try container.decodeIfPresent(Bool.self, forKey: key) { self = .bool(value); return }
            case .intValue:
                if try container.decodeNil(forKey: key) { continue }
                self = .int(try container.int64(key)); return
            case .doubleValue:
                if try container.decodeNil(forKey: key) { continue }
                self = .double(try container.double(key)); return
            case .bytesValue:
                guard let text = try container.decodeIfPresent(String.self, forKey: key) else { continue }
                guard let bytes = Base64.decode(text) else { throw container.corrupted(key, "expected base64") }
                self = .bytes(bytes); return
            case .arrayValue, .kvlistValue:
                if try container.decodeNil(forKey: key) { continue }
                let context = decoder.otlpContext
                context.depth += 1
                defer { context.depth -= 1 }
                guard context.depth <= context.maxValueDepth else {
                    throw container.corrupted(key, "values nest deeper than \(context.maxValueDepth) levels")
                }
                let list = try container.nestedContainer(keyedBy: ListKeys.self, forKey: key)
                if key == .arrayValue {
                    self = .array(try list.decodeIfPresent([AnyValue].self, forKey: .values) ?? [])
                } else {
                    self = .kvlist(try list.decodeIfPresent([KeyValue].self, forKey: .values) ?? [])
                }
                return
            }
        }
        self = .empty
    }
}

extension KeyValue: Decodable {
    private enum CodingKeys: String, CodingKey { case key, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.string(.key)
        value = try container.decodeIfPresent(AnyValue.self, forKey: .value) ?? .empty
    }
}

extension Resource: Decodable {
    private enum CodingKeys: String, CodingKey { case attributes, droppedAttributesCount, entityRefs }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        attributes = try container.attributes(.attributes, limit: decoder.otlpContext.maxAttributes)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
        entityRefs = try container.decodeIfPresent([EntityRef].self, forKey: .entityRefs) ?? []
    }
}

extension EntityRef: Decodable {
    private enum CodingKeys: String, CodingKey { case schemaUrl, type, idKeys, descriptionKeys }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaUrl = try container.string(.schemaUrl)
        type = try container.string(.type)
        idKeys = try container.decodeIfPresent([String].self, forKey: .idKeys) ?? []
        descriptionKeys = try container.decodeIfPresent([String].self, forKey: .descriptionKeys) ?? []
    }
}

extension InstrumentationScope: Decodable {
    private enum CodingKeys: String, CodingKey { case name, version, attributes, droppedAttributesCount }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.string(.name)
        version = try container.string(.version)
        attributes = try container.attributes(.attributes, limit: decoder.otlpContext.maxAttributes)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
    }
}

// MARK: - Traces

extension ExportTraceServiceRequest: Decodable {
    private enum CodingKeys: String, CodingKey { case resourceSpans }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resourceSpans = try container.decodeIfPresent([ResourceSpans].self, forKey: .resourceSpans) ?? []
    }
}

extension ResourceSpans: Decodable {
    private enum CodingKeys: String, CodingKey { case resource, scopeSpans, schemaUrl }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resource = try container.decodeIfPresent(Resource.self, forKey: .resource) ?? .init()
        scopeSpans = try container.decodeIfPresent([ScopeSpans].self, forKey: .scopeSpans) ?? []
        schemaUrl = try container.string(.schemaUrl)
    }
}

extension ScopeSpans: Decodable {
    private enum CodingKeys: String, CodingKey { case scope, spans, schemaUrl }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scope = try container.decodeIfPresent(InstrumentationScope.self, forKey: .scope) ?? .init()
        spans = try container.decodeItems(Span.self, forKey: .spans)
        schemaUrl = try container.string(.schemaUrl)
    }
}

extension Span: Decodable {
    private enum CodingKeys: String, CodingKey {
        case traceId, spanId, traceState, parentSpanId, flags, name, kind, startTimeUnixNano, endTimeUnixNano
        case attributes, droppedAttributesCount, events, droppedEventsCount, links, droppedLinksCount, status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let limit = decoder.otlpContext.maxAttributes
        traceId = try container.requiredTraceID(.traceId)
        spanId = try container.requiredSpanID(.spanId)
        traceState = try container.string(.traceState)
        parentSpanId = try container.spanID(.parentSpanId).flatMap { $0.isZero ? nil : $0 }
        flags = try container.uint32(.flags)
        name = try container.string(.name)
        kind = SpanKind(rawValue: try container.enumeration(.kind, names: SpanKind.names))
        startTimeUnixNano = try container.timestamp(.startTimeUnixNano)
        endTimeUnixNano = try container.timestamp(.endTimeUnixNano)
        attributes = try container.attributes(.attributes, limit: limit)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
        events = try container.decodeIfPresent([SpanEvent].self, forKey: .events) ?? []
        droppedEventsCount = try container.uint32(.droppedEventsCount)
        links = try container.decodeIfPresent([SpanLink].self, forKey: .links) ?? []
        droppedLinksCount = try container.uint32(.droppedLinksCount)
        status = try container.decodeIfPresent(SpanStatus.self, forKey: .status) ?? .init()
    }
}

extension SpanEvent: Decodable {
    private enum CodingKeys: String, CodingKey { case timeUnixNano, name, attributes, droppedAttributesCount }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeUnixNano = try container.timestamp(.timeUnixNano)
        name = try container.string(.name)
        attributes = try container.attributes(.attributes, limit: decoder.otlpContext.maxAttributes)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
    }
}

extension SpanLink: Decodable {
    private enum CodingKeys: String, CodingKey { case traceId, spanId, traceState, attributes, droppedAttributesCount, flags }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        traceId = try container.requiredTraceID(.traceId)
        spanId = try container.requiredSpanID(.spanId)
        traceState = try container.string(.traceState)
        attributes = try container.attributes(.attributes, limit: decoder.otlpContext.maxAttributes)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
        flags = try container.uint32(.flags)
    }
}

extension SpanStatus: Decodable {
    private enum CodingKeys: String, CodingKey { case message, code }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try container.string(.message)
        code = StatusCode(rawValue: try container.enumeration(.code, names: StatusCode.names))
    }
}

// MARK: - Logs

extension ExportLogsServiceRequest: Decodable {
    private enum CodingKeys: String, CodingKey { case resourceLogs }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resourceLogs = try container.decodeIfPresent([ResourceLogs].self, forKey: .resourceLogs) ?? []
    }
}

extension ResourceLogs: Decodable {
    private enum CodingKeys: String, CodingKey { case resource, scopeLogs, schemaUrl }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resource = try container.decodeIfPresent(Resource.self, forKey: .resource) ?? .init()
        scopeLogs = try container.decodeIfPresent([ScopeLogs].self, forKey: .scopeLogs) ?? []
        schemaUrl = try container.string(.schemaUrl)
    }
}

extension ScopeLogs: Decodable {
    private enum CodingKeys: String, CodingKey { case scope, logRecords, schemaUrl }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scope = try container.decodeIfPresent(InstrumentationScope.self, forKey: .scope) ?? .init()
        logRecords = try container.decodeItems(LogRecord.self, forKey: .logRecords)
        schemaUrl = try container.string(.schemaUrl)
    }
}

extension LogRecord: Decodable {
    private enum CodingKeys: String, CodingKey {
        case timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body, attributes
        case droppedAttributesCount, flags, traceId, spanId, eventName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeUnixNano = try container.timestamp(.timeUnixNano)
        observedTimeUnixNano = try container.timestamp(.observedTimeUnixNano)
        severityNumber = SeverityNumber(rawValue: try container.enumeration(.severityNumber, names: SeverityNumber.names))
        severityText = try container.string(.severityText)
        body = try container.decodeIfPresent(AnyValue.self, forKey: .body)
        attributes = try container.attributes(.attributes, limit: decoder.otlpContext.maxAttributes)
        droppedAttributesCount = try container.uint32(.droppedAttributesCount)
        flags = try container.uint32(.flags)
        traceId = try container.traceID(.traceId).flatMap { $0.isZero ? nil : $0 }
        spanId = try container.spanID(.spanId).flatMap { $0.isZero ? nil : $0 }
        eventName = try container.string(.eventName)
    }
}
