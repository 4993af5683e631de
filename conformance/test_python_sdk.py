"""The OpenTelemetry Python SDK exporting OTLP to Sightline (docs/api.md, docs/architecture.md).

A real TracerProvider and LoggerProvider, with the SDK's default exporters
(`opentelemetry-exporter-otlp-proto-http`, OTLP/HTTP protobuf), with the JSON ones
(`opentelemetry-exporter-otlp-json-http`) and with the gRPC ones
(`opentelemetry-exporter-otlp-proto-grpc`, OTLP/gRPC on the gRPC port), send a web request (SERVER root, two children, one failing with a recorded
exception) and logs through the SDK's logging handler; the tests then read the SQLite
file and check the rows the mapping must produce (docs/architecture.md, "Where OTLP fields go").
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import grpc
import pytest
from opentelemetry.exporter.otlp.common.http import Compression as JSONCompression
from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter as JSONLogExporter
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JSONSpanExporter
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GRPCLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as ProtobufCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as ProtobufLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as ProtobufSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, format_span_id, format_trace_id

EXPORT_TIMEOUT_S = 10
FLUSH_TIMEOUT_MS = 15_000

# OTLP enum values stored in the 011 columns.
SPAN_KIND_INTERNAL, SPAN_KIND_SERVER = 1, 2
STATUS_CODE_ERROR = 2


# --- exporters that remember what they sent and how it went -----------------------------


class RecordingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.lock = threading.Lock()
        self.spans = []
        self.results: list[SpanExportResult] = []

    def export(self, spans):
        result = self.inner.export(spans)
        with self.lock:
            self.spans.extend(spans)
            self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class RecordingLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter):
        self.inner = inner
        self.lock = threading.Lock()
        self.records = []
        self.results: list[LogRecordExportResult] = []

    def export(self, batch):
        result = self.inner.export(batch)
        with self.lock:
            self.records.extend(batch)
            self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def grpc_compression(name: str) -> grpc.Compression:
    return {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[name]


# Each exporter package has its own Compression enum; tests name the compression as text.
EXPORTERS = {
    "protobuf": (ProtobufSpanExporter, ProtobufLogExporter, ProtobufCompression),
    "json": (JSONSpanExporter, JSONLogExporter, JSONCompression),
    "grpc": (GRPCSpanExporter, GRPCLogExporter, grpc_compression),
}


@pytest.fixture(scope="module", params=sorted(EXPORTERS))
def encoding(request) -> str:
    """The exporter pair every test here runs with: OTLP/HTTP protobuf (the SDK default),
    OTLP/HTTP JSON, and OTLP/gRPC."""
    return request.param


def endpoint(sightline, encoding: str, path: str) -> dict:
    """OTLP/HTTP exporters take the signal's URL; gRPC ones the port's, in plaintext."""
    if encoding == "grpc":
        assert sightline.grpc_url, "Sightline announced no gRPC port"
        return {"endpoint": sightline.grpc_url, "insecure": True}
    return {"endpoint": f"{sightline.otlp_url}{path}"}


def span_exporter(sightline, encoding: str, compression: str | None = None) -> SpanExporter:
    exporter, _, compressions = EXPORTERS[encoding]
    options = {"compression": compressions(compression)} if compression else {}
    return exporter(**endpoint(sightline, encoding, "/v1/traces"), timeout=EXPORT_TIMEOUT_S, **options)


def log_exporter(sightline, encoding: str, compression: str | None = None) -> LogRecordExporter:
    _, exporter, compressions = EXPORTERS[encoding]
    options = {"compression": compressions(compression)} if compression else {}
    return exporter(**endpoint(sightline, encoding, "/v1/logs"), timeout=EXPORT_TIMEOUT_S, **options)


def logging_handler(provider: LoggerProvider) -> LoggingHandler:
    with warnings.catch_warnings():
        # 1.45 marks the SDK handler deprecated in favour of opentelemetry-instrumentation-logging;
        # it is still what most applications run.
        warnings.simplefilter("ignore", DeprecationWarning)
        return LoggingHandler(level=logging.DEBUG, logger_provider=provider)


# --- reading the store ----------------------------------------------------------------


def trace_hex(span) -> str:
    return format_trace_id(span.context.trace_id)


def span_hex(span) -> str:
    return format_span_id(span.context.span_id)


def nanos_from_text(text: str) -> int:
    """Store timestamps are ISO-8601 UTC text; compare them at microsecond precision."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1_000_000) * 1_000


def flat(value) -> dict:
    """A JSON attributes object, flat or as OTLP KeyValue list, as a plain dict."""
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        return value
    result = {}
    for item in value or []:
        any_value = item.get("value", {})
        result[item["key"]] = next(iter(any_value.values()), None) if any_value else None
    return result


def span_rows(sightline, trace_id: str) -> dict[str, dict]:
    rows = sightline.query("SELECT * FROM trace_spans WHERE trace_id = ?", (trace_id,))
    return {row["span_id"]: dict(row) for row in rows}


def trace_rows(sightline, trace_id: str) -> list[dict]:
    return [dict(row) for row in sightline.query("SELECT * FROM traces WHERE trace_id = ?", (trace_id,))]


def make_spans(service: str, count_children: int = 1):
    """Finished ReadableSpans from a real TracerProvider, kept in memory (no export yet)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("conformance.replay")
    with tracer.start_as_current_span(
        "GET /api/replay", kind=SpanKind.SERVER,
        attributes={"http.request.method": "GET", "http.route": "/api/replay"},
    ):
        for index in range(count_children):
            with tracer.start_as_current_span(f"step {index}", attributes={"step": index}):
                pass
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert len(spans) == count_children + 1
    return spans


# --- the exported web request ---------------------------------------------------------


@dataclass
class Exported:
    service: str
    logger_name: str
    root: object = None
    load: object = None
    charge: object = None
    spans: list = field(default_factory=list)
    records: list = field(default_factory=list)
    error_function: str = ""


def handle_orders_request(tracer, log: logging.Logger, exported: Exported) -> None:
    """What a small web application does for GET /api/orders; the card charge fails."""
    with tracer.start_as_current_span(
        "GET /api/orders",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "http.route": "/api/orders",
            "url.path": "/api/orders",
            "http.response.status_code": 500,
            "user.email": "alice@example.com",
            "session.id": "sess-42",
            "department": "finance",
        },
    ) as root:
        exported.root = root
        log.info("listing orders for %s", "alice@example.com")
        with tracer.start_as_current_span("SELECT orders", attributes={"db.system.name": "postgresql"}) as load:
            exported.load = load
        with tracer.start_as_current_span("charge card", attributes={"payment.provider": "acme"}) as charge:
            exported.charge = charge
            try:
                raise ValueError("card declined: insufficient funds")
            except ValueError as error:
                charge.record_exception(error)
                charge.set_status(Status(StatusCode.ERROR, "card declined"))
                log.exception(
                    "payment failed for order %d", 1001,
                    extra={
                        "user.email": "alice@example.com",
                        "department": "finance",
                        "session.id": "sess-42",
                        "http.route": "/api/orders",
                        "order.id": 1001,
                    },
                )
        log.warning("slow response: %d ms", 1234)


@pytest.fixture(scope="module")
def exported(sightline, encoding) -> Exported:
    run = uuid.uuid4().hex[:8]
    result = Exported(service=f"orders-api-{run}", logger_name=f"conformance.orders.{run}")
    resource = Resource.create({"service.name": result.service, "service.version": "1.4.2"})

    spans_out = RecordingSpanExporter(span_exporter(sightline, encoding))
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans_out))

    logs_out = RecordingLogExporter(log_exporter(sightline, encoding))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs_out))

    log = logging.getLogger(result.logger_name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = logging_handler(logger_provider)
    log.addHandler(handler)
    try:
        handle_orders_request(tracer_provider.get_tracer("conformance.orders", "0.1.0"), log, result)
        result.error_function = handle_orders_request.__name__
        assert tracer_provider.force_flush(FLUSH_TIMEOUT_MS), "span export did not finish in time"
        assert logger_provider.force_flush(FLUSH_TIMEOUT_MS), "log export did not finish in time"
    finally:
        log.removeHandler(handler)
        tracer_provider.shutdown()
        logger_provider.shutdown()

    assert spans_out.results and all(r is SpanExportResult.SUCCESS for r in spans_out.results), spans_out.results
    assert logs_out.results and all(r is LogRecordExportResult.SUCCESS for r in logs_out.results), logs_out.results
    assert len(spans_out.spans) == 3
    assert len(logs_out.records) == 3
    result.spans = spans_out.spans
    result.records = logs_out.records
    return result


def test_trace_row(sightline, exported):
    trace_id = trace_hex(exported.root)
    rows = trace_rows(sightline, trace_id)
    assert len(rows) == 1, rows
    trace = rows[0]

    assert trace["entry_point"] == "http"
    assert trace["endpoint"] == "/api/orders"
    assert trace["method"] == "GET"
    assert trace["user_email"] == "alice@example.com"
    assert trace["session_id"] == "sess-42"
    assert trace["department"] == "finance"
    assert trace["status"] == "error"  # the charge span failed
    assert trace["service_name"] == exported.service

    start = min(span.start_time for span in exported.spans)
    end = max(span.end_time for span in exported.spans)
    assert start == exported.root.start_time and end == exported.root.end_time
    assert trace["start_time_unix_nano"] == start
    assert trace["end_time_unix_nano"] == end
    assert abs(nanos_from_text(trace["start_time"]) - start) < 1_000, trace["start_time"]
    assert abs(nanos_from_text(trace["end_time"]) - end) < 1_000, trace["end_time"]
    assert trace["duration_ms"] == pytest.approx((end - start) / 1e6, abs=1e-3)


def test_span_rows(sightline, exported):
    trace_id = trace_hex(exported.root)
    rows = span_rows(sightline, trace_id)
    root, load, charge = (rows.get(span_hex(s)) for s in (exported.root, exported.load, exported.charge))
    assert len(rows) == 3 and root and load and charge, sorted(rows)

    assert root["parent_span_id"] is None
    assert load["parent_span_id"] == span_hex(exported.root)
    assert charge["parent_span_id"] == span_hex(exported.root)

    assert root["operation_name"] == "GET /api/orders"
    assert load["operation_name"] == "SELECT orders"
    assert charge["operation_name"] == "charge card"
    for row in rows.values():
        assert row["service_name"] == exported.service
    assert root["span_kind"] == SPAN_KIND_SERVER
    assert load["span_kind"] == SPAN_KIND_INTERNAL

    assert root["status"] == "completed"
    assert load["status"] == "completed"
    assert charge["status"] == "error"
    assert charge["status_code"] == STATUS_CODE_ERROR
    assert charge["error_message"] == "card declined"

    for span in exported.spans:
        row = rows[span_hex(span)]
        assert row["start_time_unix_nano"] == span.start_time
        assert row["end_time_unix_nano"] == span.end_time
        assert abs(nanos_from_text(row["start_time"]) - span.start_time) < 1_000
        assert row["duration_ms"] == pytest.approx((span.end_time - span.start_time) / 1e6, abs=1e-3)

    tags = flat(root["tags"])
    assert tags["http.request.method"] == "GET"
    assert tags["http.route"] == "/api/orders"
    assert tags["user.email"] == "alice@example.com"
    assert tags["session.id"] == "sess-42"
    assert tags["department"] == "finance"
    assert int(tags["http.response.status_code"]) == 500
    assert flat(load["tags"])["db.system.name"] == "postgresql"

    events = json.loads(charge["logs"])
    assert [event["name"] for event in events] == ["exception"], events
    exception = flat(events[0]["attributes"])
    assert exception["exception.type"] == "ValueError"
    assert exception["exception.message"] == "card declined: insufficient funds"
    assert "Traceback" in exception["exception.stacktrace"]


def test_log_rows(sightline, exported):
    rows = [
        dict(row) for row in sightline.query(
            "SELECT * FROM structured_logs WHERE logger_name = ? ORDER BY time_unix_nano", (exported.logger_name,)
        )
    ]
    # logger_name is the scope name; the SDK handler names the scope after the Python logger.
    scopes = {record.instrumentation_scope.name for record in exported.records}
    assert scopes == {exported.logger_name}
    assert [row["level"] for row in rows] == ["INFO", "ERROR", "WARNING"], rows
    info, error, warning = rows

    assert info["message"] == "listing orders for alice@example.com"
    assert error["message"] == "payment failed for order 1001"
    assert warning["message"] == "slow response: 1234 ms"
    assert [row["severity_number"] for row in rows] == [9, 17, 13]
    assert [row["severity_text"] for row in rows] == ["INFO", "ERROR", "WARN"]
    for row in rows:
        assert row["service_name"] == exported.service

    sent = sorted(exported.records, key=lambda record: record.log_record.timestamp)
    for row, record in zip(rows, sent):
        assert row["time_unix_nano"] == record.log_record.timestamp
        assert abs(nanos_from_text(row["timestamp"]) - record.log_record.timestamp) < 1_000

    trace_id = trace_hex(exported.root)
    assert error["trace_id"] == trace_id
    assert error["span_id"] == span_hex(exported.charge)
    assert info["trace_id"] == trace_id and info["span_id"] == span_hex(exported.root)
    assert warning["trace_id"] == trace_id and warning["span_id"] == span_hex(exported.root)

    assert error["exception_type"] == "ValueError"
    assert error["exception_message"] == "card declined: insufficient funds"
    assert error["exception_traceback"].startswith("Traceback (most recent call last)")
    assert "ValueError: card declined: insufficient funds" in error["exception_traceback"]
    assert info["exception_type"] is None and info["exception_traceback"] is None

    assert error["user_email"] == "alice@example.com"
    assert error["department"] == "finance"
    assert error["session_id"] == "sess-42"
    assert error["endpoint"] == "/api/orders"

    extra = flat(error["extra"])
    assert int(extra["order.id"]) == 1001
    assert extra["code.function.name"] == exported.error_function
    assert int(extra["code.line.number"]) > 0


def test_same_batch_twice_is_idempotent(sightline, encoding):
    spans = make_spans(f"replay-{uuid.uuid4().hex[:8]}", count_children=2)
    trace_id = trace_hex(spans[0])
    exporter = span_exporter(sightline, encoding)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        first = span_rows(sightline, trace_id)
        first_trace = trace_rows(sightline, trace_id)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        second = span_rows(sightline, trace_id)
        second_trace = trace_rows(sightline, trace_id)
    finally:
        exporter.shutdown()

    assert len(first) == 3, sorted(first)
    assert sorted(second) == sorted(first)
    count = sightline.query("SELECT count(*) FROM trace_spans WHERE trace_id = ?", (trace_id,))[0][0]
    assert count == 3
    assert len(first_trace) == len(second_trace) == 1
    for column in ("start_time_unix_nano", "end_time_unix_nano", "duration_ms", "status", "endpoint"):
        assert second_trace[0][column] == first_trace[0][column], column


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_compressed_traces(sightline, encoding, compression):
    spans = make_spans(f"compressed-{uuid.uuid4().hex[:8]}", count_children=1)
    exporter = span_exporter(sightline, encoding, compression)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    rows = span_rows(sightline, trace_hex(spans[0]))
    assert sorted(rows) == sorted(span_hex(span) for span in spans)
    trace = trace_rows(sightline, trace_hex(spans[0]))
    assert len(trace) == 1 and trace[0]["endpoint"] == "/api/replay"


def test_gzip_logs(sightline, encoding):
    run = uuid.uuid4().hex[:8]
    records = RecordingLogExporter(log_exporter(sightline, encoding, "gzip"))
    provider = LoggerProvider(resource=Resource.create({"service.name": f"gzip-logs-{run}"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(records))
    log = logging.getLogger(f"conformance.gzip.{run}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging_handler(provider)
    log.addHandler(handler)
    try:
        log.info("compressed hello %s", run)
        assert provider.force_flush(FLUSH_TIMEOUT_MS)
    finally:
        log.removeHandler(handler)
        provider.shutdown()
    assert records.results == [LogRecordExportResult.SUCCESS]
    rows = sightline.query("SELECT level, message, service_name FROM structured_logs WHERE logger_name = ?", (log.name,))
    assert [tuple(row) for row in rows] == [("INFO", f"compressed hello {run}", f"gzip-logs-{run}")]
