// Reading the OTLP/JSON form of the log messages; see `Model+JSONDecoding.swift`.

extension ExportLogsServiceRequest {
    enum JSONField: Int, MessageField {
        case resourceLogs
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resourceLogs:
                resourceLogs = try reader.array { reader, index throws(JSONReadError) in
                    reader.resourceIndex = index
                    return try reader.element(ResourceLogs.init(json:))
                }
            }
        }
    }
}

extension ResourceLogs {
    enum JSONField: Int, MessageField {
        case resource, scopeLogs, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resource: resource = try reader.object(Resource.init(json:)) ?? Resource()
            case .scopeLogs:
                scopeLogs = try reader.array { reader, index throws(JSONReadError) in
                    reader.scopeIndex = index
                    return try reader.element(ScopeLogs.init(json:))
                }
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension ScopeLogs {
    enum JSONField: Int, MessageField {
        case scope, logRecords, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .scope: scope = try reader.object(InstrumentationScope.init(json:)) ?? InstrumentationScope()
            case .logRecords: logRecords = try reader.items("logRecords", in: "resourceLogs", "scopeLogs", LogRecord.init(json:))
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension LogRecord {
    enum JSONField: Int, MessageField {
        case timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body, attributes
        case droppedAttributesCount, flags, traceId, spanId, eventName
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .observedTimeUnixNano: observedTimeUnixNano = try reader.timestamp()
            case .severityNumber: severityNumber = SeverityNumber(rawValue: try reader.enumeration(names: SeverityNumber.names))
            case .severityText: severityText = try reader.string()
            case .body: body = try reader.object { reader throws(JSONReadError) in try AnyValue(json: &reader, depth: 0) }
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            case .flags: flags = try reader.uint32()
            case .traceId: traceId = try reader.traceID().flatMap { $0.isZero ? nil : $0 }
            case .spanId: spanId = try reader.spanID().flatMap { $0.isZero ? nil : $0 }
            case .eventName: eventName = try reader.string()
            }
        }
    }
}
