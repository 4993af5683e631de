import CompressNIO
import Foundation
import NIOCore
import SightlineServer
import SQLiteNIO
import Testing

@Suite struct ReceiverTests {
    @Test func pythonSDKTracesAreStoredCompletely() async throws {
        try await TestServer.with { server in
            let answer = try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json"))
            #expect(answer.status == 200)
            #expect(answer.body == "{}")
            #expect(answer.headers.first(name: "Content-Type") == "application/json")
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("traces") == 2)

            let trace = try #require(try await server.rows(
                "SELECT * FROM enterprise.traces WHERE trace_id = ?", [.text("972a1b8b1aed1d623d5636c5bf0275d1")]).first)
            #expect(trace.column("entry_point")?.string == "http")
            #expect(trace.column("endpoint")?.string == "/api/chat")
            #expect(trace.column("method")?.string == "GET")
            #expect(trace.column("session_id")?.string == "sess-7f3a9c")
            #expect(trace.column("user_email")?.string == "alice@example.com")
            #expect(trace.column("department")?.string == "sales")
            #expect(trace.column("status")?.string == "error")
            #expect(trace.column("error_message")?.string == "CRM lookup failed")
            #expect(trace.column("service_name")?.string == "chat-api")
            #expect(trace.column("root_span_name")?.string == "GET /api/chat")

            let spans = try await server.rows("""
                SELECT s.*, t.start_time_unix_nano AS trace_start, t.end_time_unix_nano AS trace_end
                FROM enterprise.trace_spans s JOIN enterprise.traces t USING (trace_id)
                WHERE s.trace_id = '972a1b8b1aed1d623d5636c5bf0275d1'
                """)
            #expect(spans.count == 8)
            let starts = spans.compactMap { $0.column("start_time_unix_nano")?.integer }
            let ends = spans.compactMap { $0.column("end_time_unix_nano")?.integer }
            #expect(spans[0].column("trace_start")?.integer == starts.min())
            #expect(spans[0].column("trace_end")?.integer == ends.max())

            let tool = try #require(spans.first { $0.column("operation_name")?.string == "tool_call" })
            #expect(tool.column("status")?.string == "error")
            #expect(tool.column("status_code")?.integer == 2)
            #expect(tool.column("error_message")?.string == "CRM lookup failed")
            #expect(tool.column("service_name")?.string == "chat-api")
            let events = try #require(tool.column("logs")?.string)
            let eventList = try #require(try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [[String: Any]])
            #expect(eventList.first?["name"] as? String == "exception")
            let eventAttributes = try #require(eventList.first?["attributes"] as? [String: Any])
            #expect(eventAttributes["exception.type"] != nil)

            let producer = try #require(spans.first { $0.column("operation_name")?.string == "enqueue_followup" })
            #expect(producer.column("span_kind")?.integer == 4)
            let links = try #require(producer.column("links")?.string)
            #expect(links.contains("\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""))

            let llm = try #require(spans.first { $0.column("operation_name")?.string == "llm_generate" })
            let tags = try #require(try JSONSerialization.jsonObject(
                with: Data((llm.column("tags")?.string ?? "").utf8)) as? [String: Any])
            #expect(tags["gen_ai.request.model"] as? String == "gpt-4o")
            #expect(tags["gen_ai.usage.input_tokens"] as? Int == 1200)
            #expect(llm.column("parent_span_id")?.string == "7384601d4d6c4480")
            #expect(llm.column("duration_ms")?.double.map { $0 > 0 } == true)

            let consumer = try #require(try await server.rows(
                "SELECT * FROM enterprise.trace_spans WHERE operation_name = 'process chat.followups'").first)
            #expect(consumer.column("flags")?.integer == 768)
            #expect(consumer.column("trace_state")?.string?.isEmpty == false)
            #expect(consumer.column("parent_span_id")?.string == "00f067aa0ba902b7")
            #expect(consumer.column("resource")?.string?.contains("\"service.name\"") == true)
            #expect(consumer.column("scope")?.string?.contains("\"otelprobe.web\"") == true)
        }
    }

    @Test func pythonSDKLogsAreStoredCompletely() async throws {
        try await TestServer.with { server in
            let answer = try await server.post("/v1/logs", try fixture("python-sdk/python-json-logs.json"))
            #expect(answer.status == 200)
            #expect(answer.body == "{}")
            let logs = try await server.rows("SELECT * FROM enterprise.structured_logs ORDER BY timestamp")
            #expect(logs.count == 8)
            let levels = Set(logs.compactMap { $0.column("level")?.string })
            #expect(levels == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
            let failure = try #require(logs.first { $0.column("message")?.string == "tool call failed" })
            #expect(failure.column("level")?.string == "ERROR")
            #expect(failure.column("logger_name")?.string == "otelprobe.app")
            #expect(failure.column("trace_id")?.string?.count == 32)
            #expect(failure.column("span_id")?.string?.count == 16)
            #expect(failure.column("severity_number")?.integer == 17)
            let exploded = try #require(logs.first { $0.column("exception_type")?.string != nil })
            #expect(exploded.column("exception_traceback")?.string?.contains("Traceback") == true)
            #expect(exploded.column("extra")?.string?.contains("exception.type") == false)
            let event = try #require(logs.first { $0.column("event_name")?.string != nil })
            #expect(event.column("message")?.string?.contains("\"feedback\":\"thumbs_up\"") == true)
            #expect(event.column("time_unix_nano")?.integer == 0)
            #expect(event.column("timestamp")?.string == event.column("observed_timestamp")?.string)
            // The FTS index sees the messages.
            let hits = try await server.rows(
                "SELECT count(*) AS n FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH 'shutting'")
            #expect(hits.first?.column("n")?.integer == 1)
        }
    }

    @Test func otlpExamplePayloadsAreAccepted() async throws {
        try await TestServer.with { server in
            #expect(try await server.post("/v1/traces", try fixture("otlp-examples/trace.json")).status == 200)
            #expect(try await server.post("/v1/logs", try fixture("otlp-examples/logs.json")).status == 200)
            #expect(try await server.post("/v1/logs", try fixture("otlp-examples/events.json")).status == 200)
            // Upper-case hex ids are stored in lower case.
            let ids = try await server.rows("SELECT trace_id, span_id FROM enterprise.trace_spans")
            #expect(!ids.isEmpty)
            for row in ids {
                let trace = try #require(row.column("trace_id")?.string)
                #expect(trace == trace.lowercased() && trace.count == 32)
            }
            #expect(try await server.count("structured_logs") >= 2)
        }
    }

    @Test func spansOfOneTraceArrivingInReverseOrderBuildOneTrace() async throws {
        try await TestServer.with { server in
            let trace = "5b8efff798038103d269b633813fc60c"
            // Grandchild, child, then root, each in its own request.
            let requests = [
                tracesJSON([(trace, "eee45fd0b1e0a4f3", "b7ad6b7169203331", "db.query", 1_700_000_000_300_000_000, 1_700_000_000_900_000_000)],
                           attributes: #"[{"key":"db.system","value":{"stringValue":"postgresql"}}]"#),
                tracesJSON([(trace, "b7ad6b7169203331", "a000000000000001", "handler", 1_700_000_000_200_000_000, 1_700_000_001_000_000_000)]),
                tracesJSON([(trace, "a000000000000001", nil, "POST /orders", 1_700_000_000_100_000_000, 1_700_000_000_950_000_000)],
                           attributes: #"[{"key":"http.request.method","value":{"stringValue":"POST"}},{"key":"http.route","value":{"stringValue":"/orders"}},{"key":"enduser.id","value":{"stringValue":"bob@example.com"}}]"#),
            ]
            for body in requests {
                #expect(try await server.post("/v1/traces", body).status == 200)
            }
            let row = try #require(try await server.rows("SELECT * FROM enterprise.traces").first)
            #expect(try await server.count("traces") == 1)
            #expect(try await server.count("trace_spans") == 3)
            #expect(row.column("start_time_unix_nano")?.integer == 1_700_000_000_100_000_000)
            #expect(row.column("end_time_unix_nano")?.integer == 1_700_000_001_000_000_000)
            #expect(row.column("duration_ms")?.double == 900)
            #expect(row.column("entry_point")?.string == "http")
            #expect(row.column("method")?.string == "POST")
            #expect(row.column("endpoint")?.string == "/orders")
            #expect(row.column("user_email")?.string == "bob@example.com")
            #expect(row.column("status")?.string == "completed")
            #expect(row.column("start_time")?.string == "2023-11-14T22:13:20.100000Z")
        }
    }

    @Test func aResentBatchAddsNothing() async throws {
        try await TestServer.with { server in
            let body = try fixture("python-sdk/python-json-traces.json")
            #expect(try await server.post("/v1/traces", body).status == 200)
            #expect(try await server.post("/v1/traces", body).status == 200)
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("traces") == 2)
        }
    }

    @Test func invalidSpansAreRejectedAndTheirNeighboursKept() async throws {
        try await TestServer.with { server in
            let body = Array("""
                {"resourceSpans":[{"scopeSpans":[{"spans":[
                  {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"good-1"},
                  {"traceId":"not-hex","spanId":"0102030405060708","name":"bad-id"},
                  {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718","name":"good-2"},
                  {"traceId":"0102030405060708090a0b0c0d0e0f10","name":"no-span-id"}
                ]}]}]}
                """.utf8)
            let answer = try await server.post("/v1/traces", body)
            #expect(answer.status == 200)
            let partial = try #require(answer.json?["partialSuccess"] as? [String: Any])
            #expect(partial["rejectedSpans"] as? String == "2")
            let message = try #require(partial["errorMessage"] as? String)
            #expect(message.hasPrefix("resourceSpans[0].scopeSpans[0].spans[1].traceId: expected 32 hex digits"))
            #expect(message.hasSuffix("(and 1 more rejected)"))
            let names = try await server.rows("SELECT operation_name FROM enterprise.trace_spans ORDER BY operation_name")
                .compactMap { $0.column("operation_name")?.string }
            #expect(names == ["good-1", "good-2"])
            // Spans without a service.name resource attribute.
            let service = try await server.rows("SELECT DISTINCT service_name FROM enterprise.trace_spans").first
            #expect(service?.column("service_name")?.string == "unknown_service")
        }
    }

    @Test func invalidLogRecordsAreRejectedAndTheirNeighboursKept() async throws {
        try await TestServer.with { server in
            let body = Array("""
                {"resourceLogs":[{"scopeLogs":[{"logRecords":[
                  {"timeUnixNano":"1700000000000000000","body":{"stringValue":"kept"}},
                  {"timeUnixNano":"soon","body":{"stringValue":"bad time"}}
                ]}]}]}
                """.utf8)
            let answer = try await server.post("/v1/logs", body)
            #expect(answer.status == 200)
            let partial = try #require(answer.json?["partialSuccess"] as? [String: Any])
            #expect(partial["rejectedLogRecords"] as? String == "1")
            #expect((partial["errorMessage"] as? String)?.hasPrefix("resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano") == true)
            #expect(try await server.rows("SELECT message FROM enterprise.structured_logs").map { $0.column("message")?.string } == ["kept"])
        }
    }

    @Test func compressedBodiesAreInflated() async throws {
        try await TestServer.with { server in
            let gzip = try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json.gz"),
                                             headers: [("Content-Encoding", "gzip")])
            #expect(gzip.status == 200)
            let deflate = try await server.post("/v1/logs", try fixture("python-sdk/python-json-logs.json.zlib"),
                                                headers: [("Content-Encoding", "deflate")])
            #expect(deflate.status == 200)
            let gzipLogs = try await server.post("/v1/logs", try fixture("python-sdk/python-json-logs.json.gz"),
                                                 headers: [("Content-Encoding", "GZIP")])
            #expect(gzipLogs.status == 200)
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("structured_logs") == 16)
        }
    }

    @Test func emptyRequestsAreValid() async throws {
        try await TestServer.with { server in
            for body in ["{}", #"{"resourceSpans":[]}"#, #"{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}"#] {
                let answer = try await server.post("/v1/traces", Array(body.utf8))
                #expect(answer.status == 200)
                #expect(answer.body == "{}")
            }
            #expect(try await server.post("/v1/logs", Array("{}".utf8)).status == 200)
        }
    }
}
