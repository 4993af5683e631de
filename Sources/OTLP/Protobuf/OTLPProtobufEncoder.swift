import Foundation
import SwiftProtobuf

/// Writes the model as OTLP protobuf: export requests (for clients such as the load
/// generator and tests), and the receiver's responses (`Export*ServiceResponse`, and
/// `google.rpc.Status` for failures).
public enum OTLPProtobufEncoder {
    public static func encode(_ request: ExportTraceServiceRequest) -> Data {
        serialize(PBExportTraceServiceRequest.with { $0.resourceSpans = request.resourceSpans.map(PBResourceSpans.init) })
    }

    public static func encode(_ request: ExportLogsServiceRequest) -> Data {
        serialize(PBExportLogsServiceRequest.with { $0.resourceLogs = request.resourceLogs.map(PBResourceLogs.init) })
    }

    /// An `ExportTraceServiceResponse`: empty, or with `partialSuccess` when spans were rejected.
    public static func traceResponse(rejectedSpans: Int64 = 0, errorMessage: String = "") -> Data {
        serialize(PBExportTraceServiceResponse.with {
            if rejectedSpans > 0 || !errorMessage.isEmpty {
                $0.partialSuccess = .with { partial in
                    partial.rejectedSpans = rejectedSpans
                    partial.errorMessage = errorMessage
                }
            }
        })
    }

    /// An `ExportLogsServiceResponse`: empty, or with `partialSuccess` when records were rejected.
    public static func logsResponse(rejectedLogRecords: Int64 = 0, errorMessage: String = "") -> Data {
        serialize(PBExportLogsServiceResponse.with {
            if rejectedLogRecords > 0 || !errorMessage.isEmpty {
                $0.partialSuccess = .with { partial in
                    partial.rejectedLogRecords = rejectedLogRecords
                    partial.errorMessage = errorMessage
                }
            }
        })
    }

    /// A `google.rpc.Status`, the body of an OTLP/HTTP failure.
    public static func status(code: Int32, message: String) -> Data {
        serialize(RPCStatus.with {
            $0.code = code
            $0.message = message
        })
    }

    private static func serialize(_ message: some SwiftProtobuf.Message) -> Data {
        // Serializing a message built from the model cannot fail: it has no required fields.
        (try? message.serializedData()) ?? Data()
    }
}

/// Reads the small protobuf messages a client gets back from an OTLP/HTTP receiver.
public enum OTLPProtobufResponse {
    public struct PartialSuccess: Sendable, Hashable {
        public var rejected: Int64
        public var errorMessage: String

        public init(rejected: Int64, errorMessage: String) {
            self.rejected = rejected
            self.errorMessage = errorMessage
        }
    }

    /// The `partialSuccess` of an `ExportTraceServiceResponse` or `ExportLogsServiceResponse`
    /// (both have the same field numbers), or `nil` when it is absent.
    public static func partialSuccess(from data: Data) throws -> PartialSuccess? {
        let response = try PBExportTraceServiceResponse(serializedBytes: data)
        guard response.hasPartialSuccess else { return nil }
        return PartialSuccess(rejected: response.partialSuccess.rejectedSpans, errorMessage: response.partialSuccess.errorMessage)
    }

    /// The code and message of a `google.rpc.Status`.
    public static func status(from data: Data) throws -> (code: Int32, message: String) {
        let status = try RPCStatus(serializedBytes: data)
        return (status.code, status.message)
    }
}

// MARK: Model → generated messages

extension PBResourceSpans {
    init(_ model: ResourceSpans) {
        self.init()
        resource = PBResource(model.resource)
        scopeSpans = model.scopeSpans.map { scope in
            PBScopeSpans.with {
                $0.scope = PBInstrumentationScope(scope.scope)
                $0.spans = scope.spans.map(PBSpan.init)
                $0.schemaURL = scope.schemaUrl
            }
        }
        schemaURL = model.schemaUrl
    }
}

extension PBResourceLogs {
    init(_ model: ResourceLogs) {
        self.init()
        resource = PBResource(model.resource)
        scopeLogs = model.scopeLogs.map { scope in
            PBScopeLogs.with {
                $0.scope = PBInstrumentationScope(scope.scope)
                $0.logRecords = scope.logRecords.map(PBLogRecord.init)
                $0.schemaURL = scope.schemaUrl
            }
        }
        schemaURL = model.schemaUrl
    }
}

extension PBSpan {
    init(_ model: Span) {
        self.init()
        traceID = Data(model.traceId.bytes)
        spanID = Data(model.spanId.bytes)
        traceState = model.traceState
        parentSpanID = model.parentSpanId.map { Data($0.bytes) } ?? Data()
        flags = model.flags
        name = model.name
        kind = PBSpan.SpanKind(rawValue: Int(model.kind.rawValue)) ?? .UNRECOGNIZED(Int(model.kind.rawValue))
        startTimeUnixNano = model.startTimeUnixNano
        endTimeUnixNano = model.endTimeUnixNano
        attributes = model.attributes.map(PBKeyValue.init)
        droppedAttributesCount = model.droppedAttributesCount
        events = model.events.map { event in
            PBSpan.Event.with {
                $0.timeUnixNano = event.timeUnixNano
                $0.name = event.name
                $0.attributes = event.attributes.map(PBKeyValue.init)
                $0.droppedAttributesCount = event.droppedAttributesCount
            }
        }
        droppedEventsCount = model.droppedEventsCount
        links = model.links.map { link in
            PBSpan.Link.with {
                $0.traceID = Data(link.traceId.bytes)
                $0.spanID = Data(link.spanId.bytes)
                $0.traceState = link.traceState
                $0.attributes = link.attributes.map(PBKeyValue.init)
                $0.droppedAttributesCount = link.droppedAttributesCount
                $0.flags = link.flags
            }
        }
        droppedLinksCount = model.droppedLinksCount
        if model.status != SpanStatus() {
            status = PBStatus.with {
                $0.message = model.status.message
                $0.code = PBStatus.StatusCode(rawValue: Int(model.status.code.rawValue)) ?? .UNRECOGNIZED(Int(model.status.code.rawValue))
            }
        }
    }
}

extension PBLogRecord {
    init(_ model: LogRecord) {
        self.init()
        timeUnixNano = model.timeUnixNano
        observedTimeUnixNano = model.observedTimeUnixNano
        severityNumber = PBSeverityNumber(rawValue: Int(model.severityNumber.rawValue)) ?? .UNRECOGNIZED(Int(model.severityNumber.rawValue))
        severityText = model.severityText
        if let body = model.body { self.body = PBAnyValue(body) }
        attributes = model.attributes.map(PBKeyValue.init)
        droppedAttributesCount = model.droppedAttributesCount
        flags = model.flags
        traceID = model.traceId.map { Data($0.bytes) } ?? Data()
        spanID = model.spanId.map { Data($0.bytes) } ?? Data()
        eventName = model.eventName
    }
}

extension PBResource {
    init(_ model: Resource) {
        self.init()
        attributes = model.attributes.map(PBKeyValue.init)
        droppedAttributesCount = model.droppedAttributesCount
        entityRefs = model.entityRefs.map { ref in
            PBEntityRef.with {
                $0.schemaURL = ref.schemaUrl
                $0.type = ref.type
                $0.idKeys = ref.idKeys
                $0.descriptionKeys = ref.descriptionKeys
            }
        }
    }
}

extension PBInstrumentationScope {
    init(_ model: InstrumentationScope) {
        self.init()
        name = model.name
        version = model.version
        attributes = model.attributes.map(PBKeyValue.init)
        droppedAttributesCount = model.droppedAttributesCount
    }
}

extension PBKeyValue {
    init(_ model: KeyValue) {
        self.init()
        key = model.key
        value = PBAnyValue(model.value)
    }
}

extension PBAnyValue {
    init(_ model: AnyValue) {
        self.init()
        switch model {
        case .string(let value): self.value = .stringValue(value)
        case .bool(let value): self.value = .boolValue(value)
        case .int(let value): self.value = .intValue(value)
        case .double(let value): self.value = .doubleValue(value)
        case .bytes(let value): self.value = .bytesValue(Data(value))
        case .array(let values): self.value = .arrayValue(.with { $0.values = values.map(PBAnyValue.init) })
        case .kvlist(let values): self.value = .kvlistValue(.with { $0.values = values.map(PBKeyValue.init) })
        case .empty: self.value = nil
        }
    }
}
