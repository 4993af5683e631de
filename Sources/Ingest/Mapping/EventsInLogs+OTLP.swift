import OTLP
import Store

extension EventsInLogs {
    /// How `events`, written typed, follow from their flat form in `logs`; nil when one of them
    /// does not: dropped attributes, an attribute value that is not a scalar `tags` keeps
    /// (`AttributesInTags`: no arrays or key-value lists either, which conditions could not
    /// read back from `logs`), a repeated key, or a time `logs` cannot hold to the microsecond.
    init?(_ events: [SpanEvent]) {
        var parts: [Part] = []
        parts.reserveCapacity(events.count)
        for event in events {
            guard event.droppedAttributesCount == 0, AttributesInTags.unique(event.attributes) else { return nil }
            for attribute in event.attributes {
                switch attribute.value {
                case .array, .kvlist: return nil
                default:
                    var inOrder = true
                    guard AttributesInTags.survives(attribute.value, nestedInOrder: &inOrder) else { return nil }
                }
            }
            guard event.timeUnixNano <= UInt64(Int64.max) else { return nil }
            let time = Int64(clamping: event.timeUnixNano)
            guard Timestamp.unixMicros(iso8601: Timestamp.iso8601(unixNano: time)) == time / 1_000 else { return nil }
            parts.append(Part(nanoseconds: Int(time % 1_000), jsonbPositions: AttributesInTags.jsonbPositions(of: event.attributes.map(\.key))))
        }
        self.init(parts: parts)
    }
}
