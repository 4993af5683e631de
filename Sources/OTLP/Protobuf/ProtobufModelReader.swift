/// Reads OTLP protobuf straight into the model, in one pass over the bytes, with the rules of
/// `OTLPJSONDecoder` (and of `ProtobufConverter`, which does the same from swift-protobuf's
/// generated messages and serves as the reference in tests).
///
/// Errors come in two kinds (`ProtobufFieldError.malformed`): bytes that are not a valid
/// message refuse the payload; a broken OTLP rule inside a span or log record rejects that
/// item only. When an item breaks a rule, the rest of its bytes are still checked (in
/// `lenient` mode, rules off), so malformed bytes anywhere refuse the payload, as they do for
/// the reference. Among several broken rules in one item, the first in the JSON field order
/// is reported, as in JSON.
struct ProtobufModelReader {
    typealias Wire = ProtobufWireReader

    let maxValueDepth: Int
    let maxAttributes: Int
    /// Rules off: only the wire format is checked (the second look at an invalid item).
    var lenient = false
    var rejected: [OTLPDecodingError] = []

    init(maxValueDepth: Int, maxAttributes: Int) {
        self.maxValueDepth = maxValueDepth
        self.maxAttributes = maxAttributes
    }

    // MARK: Requests

    mutating func traces(_ wire: inout Wire) throws(ProtobufFieldError) -> ExportTraceServiceRequest {
        var request = ExportTraceServiceRequest()
        while let (number, wireType) = try wire.nextField() {
            guard number == 1 else { try wire.skip(wireType, number: number); continue }
            try Wire.expect(wireType, .lengthDelimited, number: number)
            var message = try wire.message(try wire.lengthDelimited())
            let index = request.resourceSpans.count
            do throws(ProtobufFieldError) {
                request.resourceSpans.append(try resourceSpans(&message, path: "resourceSpans[\(index)]"))
            } catch {
                throw error.under("resourceSpans[\(index)]")
            }
        }
        return request
    }

    mutating func logs(_ wire: inout Wire) throws(ProtobufFieldError) -> ExportLogsServiceRequest {
        var request = ExportLogsServiceRequest()
        while let (number, wireType) = try wire.nextField() {
            guard number == 1 else { try wire.skip(wireType, number: number); continue }
            try Wire.expect(wireType, .lengthDelimited, number: number)
            var message = try wire.message(try wire.lengthDelimited())
            let index = request.resourceLogs.count
            do throws(ProtobufFieldError) {
                request.resourceLogs.append(try resourceLogs(&message, path: "resourceLogs[\(index)]"))
            } catch {
                throw error.under("resourceLogs[\(index)]")
            }
        }
        return request
    }

    private mutating func resourceSpans(_ wire: inout Wire, path: String) throws(ProtobufFieldError) -> ResourceSpans {
        var result = ResourceSpans()
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try at("resource") { () throws(ProtobufFieldError) in try resource(&message, into: &result.resource) }
            case 2:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                let index = result.scopeSpans.count
                let scopePath = "\(path).scopeSpans[\(index)]"
                do throws(ProtobufFieldError) {
                    result.scopeSpans.append(try scopeSpans(&message, path: scopePath))
                } catch {
                    throw error.under("scopeSpans[\(index)]")
                }
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                result.schemaUrl = try wire.string()
            default: try wire.skip(wireType, number: number)
            }
        }
        try at("resource.attributes") { () throws(ProtobufFieldError) in try checkCount(result.resource.attributes) }
        return result
    }

    private mutating func resourceLogs(_ wire: inout Wire, path: String) throws(ProtobufFieldError) -> ResourceLogs {
        var result = ResourceLogs()
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try at("resource") { () throws(ProtobufFieldError) in try resource(&message, into: &result.resource) }
            case 2:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                let index = result.scopeLogs.count
                let scopePath = "\(path).scopeLogs[\(index)]"
                do throws(ProtobufFieldError) {
                    result.scopeLogs.append(try scopeLogs(&message, path: scopePath))
                } catch {
                    throw error.under("scopeLogs[\(index)]")
                }
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                result.schemaUrl = try wire.string()
            default: try wire.skip(wireType, number: number)
            }
        }
        try at("resource.attributes") { () throws(ProtobufFieldError) in try checkCount(result.resource.attributes) }
        return result
    }

    private mutating func scopeSpans(_ wire: inout Wire, path: String) throws(ProtobufFieldError) -> ScopeSpans {
        var result = ScopeSpans()
        var spanIndex = 0
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try at("scope") { () throws(ProtobufFieldError) in try scope(&message, into: &result.scope) }
            case 2:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                let range = try wire.lengthDelimited()
                var message = try wire.message(range)
                do throws(ProtobufFieldError) {
                    if let span = try item(&message, range: range, read: { reader, wire throws(ProtobufFieldError) in try reader.span(&wire) }) {
                        result.spans.append(span)
                    }
                } catch {
                    try reject(error, at: "spans[\(spanIndex)]", under: path)
                }
                spanIndex += 1
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                result.schemaUrl = try wire.string()
            default: try wire.skip(wireType, number: number)
            }
        }
        try at("scope.attributes") { () throws(ProtobufFieldError) in try checkCount(result.scope.attributes) }
        return result
    }

    private mutating func scopeLogs(_ wire: inout Wire, path: String) throws(ProtobufFieldError) -> ScopeLogs {
        var result = ScopeLogs()
        var recordIndex = 0
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try at("scope") { () throws(ProtobufFieldError) in try scope(&message, into: &result.scope) }
            case 2:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                let range = try wire.lengthDelimited()
                var message = try wire.message(range)
                do throws(ProtobufFieldError) {
                    if let record = try item(&message, range: range, read: { reader, wire throws(ProtobufFieldError) in try reader.logRecord(&wire) }) {
                        result.logRecords.append(record)
                    }
                } catch {
                    try reject(error, at: "logRecords[\(recordIndex)]", under: path)
                }
                recordIndex += 1
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                result.schemaUrl = try wire.string()
            default: try wire.skip(wireType, number: number)
            }
        }
        try at("scope.attributes") { () throws(ProtobufFieldError) in try checkCount(result.scope.attributes) }
        return result
    }

    /// Reads one span or log record. When it breaks a rule, its bytes are read again with the
    /// rules off, so that malformed bytes later in it still refuse the payload.
    private func item<Item>(_ wire: inout Wire, range: Range<Int>,
                            read: (inout ProtobufModelReader, inout Wire) throws(ProtobufFieldError) -> Item) throws(ProtobufFieldError) -> Item? {
        let start = wire
        var reader = self
        do throws(ProtobufFieldError) {
            return try read(&reader, &wire)
        } catch {
            guard !error.malformed else { throw error }
            var again = start
            var lenient = self
            lenient.lenient = true
            _ = try read(&lenient, &again)
            throw error
        }
    }

    /// Records an invalid item, unless its bytes are malformed: that refuses the payload.
    private mutating func reject(_ error: ProtobufFieldError, at item: String, under scopePath: String) throws(ProtobufFieldError) {
        guard !error.malformed else { throw error.under(item) }
        rejected.append(OTLPDecodingError(error.under("\(scopePath).\(item)")))
    }

    // MARK: Items

    /// The rank of a field in the JSON field order: among several broken rules, the lowest is reported.
    private struct FirstError {
        var error: ProtobufFieldError?
        var rank = Int.max

        mutating func note(_ error: ProtobufFieldError, rank: Int) throws(ProtobufFieldError) {
            guard !error.malformed else { throw error }
            if rank < self.rank { (self.error, self.rank) = (error, rank) }
        }
    }

    mutating func span(_ wire: inout Wire) throws(ProtobufFieldError) -> Span {
        var span = Span(traceId: TraceID(high: 0, low: 0), spanId: SpanID(0))
        var traceID: Range<Int>?, spanID: Range<Int>?
        var first = FirstError()
        while let (number, wireType) = try wire.nextField() {
            do throws(ProtobufFieldError) {
                switch number {
                case 1: try Wire.expect(wireType, .lengthDelimited, number: number); traceID = try wire.lengthDelimited()
                case 2: try Wire.expect(wireType, .lengthDelimited, number: number); spanID = try wire.lengthDelimited()
                case 3: try Wire.expect(wireType, .lengthDelimited, number: number); span.traceState = try wire.string()
                case 4:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    let bytes = try wire.lengthDelimited()
                    span.parentSpanId = try at("parentSpanId") { () throws(ProtobufFieldError) in try self.spanID(bytes, in: wire, required: false) }
                case 5: try Wire.expect(wireType, .lengthDelimited, number: number); span.name = try wire.string()
                case 6: try Wire.expect(wireType, .varint, number: number); span.kind = SpanKind(rawValue: Int32(truncatingIfNeeded: try wire.varint()))
                case 7:
                    try Wire.expect(wireType, .fixed64, number: number)
                    span.startTimeUnixNano = try at("startTimeUnixNano") { () throws(ProtobufFieldError) in try timestamp(try wire.fixed64()) }
                case 8:
                    try Wire.expect(wireType, .fixed64, number: number)
                    span.endTimeUnixNano = try at("endTimeUnixNano") { () throws(ProtobufFieldError) in try timestamp(try wire.fixed64()) }
                case 9:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    try appendAttribute(&wire, to: &span.attributes, field: "attributes")
                case 10: try Wire.expect(wireType, .varint, number: number); span.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
                case 11:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    var message = try wire.message(try wire.lengthDelimited())
                    let index = span.events.count
                    span.events.append(try at("events[\(index)]") { () throws(ProtobufFieldError) in try event(&message) })
                case 12: try Wire.expect(wireType, .varint, number: number); span.droppedEventsCount = UInt32(truncatingIfNeeded: try wire.varint())
                case 13:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    var message = try wire.message(try wire.lengthDelimited())
                    let index = span.links.count
                    span.links.append(try at("links[\(index)]") { () throws(ProtobufFieldError) in try link(&message) })
                case 14: try Wire.expect(wireType, .varint, number: number); span.droppedLinksCount = UInt32(truncatingIfNeeded: try wire.varint())
                case 15:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    var message = try wire.message(try wire.lengthDelimited())
                    try at("status") { () throws(ProtobufFieldError) in try status(&message, into: &span.status) }
                case 16: try Wire.expect(wireType, .fixed32, number: number); span.flags = try wire.fixed32()
                default: try wire.skip(wireType, number: number)
                }
            } catch {
                // The JSON field order: traceId, spanId, traceState, parentSpanId, flags, name, ...
                try first.note(error, rank: number == 16 ? 4 : number <= 3 ? number - 1 : number == 4 ? 3 : number)
            }
        }
        do throws(ProtobufFieldError) {
            span.traceId = try at("traceId") { () throws(ProtobufFieldError) in try requiredTraceID(traceID, in: wire) }
        } catch {
            try first.note(error, rank: 0)
        }
        do throws(ProtobufFieldError) {
            span.spanId = try at("spanId") { () throws(ProtobufFieldError) in try requiredSpanID(spanID, in: wire) }
        } catch {
            try first.note(error, rank: 1)
        }
        do throws(ProtobufFieldError) {
            try at("attributes") { () throws(ProtobufFieldError) in try checkCount(span.attributes) }
        } catch {
            try first.note(error, rank: 9)
        }
        if let error = first.error { throw error }
        return span
    }

    private func event(_ wire: inout Wire) throws(ProtobufFieldError) -> SpanEvent {
        var event = SpanEvent()
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .fixed64, number: number)
                event.timeUnixNano = try at("timeUnixNano") { () throws(ProtobufFieldError) in try timestamp(try wire.fixed64()) }
            case 2: try Wire.expect(wireType, .lengthDelimited, number: number); event.name = try wire.string()
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                try appendAttribute(&wire, to: &event.attributes, field: "attributes")
            case 4: try Wire.expect(wireType, .varint, number: number); event.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
            default: try wire.skip(wireType, number: number)
            }
        }
        try at("attributes") { () throws(ProtobufFieldError) in try checkCount(event.attributes) }
        return event
    }

    private func link(_ wire: inout Wire) throws(ProtobufFieldError) -> SpanLink {
        var link = SpanLink(traceId: TraceID(high: 0, low: 0), spanId: SpanID(0))
        var traceID: Range<Int>?, spanID: Range<Int>?
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1: try Wire.expect(wireType, .lengthDelimited, number: number); traceID = try wire.lengthDelimited()
            case 2: try Wire.expect(wireType, .lengthDelimited, number: number); spanID = try wire.lengthDelimited()
            case 3: try Wire.expect(wireType, .lengthDelimited, number: number); link.traceState = try wire.string()
            case 4:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                try appendAttribute(&wire, to: &link.attributes, field: "attributes")
            case 5: try Wire.expect(wireType, .varint, number: number); link.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
            case 6: try Wire.expect(wireType, .fixed32, number: number); link.flags = try wire.fixed32()
            default: try wire.skip(wireType, number: number)
            }
        }
        link.traceId = try at("traceId") { () throws(ProtobufFieldError) in try requiredTraceID(traceID, in: wire) }
        link.spanId = try at("spanId") { () throws(ProtobufFieldError) in try requiredSpanID(spanID, in: wire) }
        try at("attributes") { () throws(ProtobufFieldError) in try checkCount(link.attributes) }
        return link
    }

    private func status(_ wire: inout Wire, into status: inout SpanStatus) throws(ProtobufFieldError) {
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 2: try Wire.expect(wireType, .lengthDelimited, number: number); status.message = try wire.string()
            case 3: try Wire.expect(wireType, .varint, number: number); status.code = StatusCode(rawValue: Int32(truncatingIfNeeded: try wire.varint()))
            default: try wire.skip(wireType, number: number)
            }
        }
    }

    mutating func logRecord(_ wire: inout Wire) throws(ProtobufFieldError) -> LogRecord {
        var record = LogRecord()
        var first = FirstError()
        while let (number, wireType) = try wire.nextField() {
            do throws(ProtobufFieldError) {
                switch number {
                case 1:
                    try Wire.expect(wireType, .fixed64, number: number)
                    record.timeUnixNano = try at("timeUnixNano") { () throws(ProtobufFieldError) in try timestamp(try wire.fixed64()) }
                case 2:
                    try Wire.expect(wireType, .varint, number: number)
                    record.severityNumber = SeverityNumber(rawValue: Int32(truncatingIfNeeded: try wire.varint()))
                case 3: try Wire.expect(wireType, .lengthDelimited, number: number); record.severityText = try wire.string()
                case 5:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    var message = try wire.message(try wire.lengthDelimited())
                    let existing = record.body
                    record.body = try at("body") { () throws(ProtobufFieldError) in try value(&message, depth: 0, merging: existing) }
                case 6:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    try appendAttribute(&wire, to: &record.attributes, field: "attributes")
                case 7: try Wire.expect(wireType, .varint, number: number); record.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
                case 8: try Wire.expect(wireType, .fixed32, number: number); record.flags = try wire.fixed32()
                case 9:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    let bytes = try wire.lengthDelimited()
                    record.traceId = try at("traceId") { () throws(ProtobufFieldError) in try traceID(bytes, in: wire, required: false) }
                case 10:
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    let bytes = try wire.lengthDelimited()
                    record.spanId = try at("spanId") { () throws(ProtobufFieldError) in try spanID(bytes, in: wire, required: false) }
                case 11:
                    try Wire.expect(wireType, .fixed64, number: number)
                    record.observedTimeUnixNano = try at("observedTimeUnixNano") { () throws(ProtobufFieldError) in try timestamp(try wire.fixed64()) }
                case 12: try Wire.expect(wireType, .lengthDelimited, number: number); record.eventName = try wire.string()
                default: try wire.skip(wireType, number: number) // including 4, reserved
                }
            } catch {
                // The JSON field order: timeUnixNano, observedTimeUnixNano, severityNumber, ...
                let rank = [1: 0, 11: 1, 2: 2, 3: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 12: 10][number] ?? number
                try first.note(error, rank: rank)
            }
        }
        do throws(ProtobufFieldError) {
            try at("attributes") { () throws(ProtobufFieldError) in try checkCount(record.attributes) }
        } catch {
            try first.note(error, rank: 5)
        }
        if let error = first.error { throw error }
        return record
    }

    // MARK: Shared messages

    private func resource(_ wire: inout Wire, into resource: inout Resource) throws(ProtobufFieldError) {
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                try appendAttribute(&wire, to: &resource.attributes, field: "attributes")
            case 2: try Wire.expect(wireType, .varint, number: number); resource.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                let index = resource.entityRefs.count
                resource.entityRefs.append(try at("entityRefs[\(index)]") { () throws(ProtobufFieldError) in try entityRef(&message) })
            default: try wire.skip(wireType, number: number)
            }
        }
    }

    private func entityRef(_ wire: inout Wire) throws(ProtobufFieldError) -> EntityRef {
        var ref = EntityRef()
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1: try Wire.expect(wireType, .lengthDelimited, number: number); ref.schemaUrl = try wire.string()
            case 2: try Wire.expect(wireType, .lengthDelimited, number: number); ref.type = try wire.string()
            case 3: try Wire.expect(wireType, .lengthDelimited, number: number); ref.idKeys.append(try wire.string())
            case 4: try Wire.expect(wireType, .lengthDelimited, number: number); ref.descriptionKeys.append(try wire.string())
            default: try wire.skip(wireType, number: number)
            }
        }
        return ref
    }

    private func scope(_ wire: inout Wire, into scope: inout InstrumentationScope) throws(ProtobufFieldError) {
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1: try Wire.expect(wireType, .lengthDelimited, number: number); scope.name = try wire.string()
            case 2: try Wire.expect(wireType, .lengthDelimited, number: number); scope.version = try wire.string()
            case 3:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                try appendAttribute(&wire, to: &scope.attributes, field: "attributes")
            case 4: try Wire.expect(wireType, .varint, number: number); scope.droppedAttributesCount = UInt32(truncatingIfNeeded: try wire.varint())
            default: try wire.skip(wireType, number: number)
            }
        }
    }

    /// Reads one `KeyValue` (the field's bytes are next) and appends it to `attributes`.
    private func appendAttribute(_ wire: inout Wire, to attributes: inout [KeyValue], field: String) throws(ProtobufFieldError) {
        var message = try wire.message(try wire.lengthDelimited())
        let index = attributes.count
        attributes.append(try keyValue(&message, depth: 0, path: "\(field)[\(index)]"))
    }

    private func keyValue(_ wire: inout Wire, depth: Int, path: @autoclosure () -> String) throws(ProtobufFieldError) -> KeyValue {
        var pair = KeyValue(key: "", value: .empty)
        var hasValue = false
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1:
                do throws(ProtobufFieldError) {
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                    pair.key = try wire.string()
                } catch {
                    throw error.under(path())
                }
            case 2:
                do throws(ProtobufFieldError) {
                    try Wire.expect(wireType, .lengthDelimited, number: number)
                } catch {
                    throw error.under(path())
                }
                var message = try wire.message(try wire.lengthDelimited())
                let existing = hasValue ? pair.value : nil
                do throws(ProtobufFieldError) {
                    pair.value = try value(&message, depth: depth, merging: existing)
                } catch {
                    throw error.under(path() + ".value")
                }
                hasValue = true
            case 3:
                do throws(ProtobufFieldError) {
                    try Wire.expect(wireType, .varint, number: number)
                    _ = try wire.varint()
                } catch {
                    throw error.under(path())
                }
            default: try wire.skip(wireType, number: number)
            }
        }
        return pair
    }

    /// An `AnyValue` inside `depth` array and map values. As in protobuf, a second occurrence
    /// of the same array or map member merges into the first; any other member replaces it.
    private func value(_ wire: inout Wire, depth: Int, merging existing: AnyValue?) throws(ProtobufFieldError) -> AnyValue {
        var value = existing ?? .empty
        while let (number, wireType) = try wire.nextField() {
            switch number {
            case 1: try Wire.expect(wireType, .lengthDelimited, number: number); value = .string(try wire.string())
            case 2: try Wire.expect(wireType, .varint, number: number); value = .bool(try wire.varint() != 0)
            case 3: try Wire.expect(wireType, .varint, number: number); value = .int(Int64(bitPattern: try wire.varint()))
            case 4: try Wire.expect(wireType, .fixed64, number: number); value = .double(Double(bitPattern: try wire.fixed64()))
            case 5:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try checkDepth(depth, "arrayValue")
                var values: [AnyValue] = []
                if case .array(let earlier) = value { values = earlier }
                while let (inner, innerType) = try message.nextField() {
                    guard inner == 1 else { try message.skip(innerType, number: inner); continue }
                    do throws(ProtobufFieldError) {
                        try Wire.expect(innerType, .lengthDelimited, number: inner)
                    } catch {
                        throw error.under("arrayValue")
                    }
                    var element = try message.message(try message.lengthDelimited())
                    let index = values.count
                    do throws(ProtobufFieldError) {
                        values.append(try self.value(&element, depth: depth + 1, merging: nil))
                    } catch {
                        throw error.under("arrayValue.values[\(index)]")
                    }
                }
                value = .array(values)
            case 6:
                try Wire.expect(wireType, .lengthDelimited, number: number)
                var message = try wire.message(try wire.lengthDelimited())
                try checkDepth(depth, "kvlistValue")
                var pairs: [KeyValue] = []
                if case .kvlist(let earlier) = value { pairs = earlier }
                while let (inner, innerType) = try message.nextField() {
                    guard inner == 1 else { try message.skip(innerType, number: inner); continue }
                    do throws(ProtobufFieldError) {
                        try Wire.expect(innerType, .lengthDelimited, number: inner)
                    } catch {
                        throw error.under("kvlistValue")
                    }
                    var element = try message.message(try message.lengthDelimited())
                    let index = pairs.count
                    pairs.append(try keyValue(&element, depth: depth + 1, path: "kvlistValue.values[\(index)]"))
                }
                value = .kvlist(pairs)
            case 7: try Wire.expect(wireType, .lengthDelimited, number: number); value = .bytes(try wire.byteArray())
            case 8: try Wire.expect(wireType, .varint, number: number); _ = try wire.varint(); value = .empty
            default: try wire.skip(wireType, number: number)
            }
        }
        return value
    }

    // MARK: Rules

    private func checkDepth(_ depth: Int, _ field: String) throws(ProtobufFieldError) {
        guard lenient || depth < maxValueDepth else {
            throw ProtobufFieldError(path: field, message: "values nest deeper than \(maxValueDepth) levels")
        }
    }

    private func checkCount(_ attributes: [KeyValue]) throws(ProtobufFieldError) {
        guard lenient || attributes.count <= maxAttributes else {
            throw ProtobufFieldError(path: "", message: "\(attributes.count) attributes exceed the limit of \(maxAttributes)")
        }
    }

    private func timestamp(_ value: UInt64) throws(ProtobufFieldError) -> UInt64 {
        guard lenient || value <= UInt64(Int64.max) else { throw ProtobufFieldError(path: "", message: "timestamp out of range") }
        return value
    }

    /// A span's or link's id; `nil` when the field never came. Zero when lenient and invalid.
    private func requiredTraceID(_ range: Range<Int>?, in wire: Wire) throws(ProtobufFieldError) -> TraceID {
        try traceID(range ?? 0..<0, in: wire, required: true) ?? TraceID(high: 0, low: 0)
    }

    private func requiredSpanID(_ range: Range<Int>?, in wire: Wire) throws(ProtobufFieldError) -> SpanID {
        try spanID(range ?? 0..<0, in: wire, required: true) ?? SpanID(0)
    }

    /// A trace id: 16 bytes; empty is absent, and all zeros is absent too unless `required`.
    private func traceID(_ range: Range<Int>, in wire: Wire, required: Bool) throws(ProtobufFieldError) -> TraceID? {
        if range.isEmpty {
            if required && !lenient { throw ProtobufFieldError(path: "", message: "is required") }
            return nil
        }
        guard let id = TraceID(bytes: UnsafeBufferPointer(rebasing: wire.bytes[range])) else {
            if lenient { return nil }
            throw ProtobufFieldError(path: "", message: "expected 16 bytes, got \(range.count)")
        }
        if id.isZero {
            if required && !lenient { throw ProtobufFieldError(path: "", message: "must not be all zeros") }
            return required ? id : nil
        }
        return id
    }

    private func spanID(_ range: Range<Int>, in wire: Wire, required: Bool) throws(ProtobufFieldError) -> SpanID? {
        if range.isEmpty {
            if required && !lenient { throw ProtobufFieldError(path: "", message: "is required") }
            return nil
        }
        guard let id = SpanID(bytes: UnsafeBufferPointer(rebasing: wire.bytes[range])) else {
            if lenient { return nil }
            throw ProtobufFieldError(path: "", message: "expected 8 bytes, got \(range.count)")
        }
        if id.isZero {
            if required && !lenient { throw ProtobufFieldError(path: "", message: "must not be all zeros") }
            return required ? id : nil
        }
        return id
    }

    /// Runs `read`, adding `field` to the path of any error it throws.
    @inline(__always)
    private func at<Value>(_ field: String, _ read: () throws(ProtobufFieldError) -> Value) throws(ProtobufFieldError) -> Value {
        do throws(ProtobufFieldError) {
            return try read()
        } catch {
            throw error.under(field)
        }
    }
}
