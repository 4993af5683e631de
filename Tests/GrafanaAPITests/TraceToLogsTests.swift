import Foundation
import OTLP
import StoreTestSupport
import Testing

/// Tempo's "Logs for this span" in Grafana asks Loki for the records of a trace in one of two
/// forms; both find the records that carry the trace (OTLP keeps the id beside the body) and
/// those whose body names it.
@Suite struct TraceToLogsTests {
    /// The dataset's records, plus one whose body names trace 4 without carrying it, and one of
    /// another trace.
    func withTraceData(_ kind: StoreKind, _ body: @Sendable (GrafanaTestServer, GrafanaDataset) async throws -> Void) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            try await server.ingest(data.logs)
            let time = data.now - 8 * 60 * GrafanaDataset.second
            try await server.ingest(ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
                resource: data.shopResource,
                scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop.worker"), logRecords: [
                    LogRecord(timeUnixNano: time, severityNumber: SeverityNumber(rawValue: 9),
                              body: .string("retrying the job of trace \(data.traceID(4).hex)")),
                    LogRecord(timeUnixNano: time, severityNumber: SeverityNumber(rawValue: 9), body: .string("another job"),
                              traceId: data.traceID(2), spanId: SpanID(21)),
                ])])]))
            try await body(server, data)
        }
    }

    func lines(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ query: String) async throws -> [String] {
        let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
            ("direction", "backward"), ("end", data.endNanos), ("limit", "100"), ("query", query), ("start", data.startNanos)]))
        #expect(answer.status == 200, "\(query): \(answer.body)")
        let result = (answer.json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return result.flatMap { ($0["values"] as? [[String]] ?? []).map { $0[1] } }.sorted()
    }

    @Test(arguments: StoreKind.available)
    func bothQueryFormsFindTheTracesRecords(_ kind: StoreKind) async throws {
        try await withTraceData(kind) { server, data in
            let trace = data.traceID(4).hex
            let span = SpanID(41).hex
            let ofTheTrace = ["payment failed: card 1111 declined", "payment failed: card 4242 declined", "retrying the job of trace \(trace)"]

            // Grafana 11.3 and earlier: a line filter with the id.
            #expect(try await lines(server, data, #"{service_name="shop"} |= "\#(trace)""#) == ofTheTrace)
            // Newer Grafana: a label made from the line, or the trace_id label.
            let traceFilter = #"| label_format log_line_contains_trace_id=`{{ contains "\#(trace)" __line__  }}` | log_line_contains_trace_id="true" or trace_id="\#(trace)""#
            #expect(try await lines(server, data, #"{service_name="shop"} "# + traceFilter) == ofTheTrace)
            #expect(try await lines(server, data, #"{service_name="shop"} "# + traceFilter.replacingOccurrences(of: " or ", with: " OR ")) == ofTheTrace)
            // With "filter by span id" too: the body that names only the trace drops out.
            let spanFilter = #" | label_format log_line_contains_span_id=`{{ contains "\#(span)" __line__  }}` | log_line_contains_span_id="true" or span_id="\#(span)""#
            #expect(try await lines(server, data, #"{service_name="shop"} "# + traceFilter + spanFilter) == Array(ofTheTrace.prefix(2)))
            // The old form with the span id.
            #expect(try await lines(server, data, #"{service_name="shop"} |= "\#(span)""#) == Array(ofTheTrace.prefix(2)))

            // The negations leave exactly the others.
            let all = try await lines(server, data, #"{service_name="shop"}"#)
            let others = try await lines(server, data, #"{service_name="shop"} != "\#(trace)""#)
            #expect(others == all.filter { !ofTheTrace.contains($0) })
            #expect(try await lines(server, data, #"{service_name="shop"} | label_format has=`{{ contains "\#(trace)" __line__ }}` | has="false""#) == others)
        }
    }

    @Test(arguments: StoreKind.available)
    func labelFiltersJoinedWithOr(_ kind: StoreKind) async throws {
        try await withTraceData(kind) { server, data in
            let errorsOrWarnings = try await lines(server, data, #"{service_name="shop"} | level="error" or level="warn""#)
            #expect(errorsOrWarnings == ["disk almost full", "payment failed: card 1111 declined", "payment failed: card 4242 declined"])
            let both = try await lines(server, data, #"{service_name="shop"} | level="error" and trace_id="\#(data.traceID(4).hex)""#)
            #expect(both == ["payment failed: card 1111 declined", "payment failed: card 4242 declined"])
        }
    }

    /// Templates, renames and filters on `label_format` labels, and `and` with `or`, which
    /// answered 400 before the pipeline ran in Sightline, now answer.
    @Test(arguments: StoreKind.available)
    func labelFormatAndMixedFiltersAnswer(_ kind: StoreKind) async throws {
        try await withTraceData(kind) { server, data in
            let withA = try await lines(server, data, #"{service_name="shop"} |= "a""#)
            #expect(try await lines(server, data, #"{service_name="shop"} | label_format x=`{{ contains "a" __line__ }}` | x=~"tr.*""#) == withA)
            #expect(try await lines(server, data, #"{service_name="shop"} | label_format x=`{{ .level | upper }}` | x="WARN""#) == ["disk almost full"])
            #expect(try await lines(server, data, #"{service_name="shop"} | label_format x=level | x="warn""#) == ["disk almost full"])
            #expect(try await lines(server, data, #"{service_name="shop"} | level="error" or level="warn" and logger="shop.http""#)
                == ["disk almost full", "payment failed: card 1111 declined", "payment failed: card 4242 declined"])
        }
    }
}
