import CompressNIO
import Foundation
import NIOCore
import SightlineServer
import SQLiteNIO
import StoreTestSupport
import Testing

@Suite struct ReceiverTests {
    @Test(arguments: StoreKind.available)
    func pythonSDKTracesAreStoredCompletely(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let answer = try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json"))
            #expect(answer.status == 200)
            #expect(answer.body == "{}")
            #expect(answer.headers.first(name: "Content-Type") == "application/json")
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("traces") == 2)

            let trace = try #require(try await server.rows(
                "SELECT * FROM enterprise.traces WHERE trace_id = '972a1b8b1aed1d623d5636c5bf0275d1'").first)
            #expect(trace.string("entry_point") == "http")
            #expect(trace.string("endpoint") == "/api/chat")
            #expect(trace.string("method") == "GET")
            #expect(trace.string("session_id") == "sess-7f3a9c")
            #expect(trace.string("user_email") == "alice@example.com")
            #expect(trace.string("department") == "sales")
            #expect(trace.string("status") == "error")
            #expect(trace.string("error_message") == "CRM lookup failed")
            #expect(trace.string("service_name") == "chat-api")
            #expect(trace.string("root_span_name") == "GET /api/chat")

            let spans = try await server.rows("""
                SELECT s.*, t.start_time_unix_nano AS trace_start, t.end_time_unix_nano AS trace_end
                FROM enterprise.trace_spans s JOIN enterprise.traces t USING (trace_id)
                WHERE s.trace_id = '972a1b8b1aed1d623d5636c5bf0275d1'
                """)
            #expect(spans.count == 8)
            let starts = spans.compactMap { $0.int("start_time_unix_nano") }
            let ends = spans.compactMap { $0.int("end_time_unix_nano") }
            #expect(spans[0].int("trace_start") == starts.min())
            #expect(spans[0].int("trace_end") == ends.max())

            let tool = try #require(spans.first { $0.string("operation_name") == "tool_call" })
            #expect(tool.string("status") == "error")
            #expect(tool.int("status_code") == 2)
            #expect(tool.string("error_message") == "CRM lookup failed")
            #expect(tool.string("service_name") == "chat-api")
            let events = try #require(tool.string("logs"))
            let eventList = try #require(try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [[String: Any]])
            #expect(eventList.first?["name"] as? String == "exception")
            let eventAttributes = try #require(eventList.first?["attributes"] as? [String: Any])
            #expect(eventAttributes["exception.type"] != nil)

            let producer = try #require(spans.first { $0.string("operation_name") == "enqueue_followup" })
            #expect(producer.int("span_kind") == 4)
            let links = try #require(producer.string("links"))
            #expect(links.contains("\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""))

            let llm = try #require(spans.first { $0.string("operation_name") == "llm_generate" })
            let tags = try #require(try JSONSerialization.jsonObject(
                with: Data((llm.string("tags") ?? "").utf8)) as? [String: Any])
            #expect(tags["gen_ai.request.model"] as? String == "gpt-4o")
            #expect(tags["gen_ai.usage.input_tokens"] as? Int == 1200)
            #expect(llm.string("parent_span_id") == "7384601d4d6c4480")
            #expect(llm.double("duration_ms").map { $0 > 0 } == true)

            let consumer = try #require(try await server.rows(
                "SELECT s.*, r.resource, c.scope FROM enterprise.trace_spans s JOIN enterprise.resources r ON r.id = s.resource_id JOIN enterprise.scopes c ON c.id = s.scope_id WHERE s.operation_name = 'process chat.followups'").first)
            #expect(consumer.int("flags") == 768)
            #expect(consumer.string("trace_state")?.isEmpty == false)
            #expect(consumer.string("parent_span_id") == "00f067aa0ba902b7")
            #expect(consumer.string("resource")?.contains("\"service.name\"") == true)
            #expect(consumer.string("scope")?.contains("\"otelprobe.web\"") == true)
        }
    }

    @Test(arguments: StoreKind.available)
    func pythonSDKLogsAreStoredCompletely(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let answer = try await server.post("/v1/logs", try fixture("python-sdk/python-json-logs.json"))
            #expect(answer.status == 200)
            #expect(answer.body == "{}")
            let logs = try await server.rows("SELECT * FROM enterprise.structured_logs ORDER BY timestamp")
            #expect(logs.count == 8)
            let levels = Set(logs.compactMap { $0.string("level") })
            #expect(levels == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
            let failure = try #require(logs.first { $0.string("message") == "tool call failed" })
            #expect(failure.string("level") == "ERROR")
            #expect(failure.string("logger_name") == "otelprobe.app")
            #expect(failure.string("trace_id")?.count == 32)
            #expect(failure.string("span_id")?.count == 16)
            #expect(failure.int("severity_number") == 17)
            let exploded = try #require(logs.first { $0.string("exception_type") != nil })
            #expect(exploded.string("exception_traceback")?.contains("Traceback") == true)
            #expect(exploded.string("extra")?.contains("exception.type") == false)
            let event = try #require(logs.first { $0.string("event_name") != nil })
            #expect(event.string("message")?.contains("\"feedback\":\"thumbs_up\"") == true)
            #expect(event.int("time_unix_nano") == 0)
            #expect(event.microseconds("timestamp") == event.microseconds("observed_timestamp"))
            // The full-text index sees the messages.
            let search = kind == .sqlite
                ? "SELECT count(*) AS n FROM enterprise.structured_logs_fts WHERE structured_logs_fts MATCH 'shutting'"
                : "SELECT count(*) AS n FROM enterprise.structured_logs WHERE to_tsvector('english', message) @@ plainto_tsquery('english', 'shutting')"
            #expect(try await server.rows(search).first?.int("n") == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func otlpExamplePayloadsAreAccepted(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            #expect(try await server.post("/v1/traces", try fixture("otlp-examples/trace.json")).status == 200)
            #expect(try await server.post("/v1/logs", try fixture("otlp-examples/logs.json")).status == 200)
            #expect(try await server.post("/v1/logs", try fixture("otlp-examples/events.json")).status == 200)
            // Upper-case hex ids are stored in lower case.
            let ids = try await server.rows("SELECT trace_id, span_id FROM enterprise.trace_spans")
            #expect(!ids.isEmpty)
            for row in ids {
                let trace = try #require(row.string("trace_id"))
                #expect(trace == trace.lowercased() && trace.count == 32)
            }
            #expect(try await server.count("structured_logs") >= 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func spansOfOneTraceArrivingInReverseOrderBuildOneTrace(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
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
            #expect(row.int("start_time_unix_nano") == 1_700_000_000_100_000_000)
            #expect(row.int("end_time_unix_nano") == 1_700_000_001_000_000_000)
            #expect(row.double("duration_ms") == 900)
            #expect(row.string("entry_point") == "http")
            #expect(row.string("method") == "POST")
            #expect(row.string("endpoint") == "/orders")
            #expect(row.string("user_email") == "bob@example.com")
            #expect(row.string("status") == "completed")
            #expect(row.microseconds("start_time") == 1_700_000_000_100_000)
        }
    }

    @Test(arguments: StoreKind.available)
    func aResentBatchAddsNothing(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let body = try fixture("python-sdk/python-json-traces.json")
            #expect(try await server.post("/v1/traces", body).status == 200)
            #expect(try await server.post("/v1/traces", body).status == 200)
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("traces") == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func invalidSpansAreRejectedAndTheirNeighboursKept(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
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
                .compactMap { $0.string("operation_name") }
            #expect(names == ["good-1", "good-2"])
            // Spans without a service.name resource attribute.
            let service = try await server.rows("SELECT DISTINCT service_name FROM enterprise.trace_spans").first
            #expect(service?.string("service_name") == "unknown_service")
        }
    }

    @Test(arguments: StoreKind.available)
    func invalidLogRecordsAreRejectedAndTheirNeighboursKept(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
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
            #expect(try await server.rows("SELECT message FROM enterprise.structured_logs").map { $0.string("message") } == ["kept"])
        }
    }

    @Test(arguments: StoreKind.available)
    func compressedBodiesAreInflated(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
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

    @Test(arguments: StoreKind.available)
    func emptyRequestsAreValid(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            for body in ["{}", #"{"resourceSpans":[]}"#, #"{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}"#] {
                let answer = try await server.post("/v1/traces", Array(body.utf8))
                #expect(answer.status == 200)
                #expect(answer.body == "{}")
            }
            #expect(try await server.post("/v1/logs", Array("{}".utf8)).status == 200)
        }
    }
    /// A root span with the error code, no status message and a recorded exception (what the
    /// JavaScript and Java SDKs send): the trace's error_message is the exception's.
    @Test(arguments: StoreKind.available)
    func anErrorWithoutStatusMessageTakesTheException(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let body = """
                {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},
                 "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
                  "name":"POST /orders","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",
                  "events":[{"timeUnixNano":"1700000000050000000","name":"exception","attributes":[
                    {"key":"exception.type","value":{"stringValue":"TypeError"}},
                    {"key":"exception.message","value":{"stringValue":"Cannot read properties of undefined (reading 'id')"}}]}],
                  "status":{"code":2}}]}]}]}
                """
            #expect(try await server.post("/v1/traces", Array(body.utf8)).status == 200)
            let trace = try #require(try await server.rows("SELECT * FROM enterprise.traces").first)
            #expect(trace.string("status") == "error")
            #expect(trace.string("error_message") == "TypeError: Cannot read properties of undefined (reading 'id')")
            let span = try #require(try await server.rows("SELECT * FROM enterprise.trace_spans").first)
            #expect(span.string("error_message") == "TypeError: Cannot read properties of undefined (reading 'id')")
        }
    }
}
