import Foundation

/// What is wrong with a field of a parsed protobuf message, with its path below the message
/// being converted (`traceId`, `events[2].timeUnixNano`).
struct ProtobufFieldError: Error {
    var path: String
    var message: String
    /// The bytes break the protobuf encoding of a message (not an OTLP rule): the whole
    /// payload is refused, even inside an item.
    var malformed = false
    /// Bytes that are not protobuf at all (truncated, a bad tag): reported without a path.
    var syntax = false

    static func syntax(_ message: String) -> ProtobufFieldError {
        ProtobufFieldError(path: "", message: message, malformed: true, syntax: true)
    }

    func under(_ parent: String) -> ProtobufFieldError {
        guard !syntax else { return self }
        var error = self
        error.path = path.isEmpty ? parent : parent + (path.first == "[" ? "" : ".") + path
        return error
    }
}

/// Checks parsed protobuf messages against the OTLP rules that `OTLPJSONDecoder` applies
/// (required ids of the right length, timestamps within the store's range, the limits on
/// attributes and nesting) and converts them into the model.
///
/// Invalid spans and log records are recorded in `rejected` and left out; any other error
/// rejects the payload.
struct ProtobufConverter {
    let maxValueDepth: Int
    let maxAttributes: Int
    var rejected: [OTLPDecodingError] = []

    init(maxValueDepth: Int, maxAttributes: Int) {
        self.maxValueDepth = maxValueDepth
        self.maxAttributes = maxAttributes
    }

    // MARK: Requests

    mutating func traces(_ message: PBExportTraceServiceRequest) throws(OTLPDecodingError) -> ExportTraceServiceRequest {
        try payload("") { () throws(ProtobufFieldError) in try Self.checkWire(message) }
        var request = ExportTraceServiceRequest()
        request.resourceSpans.reserveCapacity(message.resourceSpans.count)
        for (resourceIndex, pbResource) in message.resourceSpans.enumerated() {
            let resourcePath = "resourceSpans[\(resourceIndex)]"
            var resourceSpans = ResourceSpans(resource: try payload(resourcePath) { () throws(ProtobufFieldError) in
                try Self.checkWire(pbResource)
                return try resource(pbResource.resource)
            }, schemaUrl: pbResource.schemaURL)
            resourceSpans.scopeSpans.reserveCapacity(pbResource.scopeSpans.count)
            for (scopeIndex, pbScope) in pbResource.scopeSpans.enumerated() {
                let scopePath = "\(resourcePath).scopeSpans[\(scopeIndex)]"
                var scopeSpans = ScopeSpans(scope: try payload(scopePath) { () throws(ProtobufFieldError) in
                    try Self.checkWire(pbScope)
                    return try scope(pbScope.scope)
                }, schemaUrl: pbScope.schemaURL)
                scopeSpans.spans.reserveCapacity(pbScope.spans.count)
                for (spanIndex, pbSpan) in pbScope.spans.enumerated() {
                    do throws(ProtobufFieldError) {
                        scopeSpans.spans.append(try span(pbSpan))
                    } catch {
                        try reject(error.under("\(scopePath).spans[\(spanIndex)]"))
                    }
                }
                resourceSpans.scopeSpans.append(scopeSpans)
            }
            request.resourceSpans.append(resourceSpans)
        }
        return request
    }

    mutating func logs(_ message: PBExportLogsServiceRequest) throws(OTLPDecodingError) -> ExportLogsServiceRequest {
        try payload("") { () throws(ProtobufFieldError) in try Self.checkWire(message) }
        var request = ExportLogsServiceRequest()
        request.resourceLogs.reserveCapacity(message.resourceLogs.count)
        for (resourceIndex, pbResource) in message.resourceLogs.enumerated() {
            let resourcePath = "resourceLogs[\(resourceIndex)]"
            var resourceLogs = ResourceLogs(resource: try payload(resourcePath) { () throws(ProtobufFieldError) in
                try Self.checkWire(pbResource)
                return try resource(pbResource.resource)
            }, schemaUrl: pbResource.schemaURL)
            resourceLogs.scopeLogs.reserveCapacity(pbResource.scopeLogs.count)
            for (scopeIndex, pbScope) in pbResource.scopeLogs.enumerated() {
                let scopePath = "\(resourcePath).scopeLogs[\(scopeIndex)]"
                var scopeLogs = ScopeLogs(scope: try payload(scopePath) { () throws(ProtobufFieldError) in
                    try Self.checkWire(pbScope)
                    return try scope(pbScope.scope)
                }, schemaUrl: pbScope.schemaURL)
                scopeLogs.logRecords.reserveCapacity(pbScope.logRecords.count)
                for (recordIndex, pbRecord) in pbScope.logRecords.enumerated() {
                    do throws(ProtobufFieldError) {
                        scopeLogs.logRecords.append(try logRecord(pbRecord))
                    } catch {
                        try reject(error.under("\(scopePath).logRecords[\(recordIndex)]"))
                    }
                }
                resourceLogs.scopeLogs.append(scopeLogs)
            }
            request.resourceLogs.append(resourceLogs)
        }
        return request
    }

    /// Records an invalid item, unless its bytes are malformed: that refuses the payload.
    mutating func reject(_ error: ProtobufFieldError) throws(OTLPDecodingError) {
        guard !error.malformed else { throw OTLPDecodingError(error) }
        rejected.append(OTLPDecodingError(error))
    }

    /// A part of the payload outside the items: an error in it rejects the whole payload.
    func payload<Value>(_ path: String, _ convert: () throws(ProtobufFieldError) -> Value) throws(OTLPDecodingError) -> Value {
        do throws(ProtobufFieldError) {
            return try convert()
        } catch {
            throw OTLPDecodingError(error.under(path))
        }
    }

    // MARK: Items

    func span(_ pb: PBSpan) throws(ProtobufFieldError) -> Span {
        try Self.checkWire(pb)
        var span = Span(
            traceId: try at("traceId") { () throws(ProtobufFieldError) in try Self.requiredTraceID(pb.traceID) },
            spanId: try at("spanId") { () throws(ProtobufFieldError) in try Self.requiredSpanID(pb.spanID) }
        )
        span.traceState = pb.traceState
        span.parentSpanId = try at("parentSpanId") { () throws(ProtobufFieldError) in try Self.optionalSpanID(pb.parentSpanID) }
        span.flags = pb.flags
        span.name = pb.name
        span.kind = SpanKind(rawValue: Int32(truncatingIfNeeded: pb.kind.rawValue))
        span.startTimeUnixNano = try at("startTimeUnixNano") { () throws(ProtobufFieldError) in try Self.timestamp(pb.startTimeUnixNano) }
        span.endTimeUnixNano = try at("endTimeUnixNano") { () throws(ProtobufFieldError) in try Self.timestamp(pb.endTimeUnixNano) }
        span.attributes = try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) }
        span.droppedAttributesCount = pb.droppedAttributesCount
        span.events = try elements("events", pb.events, event)
        span.droppedEventsCount = pb.droppedEventsCount
        span.links = try elements("links", pb.links, link)
        span.droppedLinksCount = pb.droppedLinksCount
        if pb.hasStatus {
            try at("status") { () throws(ProtobufFieldError) in try Self.checkWire(pb.status) }
            span.status = SpanStatus(message: pb.status.message, code: StatusCode(rawValue: Int32(truncatingIfNeeded: pb.status.code.rawValue)))
        }
        return span
    }

    func event(_ pb: PBSpan.Event) throws(ProtobufFieldError) -> SpanEvent {
        try Self.checkWire(pb)
        return SpanEvent(
            timeUnixNano: try at("timeUnixNano") { () throws(ProtobufFieldError) in try Self.timestamp(pb.timeUnixNano) },
            name: pb.name,
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            droppedAttributesCount: pb.droppedAttributesCount
        )
    }

    func link(_ pb: PBSpan.Link) throws(ProtobufFieldError) -> SpanLink {
        try Self.checkWire(pb)
        return SpanLink(
            traceId: try at("traceId") { () throws(ProtobufFieldError) in try Self.requiredTraceID(pb.traceID) },
            spanId: try at("spanId") { () throws(ProtobufFieldError) in try Self.requiredSpanID(pb.spanID) },
            traceState: pb.traceState,
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            droppedAttributesCount: pb.droppedAttributesCount,
            flags: pb.flags
        )
    }

    func logRecord(_ pb: PBLogRecord) throws(ProtobufFieldError) -> LogRecord {
        try Self.checkWire(pb)
        return LogRecord(
            timeUnixNano: try at("timeUnixNano") { () throws(ProtobufFieldError) in try Self.timestamp(pb.timeUnixNano) },
            observedTimeUnixNano: try at("observedTimeUnixNano") { () throws(ProtobufFieldError) in
                try Self.timestamp(pb.observedTimeUnixNano)
            },
            severityNumber: SeverityNumber(rawValue: Int32(truncatingIfNeeded: pb.severityNumber.rawValue)),
            severityText: pb.severityText,
            body: pb.hasBody ? try at("body") { () throws(ProtobufFieldError) in try value(pb.body, depth: 0) } : nil,
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            droppedAttributesCount: pb.droppedAttributesCount,
            flags: pb.flags,
            traceId: try at("traceId") { () throws(ProtobufFieldError) in try Self.optionalTraceID(pb.traceID) },
            spanId: try at("spanId") { () throws(ProtobufFieldError) in try Self.optionalSpanID(pb.spanID) },
            eventName: pb.eventName
        )
    }

    // MARK: Shared messages

    func resource(_ pb: PBResource) throws(ProtobufFieldError) -> Resource {
        try at("resource") { () throws(ProtobufFieldError) in try Self.checkWire(pb) }
        return Resource(
            attributes: try at("resource.attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            droppedAttributesCount: pb.droppedAttributesCount,
            entityRefs: try elements("resource.entityRefs", pb.entityRefs) { (ref: PBEntityRef) throws(ProtobufFieldError) in
                try Self.checkWire(ref)
                return EntityRef(schemaUrl: ref.schemaURL, type: ref.type, idKeys: ref.idKeys, descriptionKeys: ref.descriptionKeys)
            }
        )
    }

    func scope(_ pb: PBInstrumentationScope) throws(ProtobufFieldError) -> InstrumentationScope {
        try at("scope") { () throws(ProtobufFieldError) in try Self.checkWire(pb) }
        return InstrumentationScope(
            name: pb.name,
            version: pb.version,
            attributes: try at("scope.attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            droppedAttributesCount: pb.droppedAttributesCount
        )
    }

    /// The attributes of a resource, scope, span, event, link or log record.
    func attributes(_ pb: [PBKeyValue]) throws(ProtobufFieldError) -> [KeyValue] {
        guard pb.count <= maxAttributes else {
            throw ProtobufFieldError(path: "", message: "\(pb.count) attributes exceed the limit of \(maxAttributes)")
        }
        return try keyValues(pb, depth: 0)
    }

    private func keyValues(_ pb: [PBKeyValue], depth: Int) throws(ProtobufFieldError) -> [KeyValue] {
        var result: [KeyValue] = []
        result.reserveCapacity(pb.count)
        for (index, pair) in pb.enumerated() {
            try at("[\(index)]") { () throws(ProtobufFieldError) in try Self.checkWire(pair) }
            do throws(ProtobufFieldError) {
                result.append(KeyValue(key: pair.key, value: pair.hasValue ? try value(pair.value, depth: depth) : .empty))
            } catch {
                throw error.under("[\(index)].value")
            }
        }
        return result
    }

    /// A value inside `depth` array and map values. A value with no member set (or only a
    /// dictionary index, which traces and logs do not use) is `.empty`, as `{}` is in JSON.
    func value(_ pb: PBAnyValue, depth: Int) throws(ProtobufFieldError) -> AnyValue {
        try Self.checkWire(pb)
        switch pb.value {
        case .stringValue(let value): return .string(value)
        case .boolValue(let value): return .bool(value)
        case .intValue(let value): return .int(value)
        case .doubleValue(let value): return .double(value)
        case .bytesValue(let value): return .bytes(Array(value))
        case .arrayValue(let list):
            try checkDepth(depth, "arrayValue")
            try at("arrayValue") { () throws(ProtobufFieldError) in try Self.checkWire(list) }
            var values: [AnyValue] = []
            values.reserveCapacity(list.values.count)
            for (index, element) in list.values.enumerated() {
                do throws(ProtobufFieldError) {
                    values.append(try value(element, depth: depth + 1))
                } catch {
                    throw error.under("arrayValue.values[\(index)]")
                }
            }
            return .array(values)
        case .kvlistValue(let list):
            try checkDepth(depth, "kvlistValue")
            try at("kvlistValue") { () throws(ProtobufFieldError) in try Self.checkWire(list) }
            do throws(ProtobufFieldError) {
                return .kvlist(try keyValues(list.values, depth: depth + 1))
            } catch {
                throw error.under("kvlistValue.values")
            }
        case .stringValueStrindex, nil:
            return .empty
        }
    }

    private func checkDepth(_ depth: Int, _ field: String) throws(ProtobufFieldError) {
        guard depth < maxValueDepth else {
            throw ProtobufFieldError(path: field, message: "values nest deeper than \(maxValueDepth) levels")
        }
    }

    // MARK: Scalars

    static func requiredTraceID(_ bytes: Data) throws(ProtobufFieldError) -> TraceID {
        guard let id = try optionalTraceID(bytes, keepZero: true) else { throw ProtobufFieldError(path: "", message: "is required") }
        guard !id.isZero else { throw ProtobufFieldError(path: "", message: "must not be all zeros") }
        return id
    }

    static func requiredSpanID(_ bytes: Data) throws(ProtobufFieldError) -> SpanID {
        guard let id = try optionalSpanID(bytes, keepZero: true) else { throw ProtobufFieldError(path: "", message: "is required") }
        guard !id.isZero else { throw ProtobufFieldError(path: "", message: "must not be all zeros") }
        return id
    }

    /// An id that may be absent: empty (or, unless `keepZero`, all zeros) is `nil`.
    static func optionalTraceID(_ bytes: Data, keepZero: Bool = false) throws(ProtobufFieldError) -> TraceID? {
        if bytes.isEmpty { return nil }
        guard let id = TraceID(bytes: bytes) else {
            throw ProtobufFieldError(path: "", message: "expected 16 bytes, got \(bytes.count)")
        }
        return id.isZero && !keepZero ? nil : id
    }

    static func optionalSpanID(_ bytes: Data, keepZero: Bool = false) throws(ProtobufFieldError) -> SpanID? {
        if bytes.isEmpty { return nil }
        guard let id = SpanID(bytes: bytes) else {
            throw ProtobufFieldError(path: "", message: "expected 8 bytes, got \(bytes.count)")
        }
        return id.isZero && !keepZero ? nil : id
    }

    /// A nanosecond timestamp that must fit the store's signed 64-bit columns.
    static func timestamp(_ value: UInt64) throws(ProtobufFieldError) -> UInt64 {
        guard value <= UInt64(Int64.max) else { throw ProtobufFieldError(path: "", message: "timestamp out of range") }
        return value
    }

    // MARK: Paths

    /// Runs `convert`, adding `field` to the path of any error it throws.
    @inline(__always)
    func at<Value>(_ field: String, _ convert: () throws(ProtobufFieldError) -> Value) throws(ProtobufFieldError) -> Value {
        do throws(ProtobufFieldError) {
            return try convert()
        } catch {
            throw error.under(field)
        }
    }

    /// Converts a repeated message field, adding `field[index]` to the path of an error.
    func elements<Element, Value>(
        _ field: String, _ elements: [Element], _ convert: (Element) throws(ProtobufFieldError) -> Value
    ) throws(ProtobufFieldError) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do throws(ProtobufFieldError) {
                values.append(try convert(element))
            } catch {
                throw error.under("\(field)[\(index)]")
            }
        }
        return values
    }
}

extension OTLPDecodingError {
    init(_ error: ProtobufFieldError) {
        self.init(path: error.path, message: error.message)
    }
}
