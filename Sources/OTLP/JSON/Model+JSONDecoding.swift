// Reading the OTLP/JSON form of the messages shared by traces and logs. Each `init(json:)`
// reads a message's members (the reader is just past its `{`) and leaves the reader past
// its `}`; the messages of each signal are in `Trace+JSONDecoding.swift` and
// `Logs+JSONDecoding.swift`.

extension AnyValue {
    enum JSONField: Int, MessageField {
        case stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue
        static let keys = JSONKeys(Self.self)
    }

    enum ListField: Int, MessageField {
        case values
        static let keys = JSONKeys(Self.self)
    }

    /// A value inside `depth` array and map values. The first member that is not null sets
    /// it; the members after that are skipped.
    init(json reader: inout OTLPJSONReader, depth: Int) throws(JSONReadError) {
        var value = AnyValue.empty
        var members = Members<JSONField>()
        while let field = try members.next(&reader.cursor) {
            do throws(JSONReadError) {
                if let member = try Self.member(field, &reader, depth: depth) {
                    value = member
                    members.skipRest()
                }
            } catch {
                try members.record(error, in: field)
                members.skipRest()
            }
        }
        try members.finish()
        self = value
    }

    /// The value `field` sets; `nil` when it is null.
    private static func member(_ field: JSONField, _ reader: inout OTLPJSONReader, depth: Int) throws(JSONReadError) -> AnyValue? {
        if try reader.cursor.peek() == .null {
            try reader.cursor.readNull()
            return nil
        }
        switch field {
        case .stringValue: return .string(try reader.string())
        case .boolValue: return .bool(try reader.bool())
        case .intValue: return .int(try reader.int64())
        case .doubleValue: return .double(try reader.double())
        case .bytesValue: return .bytes(try reader.bytes())
        case .arrayValue, .kvlistValue:
            guard depth < reader.maxValueDepth else {
                try reader.cursor.skipValue()
                throw .invalid("values nest deeper than \(reader.maxValueDepth) levels")
            }
            let isArray = field == .arrayValue
            let list = try reader.object { reader throws(JSONReadError) in try Self.list(isArray: isArray, &reader, depth: depth + 1) }
            return list ?? (isArray ? .array([]) : .kvlist([]))
        }
    }

    /// The members of an `ArrayValue` or a `KeyValueList` whose values are `depth` deep.
    private static func list(isArray: Bool, _ reader: inout OTLPJSONReader, depth: Int) throws(JSONReadError) -> AnyValue {
        var list: AnyValue = isArray ? .array([]) : .kvlist([])
        try reader.members(ListField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .values where isArray:
                list = .array(try reader.objects { reader throws(JSONReadError) in try AnyValue(json: &reader, depth: depth) })
            case .values:
                list = .kvlist(try reader.objects { reader throws(JSONReadError) in try KeyValue(json: &reader, depth: depth) })
            }
        }
        return list
    }
}

extension KeyValue {
    enum JSONField: Int, MessageField {
        case key, value
        static let keys = JSONKeys(Self.self)
    }

    /// An attribute or map entry whose value is inside `depth` array and map values.
    init(json reader: inout OTLPJSONReader, depth: Int) throws(JSONReadError) {
        self.init(key: "", value: .empty)
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .key: key = try reader.string()
            case .value: value = try reader.object { reader throws(JSONReadError) in try AnyValue(json: &reader, depth: depth) } ?? .empty
            }
        }
    }
}

extension Resource {
    enum JSONField: Int, MessageField {
        case attributes, droppedAttributesCount, entityRefs
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            case .entityRefs: entityRefs = try reader.objects(EntityRef.init(json:))
            }
        }
    }
}

extension EntityRef {
    enum JSONField: Int, MessageField {
        case schemaUrl, type, idKeys, descriptionKeys
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .schemaUrl: schemaUrl = try reader.string()
            case .type: type = try reader.string()
            case .idKeys: idKeys = try reader.strings()
            case .descriptionKeys: descriptionKeys = try reader.strings()
            }
        }
    }
}

extension InstrumentationScope {
    enum JSONField: Int, MessageField {
        case name, version, attributes, droppedAttributesCount
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .name: name = try reader.string()
            case .version: version = try reader.string()
            case .attributes: attributes = try reader.attributes()
            case .droppedAttributesCount: droppedAttributesCount = try reader.uint32()
            }
        }
    }
}

extension OTLPJSONReader {
    /// The attributes of a resource, scope, span, event, link or log record.
    mutating func attributes() throws(JSONReadError) -> [KeyValue] {
        let attributes = try objects { reader throws(JSONReadError) in try KeyValue(json: &reader, depth: 0) }
        guard attributes.count <= maxAttributes else {
            throw .invalid("\(attributes.count) attributes exceed the limit of \(maxAttributes)")
        }
        return attributes
    }
}
