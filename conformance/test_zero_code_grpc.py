"""The zero-code set-up: `opentelemetry-instrument` (opentelemetry-distro) running a small
app with only `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at Sightline's gRPC port.

The distro's defaults are what a new user gets: the OTLP exporters over gRPC (the Python
default protocol), for traces, metrics and logs. Metrics have no receiver yet, so
`OTEL_METRICS_EXPORTER=none` keeps the app's output free of their export errors; the test
checks the traces are stored and the app printed no export failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

RUN_TIMEOUT_S = 60

APP = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace

    tracer = trace.get_tracer("zero-code-app")
    name = sys.argv[1]
    with tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER) as root:
        root.set_attribute("http.route", "/checkout")
        with tracer.start_as_current_span(name + " child"):
            pass
        try:
            raise ValueError("card declined")
        except ValueError as error:
            root.record_exception(error)
            root.set_status(trace.Status(trace.StatusCode.ERROR))
    print("app done")
    """
)


def test_opentelemetry_instrument_exports_traces_over_grpc(sightline, tmp_path: Path):
    assert sightline.grpc_url, "Sightline announced no gRPC port"
    app = tmp_path / "app.py"
    app.write_text(APP)
    span_name = f"zero-code-{uuid.uuid4().hex[:8]}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    environment.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": sightline.grpc_url,
        # Until Sightline receives OTLP metrics; the only setting besides the endpoint.
        "OTEL_METRICS_EXPORTER": "none",
    })
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    finished = subprocess.run(
        [str(instrument), sys.executable, str(app), span_name],
        env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    assert "app done" in finished.stdout, output
    for failure in ("Failed to export", "Transient error", "StatusCode.", "Traceback"):
        assert failure not in output, output

    # The exporter's answer came after the commit, and the app flushed before it exited.
    # No OTEL_SERVICE_NAME: the SDK names the service `unknown_service:<process>`.
    spans = sightline.query(
        "SELECT operation_name, service_name, status FROM trace_spans WHERE operation_name LIKE ? ORDER BY operation_name",
        (f"{span_name}%",),
    )
    assert [tuple(row) for row in spans] == [
        (span_name, "unknown_service:python", "error"),
        (f"{span_name} child", "unknown_service:python", "completed"),
    ]
    traces = sightline.query("SELECT status, error_message, endpoint FROM traces WHERE root_span_name = ?", (span_name,))
    # No status message: the error message comes from the recorded exception.
    assert [tuple(row) for row in traces] == [("error", "ValueError: card declined", "/checkout")]
