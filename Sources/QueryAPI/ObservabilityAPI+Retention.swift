import Hummingbird
import Store

// GET /retention (docs/api.md).
extension ObservabilityAPI {
    /// `GET /retention`: the oldest time still stored per signal (ISO 8601 UTC, `null` when the
    /// signal has nothing stored), what retention has left (docs/retention.md).
    func oldestRetained() async throws(QueryFailure) -> Response {
        var oldest: [(RetentionSignal, Int64?)] = []
        for signal in RetentionSignal.allCases {
            oldest.append((signal, try await run { () async throws(StoreError) in try await retention.oldestRetained(signal) }))
        }
        return .jsonObject { body in
            body.key("oldest")
            body.beginObject()
            for (signal, time) in oldest {
                body.key(signal.rawValue)
                if let time { body.string(Timestamp.iso8601(unixNano: time)) } else { body.null() }
            }
            body.endObject()
        }
    }
}
