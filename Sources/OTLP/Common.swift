/// `opentelemetry.proto.resource.v1.Resource`.
public struct Resource: Sendable, Hashable {
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32
    public var entityRefs: [EntityRef]

    public init(attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0, entityRefs: [EntityRef] = []) {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.entityRefs = entityRefs
    }
}

/// `opentelemetry.proto.common.v1.EntityRef`.
public struct EntityRef: Sendable, Hashable {
    public var schemaUrl: String
    public var type: String
    public var idKeys: [String]
    public var descriptionKeys: [String]

    public init(schemaUrl: String = "", type: String = "", idKeys: [String] = [], descriptionKeys: [String] = []) {
        self.schemaUrl = schemaUrl
        self.type = type
        self.idKeys = idKeys
        self.descriptionKeys = descriptionKeys
    }
}

/// `opentelemetry.proto.common.v1.InstrumentationScope`.
public struct InstrumentationScope: Sendable, Hashable {
    public var name: String
    public var version: String
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32

    public init(name: String = "", version: String = "", attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0) {
        self.name = name
        self.version = version
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }
}
