"""OTLP metrics from the real OpenTelemetry Python SDK (POST /v1/metrics): its OTLP/HTTP
protobuf and JSON metric exporters send a counter, an up-down counter, a histogram and an
observable gauge; the values are read back through GET /api/observability/metrics and
/metrics/{name}/series, and a real Prometheus scraping /metrics/otlp answers a PromQL query on
the counter with the value the SDK added up. Runs once per store.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest
from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter as JSONMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as ProtobufMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from test_metrics import PROMETHEUS_WAIT_S, SCRAPE_INTERVAL, _free_port, _tool

EXPORTERS = {"protobuf": ProtobufMetricExporter, "json": JSONMetricExporter}


def _export(sightline, encoding: str, service: str) -> None:
    """One meter provider exporting each instrument kind once, flushed and shut down."""
    exporter = EXPORTERS[encoding](endpoint=f"{sightline.otlp_url}/v1/metrics", timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": service, "service.instance.id": "i-1"}),
                             metric_readers=[reader])
    meter = provider.get_meter("conformance")
    orders = meter.create_counter("orders", unit="1", description="orders placed")
    orders.add(3, {"shop": "north"})
    orders.add(4, {"shop": "north"})
    queue = meter.create_up_down_counter("queue.depth", unit="{item}")
    queue.add(5)
    queue.add(-2)
    latency = meter.create_histogram("checkout.duration", unit="s")
    for value in (0.2, 0.7, 3.0):
        latency.record(value, {"route": "/pay"})

    def memory(_: CallbackOptions):
        yield Observation(0.42, {"system.memory.state": "used"})

    meter.create_observable_gauge("system.memory.utilization", callbacks=[memory], unit="1")
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def _series(sightline, name: str, **attributes) -> list[dict]:
    query = {"hours": "1", "step": "3600"} | {f"attr.{key}": value for key, value in attributes.items()}
    url = f"{sightline.http_url}/api/observability/metrics/{urllib.parse.quote(name)}/series?" + urllib.parse.urlencode(query)
    return _get(url)["series"]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_sdk_metric_exporters_store_every_instrument(sightline, encoding):
    service = f"metrics-{encoding}-{uuid.uuid4().hex[:8]}"
    _export(sightline, encoding, service)

    names = {metric["name"]: metric for metric in _get(f"{sightline.http_url}/api/observability/metrics?hours=1")["metrics"]}
    assert names["orders"]["type"] == "sum" and names["orders"]["description"] == "orders placed"
    assert names["checkout.duration"]["type"] == "histogram"
    assert names["system.memory.utilization"]["type"] == "gauge"

    orders = _series(sightline, "orders", shop="north", **{"service.name": service})
    assert len(orders) == 1 and orders[0]["points"][0]["max"] == 7
    queue = _series(sightline, "queue.depth", **{"service.name": service})
    assert queue[0]["points"][0]["max"] == 3
    latency = _series(sightline, "checkout.duration", route="/pay", **{"service.name": service})
    assert latency[0]["points"][0]["count"] == 3 and abs(latency[0]["points"][0]["sum"] - 3.9) < 1e-9
    memory = _series(sightline, "system.memory.utilization", **{"service.name": service})
    assert memory[0]["points"][0]["avg"] == 0.42

    # The host reading fills system_metrics, which the memory_percent alert reads.
    rows = sightline.query("SELECT value FROM system_metrics WHERE metric_name = 'memory_percent'")
    assert any(abs(row["value"] - 42) < 1e-9 for row in rows), rows


def test_prometheus_scrapes_the_otlp_metrics(sightline, tmp_path):
    prometheus = _tool("prometheus")
    service = f"scraped-{uuid.uuid4().hex[:8]}"
    _export(sightline, "protobuf", service)

    promtool = _tool("promtool")
    with urllib.request.urlopen(f"{sightline.http_url}/metrics/otlp", timeout=10) as response:
        text = response.read().decode()
    assert f'orders_total{{instance="i-1",job="{service}",shop="north"}} 7' in text, text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    target = urllib.parse.urlparse(sightline.http_url).netloc
    (tmp_path / "prometheus.yml").write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL}\n"
        "scrape_configs:\n"
        "  - job_name: otlp\n"
        "    metrics_path: /metrics/otlp\n"
        "    honor_labels: true\n"
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
    query = f'sum(orders_total{{job="{service}"}})'
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
                if result and float(result[0]["value"][1]) == 7:
                    break
            except OSError as error:
                last = error
            time.sleep(0.25)
        assert isinstance(last, dict) and last["status"] == "success", f"Prometheus answered {last!r}"
        result = last["data"]["result"]
        assert result and float(result[0]["value"][1]) == 7, f"{query} gave {result!r}"
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=5)


def _preview(sightline, rule: dict) -> dict:
    body = json.dumps({"name": "conformance", "metric_type": "metric", "condition": "gt", "threshold": 1} | rule).encode()
    request = urllib.request.Request(f"{sightline.http_url}/api/observability/alerts/rules/preview", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def test_metric_alert_rules_read_the_sdk_metrics(sightline):
    """The `metric` rule type on what the SDK sent, evaluated once through the rule preview."""
    service = f"metric-rules-{uuid.uuid4().hex[:8]}"
    _export(sightline, "protobuf", service)

    orders = _preview(sightline, {"metric_name": "orders", "metric_aggregation": "max", "service_name": service,
                                  "metric_attributes": {"shop": "north"}, "threshold": 5})
    assert orders["value"] == 7 and orders["breached"] is True
    other_shop = _preview(sightline, {"metric_name": "orders", "service_name": service, "metric_attributes": {"shop": "south"}})
    assert other_shop["value"] is None
    # 0.2, 0.7 and 3.0 s in the SDK's default (0, 5] bucket: the 95th percentile interpolated in it.
    latency = _preview(sightline, {"metric_name": "checkout.duration", "metric_aggregation": "p95", "service_name": service})
    assert abs(latency["value"] - 5 * 0.95) < 1e-9, latency
    mean = _preview(sightline, {"metric_name": "checkout.duration", "service_name": service})
    assert abs(mean["value"] - 1.3) < 1e-9, mean
