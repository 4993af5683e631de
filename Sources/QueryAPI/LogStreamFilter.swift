import Foundation
import OTLP
import Store

/// Which live records one stream client asked for, from its query string when it connected:
/// `level` (exactly that level, as `GET /logs`), `service`, `trace_id` and `search` (or `q`:
/// a case-insensitive part of the message). No parameter: every record.
public struct LogStreamFilter: Sendable, Equatable {
    public var level: String?
    public var service: String?
    public var traceID: String?
    public var search: String?

    public init(level: String? = nil, service: String? = nil, traceID: String? = nil, search: String? = nil) {
        self.level = level
        self.service = service
        self.traceID = traceID
        self.search = search
    }

    /// Reads and checks the parameters (400 naming a bad one).
    init(_ parameters: Parameters) throws(QueryFailure) {
        level = try parameters.choice("level", ObservabilityAPI.levels, aliases: ObservabilityAPI.levelAliases)
        service = try parameters.text("service")
        traceID = try parameters.traceID("trace_id")
        let q = try parameters.text("q")
        search = try parameters.text("search") ?? q
    }

    public func matches(_ record: LiveLogRecord) -> Bool {
        if let level, record.level != level { return false }
        if let service, record.service != service { return false }
        if let traceID, record.traceID != traceID { return false }
        if let search, record.message.range(of: search, options: .caseInsensitive) == nil { return false }
        return true
    }
}

/// One committed log record on its way to stream clients: the fields filters look at, and the
/// message sent, already written once for every client (the columns of `GET /logs`).
public struct LiveLogRecord: Sendable {
    public var level: String
    public var service: String?
    public var traceID: String?
    public var message: String
    /// Where the record stands in the store's insertion order, where the store has one (the
    /// SQLite rowid); clients that connected after it was committed never receive it.
    public var sequence: Int64?
    /// The JSON object sent to clients.
    public var json: String

    public init(level: String, service: String?, traceID: String?, message: String, sequence: Int64?, json: String) {
        self.level = level
        self.service = service
        self.traceID = traceID
        self.message = message
        self.sequence = sequence
        self.json = json
    }

    /// A committed record, its message the members of `GET /logs`' records.
    init(_ record: LogFeedRecord) {
        var body = JSONWriter(capacity: 1024)
        body.beginObject()
        RecordJSON.write(record.log, into: &body)
        body.endObject()
        self.init(level: record.log.level, service: record.log.serviceName, traceID: record.log.traceID,
                  message: record.log.message, sequence: record.sequence, json: String(decoding: body.bytes, as: UTF8.self))
    }
}

/// A message to a stream client that is not a record (`{"notice": "..."}`).
enum LogStreamNotice {
    static func json(_ text: String) -> String {
        var body = JSONWriter()
        body.beginObject()
        body.key("notice"); body.string(text)
        body.endObject()
        return String(decoding: body.bytes, as: UTF8.self)
    }
}
