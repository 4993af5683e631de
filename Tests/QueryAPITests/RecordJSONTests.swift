import Foundation
import OTLP
@testable import QueryAPI
import Store
import Testing

/// The store's records as the query API writes them: every column under its name, in the
/// table's order, null for nil, JSON columns embedded.
@Suite struct RecordJSONTests {
    func json(_ record: some Encodable) -> String {
        var body = JSONWriter()
        body.beginObject()
        RecordJSON.write(record, into: &body)
        body.endObject()
        return body.text
    }

    @Test func aSpanIsWrittenColumnByColumn() throws {
        var span = try JSONDecoder().decode(SpanRecord.self, from: Data(#"""
            {"id": "9b1c", "trace_id": "0af7", "span_id": "b7ad", "operation_name": "GET /", "start_time": "2026-01-01T00:00:00.000000Z",
             "duration_ms": 1.5, "status": "completed", "tags": "{\"a\":1}", "logs": "", "span_kind": 2, "flags": 256,
             "status_code": 0, "attributes": "[]", "events": "[{\"name\":\"e\"}]", "links": "[]", "resource": "{}", "scope": "{}",
             "dropped_attributes_count": 0, "dropped_events_count": 1, "dropped_links_count": 0}
            """#.utf8))
        #expect(json(span) == #"""
            {"id":"9b1c","trace_id":"0af7","span_id":"b7ad","parent_span_id":null,"operation_name":"GET /","service_name":null,\#
            "start_time":"2026-01-01T00:00:00.000000Z","end_time":null,"duration_ms":1.5,"status":"completed","error_message":null,\#
            "tags":{"a":1},"logs":"","span_kind":2,"trace_state":null,"flags":256,"status_code":0,"start_time_unix_nano":null,\#
            "end_time_unix_nano":null,"attributes":[],"events":[{"name":"e"}],"links":[],"resource":{},"scope":{},\#
            "dropped_attributes_count":0,"dropped_events_count":1,"dropped_links_count":0}
            """#)
        span.durationMs = .infinity
        #expect(json(span).contains(#""duration_ms":null,"#))
    }

    @Test func aTraceWritesItsFlagAsABoolean() throws {
        let trace = try JSONDecoder().decode(TraceRecord.self, from: Data(#"""
            {"id": "1", "trace_id": "t", "entry_point": "http", "start_time": "s", "context_from_root": true, "tags": "{}"}
            """#.utf8))
        #expect(json(trace) == #"""
            {"id":"1","trace_id":"t","entry_point":"http","endpoint":null,"method":null,"session_id":null,"user_email":null,\#
            "department":null,"start_time":"s","end_time":null,"duration_ms":null,"status":null,"error_message":null,"tags":{},\#
            "created_at":null,"start_time_unix_nano":null,"end_time_unix_nano":null,"service_name":null,"root_span_name":null,\#
            "context_from_root":true,"context_start_unix_nano":null,"updated_at":null}
            """#)
    }

    @Test func aListedRecordHasTheStreamsMembers() throws {
        let record = try JSONDecoder().decode(LogListItem.self, from: Data(#"""
            {"id": "1", "timestamp": "s", "level": "INFO", "logger_name": "l", "message": "m", "severity_number": 9}
            """#.utf8))
        let members = try #require(try JSONSerialization.jsonObject(with: Data(json(record).utf8)) as? [String: Any])
        #expect(Set(members.keys) == Set(ObservabilityAPI.logListColumns))
    }
}
