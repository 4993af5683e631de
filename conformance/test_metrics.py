"""GET /metrics against real Prometheus tools (docs/metrics.md): `promtool check metrics` accepts a
real scrape, and a real Prometheus on 127.0.0.1 scrapes Sightline and answers a query for
`traces_span_metrics_calls_total` with the number of spans ingested, and the PromQL of
Grafana's Service Graph tab over the `traces_service_graph_*` series. Runs once per store.

Debian's `prometheus` package provides both binaries (script/test installs it). Every wait is
bounded in time; Prometheus gets a free loopback port, a temporary config and data folder.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest

SPANS = 7
PROMETHEUS_WAIT_S = 60
SCRAPE_INTERVAL = "1s"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found: install Debian's prometheus package (script/test does)")
    return path


def _post_spans(sightline, service: str, count: int) -> None:
    trace_id = uuid.uuid4().hex
    start = time.time_ns()
    spans = [
        {
            "traceId": trace_id,
            "spanId": f"{index + 1:016x}",
            "name": "GET /metrics-check",
            "kind": 2,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + (index + 1) * 3_000_000),  # 3 ms, 6 ms, ... 21 ms
            "status": {"code": 2} if index == 0 else {},
        }
        for index in range(count)
    ]
    body = {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "conformance"}, "spans": spans}],
        }]
    }
    request = urllib.request.Request(
        f"{sightline.otlp_url}/v1/traces", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _scrape(sightline) -> str:
    with urllib.request.urlopen(f"{sightline.http_url}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_prometheus(sightline, tmp_path) -> tuple[int, subprocess.Popen]:
    """A real Prometheus on a free loopback port scraping Sightline's /metrics every second."""
    prometheus = _tool("prometheus")
    target = urllib.parse.urlparse(sightline.http_url).netloc
    (tmp_path / "prometheus.yml").write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL}\n"
        "scrape_configs:\n"
        "  - job_name: sightline\n"
        f"    scrape_interval: {SCRAPE_INTERVAL}\n"
        f"    scrape_timeout: {SCRAPE_INTERVAL}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = _free_port()
    process = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return port, process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=5)


def test_promtool_accepts_a_real_scrape(sightline):
    promtool = _tool("promtool")
    service = f"metrics-{uuid.uuid4().hex[:8]}"
    _post_spans(sightline, service, SPANS)
    text = _scrape(sightline)
    assert f'traces_span_metrics_calls_total{{service_name="{service}",span_name="GET /metrics-check",' \
           f'span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}} {SPANS - 1}' in text
    assert 'otelcol_receiver_accepted_spans_total{' in text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    report = f"promtool check metrics (exit {checked.returncode}):\n{checked.stdout}{checked.stderr}"
    # Exit 1 is a parse error; exit 3 lists lint findings. The one finding allowed is the unit
    # lint on the spanmetrics connector's own histogram name, which Jaeger's Monitor tab and
    # stock dashboards query by that name (docs/metrics.md); the collector's output draws it too.
    findings = [line for line in (checked.stdout + checked.stderr).splitlines() if line.strip()]
    allowed = 'traces_span_metrics_duration_milliseconds use base unit "seconds" instead of "milliseconds"'
    assert checked.returncode in (0, 3), report
    assert all(line == allowed for line in findings), report


def test_prometheus_scrapes_sightline_and_answers_a_query(sightline, tmp_path):
    service = f"scraped-{uuid.uuid4().hex[:8]}"
    _post_spans(sightline, service, SPANS)

    port, process = _start_prometheus(sightline, tmp_path)
    query = f'sum(traces_span_metrics_calls_total{{service_name="{service}"}})'
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    last = None
    try:
        deadline = time.monotonic() + PROMETHEUS_WAIT_S
        for _ in range(PROMETHEUS_WAIT_S * 4):
            if time.monotonic() > deadline or process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    last = json.load(response)
                result = last.get("data", {}).get("result", [])
                if result and float(result[0]["value"][1]) == SPANS:
                    break
            except OSError as error:
                last = error
            time.sleep(0.25)
        assert isinstance(last, dict) and last["status"] == "success", f"Prometheus answered {last!r}"
        result = last["data"]["result"]
        assert result and float(result[0]["value"][1]) == SPANS, f"{query} gave {result!r}"

        # The scrape itself is healthy: target up, no parse errors.
        up_url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": 'up{job="sightline"}'})
        with urllib.request.urlopen(up_url, timeout=5) as response:
            up = json.load(response)["data"]["result"]
        assert up and up[0]["value"][1] == "1", up
    finally:
        _stop(process)


def _post_calls(sightline, client: str, server: str, count: int, failed: int) -> None:
    """`count` calls from `client` to `server` in one request: a CLIENT span and its SERVER child
    in the other service, the first `failed` server spans with an error status."""
    start = time.time_ns()
    client_spans, server_spans = [], []
    for index in range(count):
        trace_id = uuid.uuid4().hex
        client_id, server_id = f"{2 * index + 1:016x}", f"{2 * index + 2:016x}"
        client_spans.append({
            "traceId": trace_id, "spanId": client_id, "name": "POST /pay", "kind": 3,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 30_000_000),
        })
        server_spans.append({
            "traceId": trace_id, "spanId": server_id, "parentSpanId": client_id, "name": "POST /pay", "kind": 2,
            "startTimeUnixNano": str(start + 1_000_000), "endTimeUnixNano": str(start + 21_000_000),
            "status": {"code": 2} if index < failed else {},
        })

    def resource(service, spans):
        return {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "conformance"}, "spans": spans}]}

    body = {"resourceSpans": [resource(client, client_spans), resource(server, server_spans)]}
    request = urllib.request.Request(
        f"{sightline.otlp_url}/v1/traces", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_prometheus_answers_grafanas_service_graph_queries(sightline, tmp_path):
    """The PromQL Grafana's Service Graph tab sends (Tempo data source, metrics-generator
    names), answered by a real Prometheus scraping Sightline's /metrics after real ingest."""
    client, server = f"front-{uuid.uuid4().hex[:8]}", f"pay-{uuid.uuid4().hex[:8]}"
    port, process = _start_prometheus(sightline, tmp_path)
    edge = f'client="{client}",server="{server}"'

    def query(text: str) -> list:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": text})
        with urllib.request.urlopen(url, timeout=2) as response:
            answer = json.load(response)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for(text: str, wanted) -> list:
        deadline, last = time.monotonic() + PROMETHEUS_WAIT_S, None
        for _ in range(PROMETHEUS_WAIT_S * 4):
            if time.monotonic() > deadline or process.poll() is not None:
                break
            try:
                last = query(text)
                if last and wanted(float(last[0]["value"][1])):
                    return last
            except OSError as error:
                last = error
            time.sleep(0.25)
        pytest.fail(f"{text} gave {last!r}")

    try:
        _post_calls(sightline, client, server, count=3, failed=1)
        wait_for(f"sum(traces_service_graph_request_total{{{edge}}})", lambda value: value == 3)
        _post_calls(sightline, client, server, count=2, failed=0)
        wait_for(f"sum(traces_service_graph_request_total{{{edge}}})", lambda value: value == 5)
        assert float(query(f"sum(traces_service_graph_request_failed_total{{{edge}}})")[0]["value"][1]) == 1
        assert float(query(f"sum(traces_service_graph_request_server_seconds_count{{{edge}}})")[0]["value"][1]) == 5

        # The Service Graph tab's own shapes: rates by edge over the range, and a latency quantile.
        rates = query(f"sum by (client, server) (rate(traces_service_graph_request_total{{{edge}}}[5m]))")
        assert len(rates) == 1 and rates[0]["metric"] == {"client": client, "server": server}, rates
        assert float(rates[0]["value"][1]) > 0, rates
        failed = query(f"sum by (client, server) (rate(traces_service_graph_request_failed_total{{{edge}}}[5m]))")
        assert len(failed) == 1, failed
        p90 = query("histogram_quantile(0.9, sum by (client, server, le) "
                    f"(rate(traces_service_graph_request_server_seconds_bucket{{{edge}}}[5m])))")
        assert len(p90) == 1 and 0 < float(p90[0]["value"][1]) <= 1, p90
    finally:
        _stop(process)
