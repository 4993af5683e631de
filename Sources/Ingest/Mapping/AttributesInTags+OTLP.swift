import OTLP
import Store

extension AttributesInTags {
    /// How `attributes`, written typed, follow from their flat form (`JSONWriter.flat`); nil
    /// when the flat form loses something: a bytes value (flat: base64 text), a double written
    /// with an exponent, not finite or -0.0 (flat, or in `jsonb`, it reads as another number
    /// or as text), a key repeated in one object, or a key holding NUL (the stores replace it).
    init?(_ attributes: [KeyValue]) {
        var nestedInOrder = true
        guard Self.unique(attributes), attributes.allSatisfy({ Self.survives($0.value, nestedInOrder: &nestedInOrder) }) else {
            return nil
        }
        self.init(jsonbPositions: Self.jsonbPositions(of: attributes.map(\.key)), nestedOrderSurvivesJSONB: nestedInOrder)
    }

    static func unique(_ attributes: [KeyValue]) -> Bool {
        var keys = Set<String>()
        keys.reserveCapacity(attributes.count)
        for attribute in attributes {
            guard keys.insert(attribute.key).inserted, !attribute.key.utf8.contains(0) else { return false }
        }
        return true
    }

    /// Whether `value` reads back from its flat form as itself; `nestedInOrder` turns false
    /// when a kvlist's keys are not in `jsonb`'s order.
    static func survives(_ value: AnyValue, nestedInOrder: inout Bool) -> Bool {
        switch value {
        case .string, .bool, .int, .empty:
            return true
        case .double(let number):
            guard number.isFinite, !(number == 0 && number.sign == .minus) else { return false }
            let text = JSONWriter.numberText(number)
            return text.contains(".") && !text.contains("e")
        case .bytes:
            return false
        case .array(let values):
            return values.allSatisfy { survives($0, nestedInOrder: &nestedInOrder) }
        case .kvlist(let values):
            guard unique(values), values.allSatisfy({ survives($0.value, nestedInOrder: &nestedInOrder) }) else { return false }
            if jsonbPositions(of: values.map(\.key)) != nil { nestedInOrder = false }
            return true
        }
    }
}
