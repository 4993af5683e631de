"""The admin pages' charts in a real headless Chromium, against a real Sightline on each store:
the overview's and the trace list's charts of /traces/stats/timeseries (as many points as the
window has steps, each the API's number), narrowing the time range by dragging across a
chart, the metric explorer charting a counter the OpenTelemetry Python SDK sent, and the LLM
page showing a seeded model's cost. The charts render with API keys configured too.
Screenshots at 1400 and 800 px go to conformance/.artifacts/ (docs/admin-pages.md shows them).
"""

from __future__ import annotations

import calendar
import os
import time
import urllib.parse

import pytest

from conftest import POSTGRES_URL_VARIABLE, PostgresStore, SQLiteStore, _serve, _store_kinds, sightline_binary
from test_admin_pages import (API_KEY, WAIT_S, attribute, browser, get, ingest_logs, ingest_spans, log_record,  # noqa: F401
                              open_page, page, screenshot, span, wait, wait_for_rows)

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

MINUTE_NS = 60_000_000_000
# One request a minute for the last 40 minutes: `shop` every minute (every fifth failing,
# durations growing), `auth` every other minute; a log record per request, by level.
MINUTES = 40
LLM_MODEL = "claude-3-sonnet"  # built-in price: 3 USD per million input tokens, 15 per million output
LLM_COST = (1200 * 3 + 800 * 15) / 1_000_000


def ingest_minutes(server, headers: dict | None = None) -> None:
    now = time.time_ns()
    spans: dict[str, list[dict]] = {"shop": [], "auth": []}
    records: dict[str, list[dict]] = {"shop": [], "auth": []}
    for minute in range(1, MINUTES + 1):
        start = now - minute * MINUTE_NS + 5_000_000_000
        failed = minute % 5 == 0
        spans["shop"].append(span(f"{minute:032x}", f"{minute:016x}", "GET /cart", None, start, 10 + minute * 3, error=failed))
        level, severity = ("ERROR", 17) if failed else ("INFO", 9)
        records["shop"].append(log_record(f"cart {minute}", level, severity, at_ns=start))
        if minute % 2 == 0:
            spans["auth"].append(span(f"{minute + 1000:032x}", f"{minute + 1000:016x}", "login", None, start + 1_000_000, 4))
            records["auth"].append(log_record(f"login {minute}", "WARNING", 13, at_ns=start))
    # A GenAI call (docs/metrics.md): its span fills llm_call_metrics, priced by the built-in table.
    spans["shop"].append(span("f" * 32, "f" * 16, "chat " + LLM_MODEL, None, now - 2 * MINUTE_NS, 900, attributes=[
        attribute("gen_ai.request.model", LLM_MODEL), attribute("gen_ai.provider.name", "anthropic"),
        attribute("gen_ai.usage.input_tokens", 1200), attribute("gen_ai.usage.output_tokens", 800)]))
    ingest_spans(server, spans)
    for service, batch in records.items():
        ingest_logs(server, service, batch)
    wait_for_rows(server, "/traces?hours=1&service=shop&limit=200", "traces", MINUTES + 1, headers)
    wait_for_rows(server, "/logs?hours=1&limit=200", "logs", MINUTES + MINUTES // 2, headers)


def export_counter(server) -> None:
    """An SDK counter (`checkout.orders`, two attribute sets) over OTLP/HTTP protobuf."""
    exporter = OTLPMetricExporter(endpoint=f"{server.otlp_url}/v1/metrics", timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": "shop"}), metric_readers=[reader])
    orders = provider.get_meter("charts").create_counter("checkout.orders", unit="{order}", description="orders placed")
    orders.add(3, {"region": "north"})
    orders.add(4, {"region": "north"})
    orders.add(2, {"region": "south"})
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()


def serve(kind: str, tmp_path_factory, environment: dict | None = None):
    if kind == "postgres":
        url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not url:
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set")
        store = PostgresStore(url)
    else:
        store = SQLiteStore(tmp_path_factory.mktemp("admin-charts") / "charts.db")
    return store, _serve(sightline_binary(), store, environment)


@pytest.fixture(scope="module", params=_store_kinds())
def charts(request, tmp_path_factory):
    """A Sightline of its own on each store with the minutes, the LLM call and the counter."""
    store, serving = serve(request.param, tmp_path_factory)
    try:
        server = next(serving)
        try:
            server.kind = request.param
            ingest_minutes(server)
            export_counter(server)
            wait_for_rows(server, "/metrics?hours=1", "metrics", 1)
            yield server
        finally:
            serving.close()
    finally:
        store.drop()


def api(server, path: str, headers: dict | None = None) -> dict:
    return get(f"{server.http_url}/api/observability{path}", headers)


def chart_values(driver, chart: str) -> dict:
    """A chart's drawn points: {series: {step index: value}}, its step count and first step (ms)."""
    return driver.execute_script("""
        const figure = document.querySelector(`figure[data-chart="${arguments[0]}"]`);
        if (!figure || !figure.querySelector('svg')) return null;
        const series = {};
        for (const group of figure.querySelectorAll('g.series')) {
          series[group.dataset.series] = Object.fromEntries([...group.querySelectorAll('.point')].map(
            (p) => [p.dataset.index, Number(p.dataset.value)]));
        }
        return {steps: Number(figure.dataset.steps), start: Number(figure.dataset.start), series};
    """, chart)


def charts_drawn(driver, *names: str) -> bool:
    return all(chart_values(driver, name) for name in names)


def api_start_ms(answer: dict) -> int:
    return calendar.timegm(time.strptime(answer["start"][:19], "%Y-%m-%dT%H:%M:%S")) * 1000


def assert_charts_match(driver, answer: dict, settled: int | None = None) -> None:
    """Each chart has one point per step (lines: per step with a value) equal to the API's.
    Steps from `settled` on are left out of the trace charts: Sightline traces its own API calls
    (service `sightline`), so the current step grows between the page's request and the test's."""
    points, logs = answer["points"], answer["logs"]
    settled = len(points) if settled is None else settled
    requests = chart_values(driver, "requests")
    assert requests["steps"] == len(points)
    assert requests["start"] == api_start_ms(answer)
    assert len(requests["series"]["ok"]) == len(points) and len(requests["series"]["errors"]) == len(points)
    for index, point in enumerate(points[:settled]):
        assert requests["series"]["ok"][str(index)] + requests["series"]["errors"][str(index)] == point["requests"], index
        assert requests["series"]["errors"][str(index)] == point["errors"], index
    rate = chart_values(driver, "error-rate")["series"]["error_rate"]
    assert len(rate) == len(points)
    assert [rate[str(i)] for i in range(settled)] == [p["error_rate"] for p in points[:settled]]
    latency = chart_values(driver, "latency")["series"]
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        drawn = {index: value for index, value in latency[key].items() if int(index) < settled}
        assert drawn == {str(i): p[key] for i, p in enumerate(points[:settled]) if p[key] is not None}, key
    levels = chart_values(driver, "logs")["series"]
    for index, step in enumerate(logs):
        assert sum(series[str(index)] for series in levels.values()) == step["total"], index
        for level, count in step["levels"].items():
            assert levels[level][str(index)] == count, (index, level)


def load_matching(driver, url: str, server, api_path: str, headers: dict | None = None) -> dict:
    """Opens `url` and reads `api_path`; again when a step boundary passed between the two."""
    for _ in range(3):
        open_page(driver, url)
        wait(driver, lambda d: charts_drawn(d, "requests", "error-rate", "latency", "logs"), "four charts drawn")
        answer = api(server, api_path, headers)
        if chart_values(driver, "requests")["start"] == api_start_ms(answer):
            return answer
    pytest.fail("the page's steps never matched the API's")


def test_overview_charts_have_the_api_points(charts, page):
    answer = load_matching(page, f"{charts.http_url}/?hours=1", charts, "/traces/stats/timeseries?hours=1")
    assert len(answer["points"]) == 60 and answer["step_seconds"] == 60
    assert sum(p["requests"] for p in answer["points"]) >= MINUTES + MINUTES // 2 + 1
    assert sum(p["errors"] for p in answer["points"]) == MINUTES // 5
    assert_charts_match(page, answer, settled=len(answer["points"]) - 1)
    assert page.find_element(By.ID, "overview-window").text == "(last hour)"
    # The readout under the pointer is text.
    ActionChains(page).move_to_element(page.find_element(By.CSS_SELECTOR, 'figure[data-chart="requests"] .surface')).perform()
    wait(page, lambda d: "OK" in d.find_element(By.CSS_SELECTOR, 'figure[data-chart="requests"] .chart-readout').text, "a readout")
    shot(page, f"overview-{charts.kind}")

    # One service: the charts follow the selection, and the address keeps it.
    wait(page, lambda d: "auth" in [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "select[name=service] option")],
         "services listed")
    Select(page.find_element(By.NAME, "service")).select_by_value("auth")
    wait(page, lambda d: "service=auth" in d.current_url, "the service in the address")
    for _ in range(3):
        wait(page, lambda d: charts_drawn(d, "requests") and sum(chart_values(d, "requests")["series"]["errors"].values()) == 0
             and sum(chart_values(d, "requests")["series"]["ok"].values()) == MINUTES // 2, "auth's requests charted")
        auth = api(charts, "/traces/stats/timeseries?hours=1&service=auth")
        if chart_values(page, "requests")["start"] == api_start_ms(auth):
            break
        page.refresh()
    assert_charts_match(page, auth)

    # Dragging across the requests chart opens the trace list of that time, for that service.
    surface = page.find_element(By.CSS_SELECTOR, 'figure[data-chart="requests"] .surface')
    width = surface.rect["width"]
    ActionChains(page).move_to_element_with_offset(surface, int(width * 0.1), 0).click_and_hold() \
        .move_to_element_with_offset(surface, int(width * 0.4), 0).release().perform()
    wait(page, lambda d: "/traces?" in d.current_url and "from=" in d.current_url, "the trace list of the range")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.current_url).query)
    assert query["service"] == ["auth"]
    listed = api(charts, f"/traces?service=auth&from={query['from'][0]}&to={query['to'][0]}&limit=200")["traces"]
    assert 0 < len(listed) < MINUTES // 2
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#trace-table tbody tr[data-trace-id]")) == len(listed), "the range's traces")


def test_trace_list_charts_follow_the_filter_and_narrow_the_range(charts, page):
    path = "/traces/stats/timeseries?hours=1&service=shop&status=error"
    answer = load_matching(page, f"{charts.http_url}/traces?hours=1&service=shop&status=error", charts, path)
    assert sum(p["requests"] for p in answer["points"]) == MINUTES // 5
    assert_charts_match(page, answer)
    shot(page, f"traces-charts-{charts.kind}")

    # A drag sets the range (a chip replaces the time menu) and narrows the list.
    surface = page.find_element(By.CSS_SELECTOR, 'figure[data-chart="requests"] .surface')
    width = surface.rect["width"]
    ActionChains(page).move_to_element_with_offset(surface, int(-width * 0.3), 0).click_and_hold() \
        .move_to_element_with_offset(surface, int(width * 0.3), 0).release().perform()
    wait(page, lambda d: "from=" in d.current_url and "to=" in d.current_url, "the range in the address")
    wait(page, lambda d: d.find_element(By.ID, "range-chip").is_displayed(), "the range chip")
    assert not page.find_element(By.NAME, "hours").is_displayed()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.current_url).query)
    expected = api(charts, f"/traces?service=shop&status=error&from={query['from'][0]}&to={query['to'][0]}")["traces"]
    wait(page, lambda d: sorted(r.get_attribute("data-trace-id") for r in d.find_elements(By.CSS_SELECTOR, "#trace-table tbody tr[data-trace-id]"))
         == sorted(t["trace_id"] for t in expected), "the list narrowed to the range")
    wait(page, lambda d: charts_drawn(d, "requests") and chart_values(d, "requests")["steps"] < len(answer["points"]),
         "the charts redrawn for the range")

    # The range is a deep link; clearing it brings the time menu back.
    open_page(page, page.current_url)
    wait(page, lambda d: d.find_element(By.ID, "range-chip").is_displayed(), "the range chip after reloading")
    page.find_element(By.CSS_SELECTOR, "#range-chip button").click()
    wait(page, lambda d: "from=" not in d.current_url and d.find_element(By.NAME, "hours").is_displayed(), "the range cleared")


def test_metric_explorer_charts_the_sdk_counter(charts, page):
    open_page(page, f"{charts.http_url}/metrics-explorer?hours=1")
    button = wait(page, lambda d: d.find_element(By.CSS_SELECTOR, 'button[data-metric="checkout.orders"]'), "the counter listed")
    assert "sum" in button.text
    button.click()
    wait(page, lambda d: "metric=checkout.orders" in d.current_url, "the metric in the address")
    wait(page, lambda d: charts_drawn(d, "metric"), "the counter charted")
    series = api(charts, "/metrics/checkout.orders/series?hours=1")["series"]
    drawn = chart_values(page, "metric")["series"]
    assert sorted(drawn) == sorted(s["series_id"] for s in series)
    for s in series:
        assert list(drawn[s["series_id"]].values())[-1] == s["points"][-1]["avg"]
    rows = {r.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text: r.find_element(By.CSS_SELECTOR, "td:nth-child(3)").text
            for r in page.find_elements(By.CSS_SELECTOR, "#series-table tbody tr")}
    assert rows == {"region=north": "7", "region=south": "2"}
    shot(page, f"metrics-explorer-{charts.kind}")

    # An attribute filter narrows the series (and is kept in the address).
    Select(page.find_element(By.NAME, "attr.region")).select_by_value("south")
    wait(page, lambda d: "attr.region=south" in d.current_url and charts_drawn(d, "metric")
         and len(chart_values(d, "metric")["series"]) == 1, "one series left")
    assert [r.text for r in page.find_elements(By.CSS_SELECTOR, "#series-table tbody tr td:nth-child(3)")] == ["2"]


def test_llm_page_shows_the_seeded_models_cost(charts, page):
    open_page(page, f"{charts.http_url}/llm")
    row = wait(page, lambda d: d.find_element(By.CSS_SELECTOR, f'#model-table tr[data-model="{LLM_MODEL}"]'), "the model listed")
    cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")]
    assert cells[:3] == ["anthropic", LLM_MODEL, "1"]
    assert cells[4:7] == ["1,200", "800", "2,000"]
    assert cells[7] == f"${LLM_COST:.4f}"
    usage = api(charts, "/llm/usage")
    assert usage["models"][0]["cost_usd"] == pytest.approx(LLM_COST)
    wait(page, lambda d: charts_drawn(d, "llm-cost"), "the daily cost charted")
    assert chart_values(page, "llm-cost")["steps"] == 7
    shot(page, f"llm-{charts.kind}")


@pytest.fixture(scope="module")
def keyed_charts(tmp_path_factory):
    _, serving = serve("sqlite", tmp_path_factory, {"SIGHTLINE_API_KEYS": API_KEY})
    server = next(serving)
    try:
        ingest_minutes(server, {"Authorization": f"Bearer {API_KEY}"})
        yield server
    finally:
        serving.close()


def test_charts_with_an_api_key(keyed_charts, page):
    open_page(page, f"{keyed_charts.http_url}/?hours=1")
    wait(page, lambda d: d.find_element(By.ID, "key-prompt").is_displayed(), "the key prompt")
    page.find_element(By.ID, "key-input").send_keys(API_KEY + "\n")
    wait(page, lambda d: charts_drawn(d, "requests", "error-rate", "latency", "logs"), "four charts drawn with the key")
    assert chart_values(page, "requests")["steps"] == 60


def shot(driver, name: str) -> None:
    """At 1400 and 800 px; at 800 the page must not scroll sideways."""
    for width in (1400, 800):
        driver.set_window_size(width, 900)
        wait(driver, lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
             f"no sideways scrolling at {width} px")
        # Charts redraw at their new width.
        wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('.chart-svg')].every((s) => Math.abs(s.getBoundingClientRect().width - s.parentElement.clientWidth) < 2)"),
            f"charts drawn at {width} px")
        screenshot(driver, f"{name}-{width}")
    driver.set_window_size(1280, 900)
