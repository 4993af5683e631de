"""The admin pages (/, /traces, /logs, /alerts) in a real headless Chromium (selenium, the
system chromedriver), against a real Sightline on SQLite fed through its OTLP/HTTP receiver.

What a user sees is checked: the waterfall's rows and bar geometry for a known trace, filters
narrowing the lists, a log record ingested while the log page is live appearing on it,
acknowledging an alert, data containing markup shown as text (never run), and the API-key
prompt. Screenshots go to conformance/.artifacts/ (not committed). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import POSTGRES_URL_VARIABLE, REPO_ROOT, PostgresStore, SQLiteStore, _serve, sightline_binary

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ARTIFACTS = REPO_ROOT / "conformance" / ".artifacts"
WAIT_S = 15
HTTP_TIMEOUT_S = 10
API_KEY = "page-test-key_1?>"  # its base64 has "+" or "/": the WebSocket carries it base64url-encoded

MARKUP = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

# The known trace: (name, service, parent, start ms, duration ms, error) on a 400 ms axis.
CHECKOUT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CHECKOUT_SPANS = {
    "00f067aa0ba902b7": ("GET /checkout", "frontend", None, 0, 400, False),
    "1111111111111111": ("checkout.validate", "frontend", "00f067aa0ba902b7", 20, 80, False),
    "2222222222222222": ("payments.charge", "payments", "00f067aa0ba902b7", 120, 200, True),
    "3333333333333333": ("db.query", "payments", "2222222222222222", 150, 100, False),
}
INVENTORY_TRACE = "5c0a1b2c3d4e5f60718293a4b5c6d7e8"
HOME_TRACE = "6d1b2c3d4e5f60718293a4b5c6d7e8f9"


# --- OTLP/JSON through the receiver ------------------------------------------------------------

def attribute(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def post(url: str, body: dict, headers: dict | None = None, method: str = "POST") -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text else None


def get(url: str, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
        return json.loads(response.read())


def ingest_spans(server, spans_by_service: dict[str, list[dict]]) -> None:
    body = {"resourceSpans": [
        {"resource": {"attributes": [attribute("service.name", service)]},
         "scopeSpans": [{"scope": {"name": "admin-page-test"}, "spans": spans}]}
        for service, spans in spans_by_service.items()
    ]}
    status, answer = post(f"{server.otlp_url}/v1/traces", body)
    assert status == 200, answer


def ingest_logs(server, service: str, records: list[dict], logger: str = "shop.checkout") -> None:
    """Records of `service`, from the instrumentation scope `logger` (the stored logger name)."""
    body = {"resourceLogs": [{"resource": {"attributes": [attribute("service.name", service)]},
                              "scopeLogs": [{"scope": {"name": logger}, "logRecords": records}]}]}
    status, answer = post(f"{server.otlp_url}/v1/logs", body)
    assert status == 200, answer


def span(trace_id: str, span_id: str, name: str, parent: str | None, start_ns: int, duration_ms: float,
         error: bool = False, attributes: list | None = None, events: list | None = None, links: list | None = None) -> dict:
    result = {
        "traceId": trace_id, "spanId": span_id, "name": name, "kind": 2 if parent is None else 1,
        "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + int(duration_ms * 1_000_000)),
        "attributes": attributes or [], "events": events or [], "links": links or [],
        "status": {"code": 2, "message": "card declined"} if error else {"code": 1},
    }
    if parent:
        result["parentSpanId"] = parent
    return result


def log_record(message: str, level: str, severity: int, trace_id: str | None = None, attributes: list | None = None,
               at_ns: int | None = None) -> dict:
    record = {
        "timeUnixNano": str(at_ns or time.time_ns()), "severityNumber": severity, "severityText": level,
        "body": {"stringValue": message}, "attributes": attributes or [],
    }
    if trace_id:
        record["traceId"] = trace_id
        record["spanId"] = "2222222222222222"
    return record


def wait_for_rows(server, path: str, key: str, count: int, headers: dict | None = None) -> None:
    """Ingest is asynchronous (group commit): wait until the API sees the rows."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if len(get(f"{server.http_url}/api/observability{path}", headers)[key]) >= count:
            return
        time.sleep(0.1)
    pytest.fail(f"{path} never returned {count} {key}")


def ingest_checkout_trace(server) -> None:
    base = time.time_ns() - 60 * 1_000_000_000
    spans: dict[str, list[dict]] = {}
    for span_id, (name, service, parent, start_ms, duration_ms, error) in CHECKOUT_SPANS.items():
        extra = {}
        if span_id == "2222222222222222":
            extra = {
                "attributes": [attribute("payment.note", MARKUP), attribute("payment.amount_cents", 4200)],
                "events": [{"timeUnixNano": str(base + 150_000_000), "name": "retrying <b>charge</b>",
                            "attributes": [attribute("attempt", 2)]}],
                "links": [{"traceId": INVENTORY_TRACE, "spanId": "4444444444444444", "attributes": [attribute("link.reason", "stock check")]}],
            }
        spans.setdefault(service, []).append(
            span(CHECKOUT_TRACE, span_id, name, parent, base + start_ms * 1_000_000, duration_ms, error, **extra))
    spans["inventory"] = [span(INVENTORY_TRACE, "4444444444444444", "inventory.lookup", None, base - 5_000_000_000, 50)]
    spans["frontend"].append(span(HOME_TRACE, "5555555555555555", "GET /home", None, base - 9_000_000_000, 10))
    ingest_spans(server, spans)

    ingest_logs(server, "frontend", [log_record("checkout started for cart 17", "INFO", 9, CHECKOUT_TRACE, at_ns=base + 1_000_000)])
    ingest_logs(server, "payments", [log_record(
        "payment failed " + MARKUP, "ERROR", 17, CHECKOUT_TRACE, at_ns=base + 300_000_000,
        attributes=[attribute("payload", MARKUP), attribute("exception.type", "CardDeclined"),
                    attribute("exception.message", "card 4242 declined"),
                    attribute("exception.stacktrace", 'Traceback (most recent call last):\n  File "pay.py", line 3, in charge\nCardDeclined: card 4242 declined')])],
                logger="shop.payments")
    ingest_logs(server, "inventory", [log_record("inventory low for sku 99", "WARNING", 13, at_ns=base - 4_000_000_000)],
                logger="shop.inventory")


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """A Sightline of its own on a fresh SQLite file, with the known data ingested."""
    store = SQLiteStore(tmp_path_factory.mktemp("admin-pages") / "pages.db")
    serving = _serve(sightline_binary(), store)
    server = next(serving)
    try:
        ingest_checkout_trace(server)
        wait_for_rows(server, "/traces?hours=1", "traces", 3)
        wait_for_rows(server, "/logs?hours=1", "logs", 3)
        yield server
    finally:
        serving.close()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not chromium or not Path(driver_path).exists():
        pytest.fail("chromium and chromedriver are needed (Debian packages chromium, chromium-driver; script/test installs them)")
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.set_script_timeout(WAIT_S)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture()
def page(browser):
    """The browser at 1280 px, its session (API key) cleared; fails on script errors."""
    browser.set_window_size(1280, 900)
    browser.get_log("browser")  # drop what earlier tests left
    yield browser
    # Script errors fail the test; refused requests (401, 400) are the pages' to show, not errors.
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE" and entry.get("source") != "network"]
    assert not severe, f"console errors: {severe}"


def keyed_server(request, tmp_path_factory, api_key: str, seed, ready, what: str):
    """A module fixture's body: a Sightline on the store `request.param` names, requiring
    `api_key`, seeded by `seed(server)` and polled (15 s) until `ready(server)`; yields it, then
    stops it and drops the store."""
    if request.param == "postgres":
        url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not url:
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set")
        store = PostgresStore(url)
    else:
        store = SQLiteStore(tmp_path_factory.mktemp("admin-page") / "admin.db")
    serving = _serve(sightline_binary(), store, environment={"SIGHTLINE_API_KEYS": api_key})
    server = next(serving)
    server.kind = request.param
    try:
        seed(server)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ready(server):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the seeded data never reached {what}")
        yield server
    finally:
        serving.close()
        store.drop()


def open_keyed(driver, url: str, api_key: str) -> None:
    """The page with the API key already in the tab's session (as after typing it once)."""
    driver.get(url)
    driver.execute_script("sessionStorage.setItem('sightline.apiKey', arguments[0])", api_key)
    driver.get(url)


def wait(driver, condition, message: str, timeout: float = WAIT_S):
    try:
        # Lists are re-rendered as answers arrive: an element read mid-render is just read again.
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: condition(d), message)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout}s: {message}")


def open_page(driver, url: str) -> None:
    driver.get(url)
    driver.execute_script("sessionStorage.clear()")
    driver.get(url)


def screenshot(driver, name: str) -> None:
    """The whole page (the window is made as tall as the document for the shot)."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height, 600), 4000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(size["width"], size["height"])


def narrow(driver, name: str) -> None:
    """At 420 px the page fits the window (tables scroll inside their panel); a screenshot."""
    driver.set_window_size(420, 900)
    wait(driver, lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
         "no sideways scrolling at 420 px")
    screenshot(driver, name)
    driver.set_window_size(1280, 900)


def listed_traces(driver) -> list[str]:
    """The listed trace ids, read in one go (the list may be re-rendered between two reads)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#trace-table tbody tr')].map((row) => row.dataset.traceId)")


def status_text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def apply_filters(driver, values: dict[str, str]) -> None:
    form = driver.find_element(By.ID, "filters")
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.execute_script("return !document.querySelector('table[aria-busy=true]')"), "the list loaded")


# --- /traces -----------------------------------------------------------------------------------

def test_trace_waterfall_shows_each_span_at_its_time(admin, page):
    open_page(page, f"{admin.http_url}/traces?hours=1&trace_id={CHECKOUT_TRACE}")
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".span-row")) == 4, "four span rows")
    rows = page.find_elements(By.CSS_SELECTOR, ".span-row")
    assert [row.get_attribute("data-span-id") for row in rows] == list(CHECKOUT_SPANS)  # start order
    assert page.find_element(By.ID, "detail-heading").text == f"Trace {CHECKOUT_TRACE}"

    track = rows[0].find_element(By.CSS_SELECTOR, ".span-track").rect
    axis_ms = 400
    indents = []
    for row, (span_id, (name, service, parent, start_ms, duration_ms, error)) in zip(rows, CHECKOUT_SPANS.items()):
        assert name in row.text and service in row.text
        bar = row.find_element(By.CSS_SELECTOR, ".span-bar").rect
        # Bars share one axis: left and width in proportion to start and duration (±1.5 px).
        assert abs((bar["x"] - track["x"]) - track["width"] * start_ms / axis_ms) < 1.5, (name, bar, track)
        assert abs(bar["width"] - track["width"] * duration_ms / axis_ms) < 1.5, (name, bar, track)
        assert ("error" in row.get_attribute("class").split()) == error
        assert bool(row.find_elements(By.CSS_SELECTOR, ".badge.status-error")) == error
        indents.append(row.find_element(By.CSS_SELECTOR, ".span-operation").rect["x"])
    # Indented by depth: root 0, children 1, grandchild 2.
    assert indents[1] == indents[2] and indents[0] < indents[1] < indents[3]
    # Coloured by service: same service, same colour; different services, different colours.
    colours = [row.find_element(By.CSS_SELECTOR, ".span-bar").value_of_css_property("background-color") for row in rows]
    assert colours[0] == colours[1] and colours[2] == colours[3] and colours[0] != colours[2]

    # Clicking a span shows its attributes, events and links, markup as text.
    rows[2].find_element(By.CSS_SELECTOR, ".span-name").click()
    detail = wait(page, lambda d: d.find_element(By.ID, "span-detail") if d.find_element(By.ID, "span-detail").is_displayed() else None, "span details")
    text = detail.text
    assert "payments.charge" in text and "payment.note" in text and MARKUP in text
    assert "payment.amount_cents" in text and "4200" in text
    assert "retrying <b>charge</b> at +30 ms" in text
    assert INVENTORY_TRACE in text and "stock check" in text
    assert "card declined" in text
    assert page.execute_script("return window.__pwned === undefined")
    assert not detail.find_elements(By.CSS_SELECTOR, "script, img, b")
    assert "span_id=2222222222222222" in page.current_url  # the selection is a deep link

    logs_link = page.find_element(By.ID, "trace-logs-link")
    assert f"/logs?trace_id={CHECKOUT_TRACE}" in logs_link.get_attribute("href")
    screenshot(page, "traces")

    # On a narrow window the waterfall still fits.
    narrow(page, "traces-narrow")


def test_trace_filters_narrow_the_list(admin, page):
    open_page(page, f"{admin.http_url}/traces?hours=1")
    wait(page, lambda d: {CHECKOUT_TRACE, INVENTORY_TRACE, HOME_TRACE} <= set(listed_traces(d)), "all three traces listed")

    apply_filters(page, {"service": "inventory"})
    wait(page, lambda d: listed_traces(d) == [INVENTORY_TRACE], "only the inventory trace")
    assert "service=inventory" in page.current_url

    apply_filters(page, {"service": "", "status": "error"})
    wait(page, lambda d: CHECKOUT_TRACE in listed_traces(d) and INVENTORY_TRACE not in listed_traces(d), "only failed traces")
    assert HOME_TRACE not in listed_traces(page)

    apply_filters(page, {"status": "", "min_duration_ms": "300", "service": "frontend"})
    wait(page, lambda d: listed_traces(d) == [CHECKOUT_TRACE], "only the slow frontend trace")

    apply_filters(page, {"min_duration_ms": "", "operation": "db.query", "service": ""})
    wait(page, lambda d: listed_traces(d) == [CHECKOUT_TRACE], "only the trace with a db.query span")

    # Picking a trace from the list opens its waterfall.
    page.find_element(By.CSS_SELECTOR, f'a[data-trace-id="{CHECKOUT_TRACE}"]').click()
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".span-row")) == 4, "the waterfall of the picked trace")


# --- /logs -------------------------------------------------------------------------------------

def listed_messages(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#log-table tr.log-row td.message')].map((cell) => cell.textContent)")


def test_log_filters_details_and_markup_as_text(admin, page):
    open_page(page, f"{admin.http_url}/logs?hours=1")
    wait(page, lambda d: len(listed_messages(d)) >= 3, "three log records")
    messages = listed_messages(page)
    assert "payment failed " + MARKUP in messages  # shown as text
    assert page.execute_script("return window.__pwned === undefined")
    assert len(page.execute_script("return document.scripts")) == 2
    assert not page.find_elements(By.CSS_SELECTOR, "#log-table img, #log-table tbody script")

    apply_filters(page, {"level": "ERROR"})
    wait(page, lambda d: listed_messages(d) == ["payment failed " + MARKUP], "only the ERROR record")
    row = page.find_element(By.CSS_SELECTOR, "#log-table tr.log-row")
    assert "level-ERROR" in row.get_attribute("class")
    badge = row.find_element(By.CSS_SELECTOR, ".badge")
    assert badge.text == "ERROR" and badge.value_of_css_property("color") == "rgba(198, 40, 40, 1)"

    # Expanding shows attributes and the exception's traceback.
    toggle = row.find_element(By.CSS_SELECTOR, "button.expand")
    toggle.click()
    detail = wait(page, lambda d: d.find_element(By.CSS_SELECTOR, "tr.log-detail:not([hidden])"), "expanded details")
    wait(page, lambda d: "Traceback (most recent call last)" in detail.text, "the traceback")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert "CardDeclined: card 4242 declined" in detail.text
    assert "payload" in detail.text and MARKUP in detail.text
    assert page.execute_script("return window.__pwned === undefined")
    trace_link = row.find_element(By.CSS_SELECTOR, "a[data-trace-id]")
    assert trace_link.get_attribute("href").endswith(f"/traces?trace_id={CHECKOUT_TRACE}&hours=168")
    screenshot(page, "logs")
    narrow(page, "logs-narrow")

    apply_filters(page, {"level": "", "search": "inventory"})
    wait(page, lambda d: listed_messages(d) == ["inventory low for sku 99"], "full-text search")
    apply_filters(page, {"search": "", "logger_name": "payments"})
    wait(page, lambda d: listed_messages(d) == ["payment failed " + MARKUP], "logger filter")
    apply_filters(page, {"logger_name": "", "trace_id": CHECKOUT_TRACE})
    wait(page, lambda d: sorted(listed_messages(d)) == sorted(["checkout started for cart 17", "payment failed " + MARKUP]), "trace filter")
    apply_filters(page, {"trace_id": "", "service": "inventory"})
    wait(page, lambda d: listed_messages(d) == ["inventory low for sku 99"], "service filter")

    # The trace link opens the trace.
    page.get(f"{admin.http_url}/logs?hours=1&trace_id={CHECKOUT_TRACE}&level=INFO")
    wait(page, lambda d: listed_messages(d) == ["checkout started for cart 17"], "deep link with filters")
    page.find_element(By.CSS_SELECTOR, "#log-table a[data-trace-id]").click()
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".span-row")) == 4, "the trace's waterfall")


def test_live_mode_shows_new_records_and_pauses(admin, page):
    open_page(page, f"{admin.http_url}/logs?hours=1&service=live-test")
    wait(page, lambda d: "No log records" in status_text(d, "list-status"), "an empty list")
    page.find_element(By.ID, "live-toggle").click()
    wait(page, lambda d: "streaming" in status_text(d, "live-status"), "the stream connected")

    marker = uuid.uuid4().hex[:8]
    ingest_logs(admin, "live-test", [log_record(f"live line {marker} <i>as text</i>", "WARNING", 13)])
    ingest_logs(admin, "elsewhere", [log_record(f"other service {marker}", "INFO", 9)])
    wait(page, lambda d: f"live line {marker} <i>as text</i>" in listed_messages(d), "the new record, live")
    first = page.find_element(By.CSS_SELECTOR, "#log-table tr.log-row")
    assert "level-WARNING" in first.get_attribute("class")

    # Paused: records are held, not shown; resumed: they appear.
    page.find_element(By.ID, "pause-toggle").click()
    ingest_logs(admin, "live-test", [log_record(f"while paused {marker}", "INFO", 9)])
    wait(page, lambda d: "paused, 1 new record held" in status_text(d, "live-status"), "the record held while paused")
    assert f"while paused {marker}" not in listed_messages(page)
    page.find_element(By.ID, "pause-toggle").click()
    wait(page, lambda d: listed_messages(d)[:1] == [f"while paused {marker}"], "the held record after resuming")
    assert not any(f"other service {marker}" == m for m in listed_messages(page))  # the stream's filter
    page.find_element(By.ID, "live-toggle").click()


# --- /alerts -----------------------------------------------------------------------------------

def test_alert_rules_and_acknowledging_an_instance(admin, page):
    api = f"{admin.http_url}/api/observability"
    try:
        get(f"{api}/alerts/rules")
    except urllib.error.HTTPError as error:
        pytest.fail(f"the alerts API is not there yet (GET /alerts/rules: {error.code})")
    # A rule that fires at once on the failed span and ERROR record ingested above.
    status, created = post(f"{api}/alerts/rules", {
        "name": "Checkout errors", "metric_type": "error_count", "condition": "gt", "threshold": 0,
        "window_minutes": 60, "evaluation_interval_seconds": 1, "severity": "critical", "notification_channels": [],
    })
    assert status in (200, 201), created

    open_page(page, f"{admin.http_url}/alerts")
    firing = 'tr[data-status="firing"]'
    deadline = time.monotonic() + 30
    while not page.find_elements(By.CSS_SELECTOR, firing):
        assert time.monotonic() < deadline, "the rule never fired"
        page.find_element(By.CSS_SELECTOR, "#instance-filters button[type=submit]").click()
        time.sleep(0.5)
    row = page.find_element(By.CSS_SELECTOR, firing)
    assert "Checkout errors" in row.text and "critical" in row.text
    instance_id = row.get_attribute("data-instance-id")
    row.find_element(By.XPATH, ".//button[normalize-space()='Acknowledge']").click()
    wait(page, lambda d: "Acknowledge as" in status_text(d, "instances-status"), "asked who acknowledges")
    page.find_element(By.ID, "ack-user").send_keys("oncall@example.com")
    page.find_element(By.CSS_SELECTOR, f'tr[data-instance-id="{instance_id}"]').find_element(
        By.XPATH, ".//button[normalize-space()='Acknowledge']").click()
    wait(page, lambda d: d.find_element(By.CSS_SELECTOR, f'tr[data-instance-id="{instance_id}"]').get_attribute("data-status") == "acknowledged",
         "the instance acknowledged")
    acknowledged = page.find_element(By.CSS_SELECTOR, f'tr[data-instance-id="{instance_id}"]')
    assert acknowledged.find_element(By.CSS_SELECTOR, ".instance-status").text == "acknowledged"
    assert "by oncall@example.com" in acknowledged.text
    assert not acknowledged.find_elements(By.XPATH, ".//button[normalize-space()='Acknowledge']")
    instance = get(f"{api}/alerts/instances/{instance_id}")["instance"]
    assert instance["status"] == "acknowledged" and instance["acknowledged_by"] == "oncall@example.com"

    # Rules: the API's validation message next to the form, then a valid rule saved and disabled.
    page.find_element(By.ID, "new-rule").click()
    form = page.find_element(By.ID, "rule-form")
    form.find_element(By.NAME, "name").send_keys("Slow checkout")
    form.find_element(By.NAME, "threshold").send_keys("fast")
    form.find_element(By.ID, "save-rule").click()
    error = wait(page, lambda d: d.find_element(By.ID, "rule-form-error").text, "the API's message")
    assert "threshold" in error
    form.find_element(By.NAME, "threshold").clear()
    form.find_element(By.NAME, "threshold").send_keys("2500")
    Select(form.find_element(By.NAME, "metric_type")).select_by_value("latency_p95")
    form.find_element(By.ID, "save-rule").click()
    new_rule = "//table[@id='rule-table']/tbody/tr[.//strong[normalize-space()='Slow checkout']]"
    rule_id = wait(page, lambda d: d.find_element(By.XPATH, new_rule).get_attribute("data-rule-id"), "the new rule listed")
    assert "Rule Slow checkout saved." in status_text(page, "rules-status")
    assert not page.find_element(By.ID, "rule-editor").is_displayed()
    page.find_element(By.XPATH, new_rule + "//button[normalize-space()='Disable']").click()
    wait(page, lambda d: d.find_element(By.CSS_SELECTOR, f'tr[data-rule-id="{rule_id}"]').get_attribute("data-enabled") == "false", "the rule disabled")
    rules = get(f"{api}/alerts/rules")["rules"]
    assert next(r for r in rules if r["id"] == rule_id)["enabled"] is False
    screenshot(page, "alerts")
    narrow(page, "alerts-narrow")


# --- the overview and the API key ----------------------------------------------------------------

def test_overview_links_to_every_page(admin, page):
    open_page(page, f"{admin.http_url}/")
    wait(page, lambda d: d.find_element(By.ID, "trace-total").text.endswith("traces"), "the trace summary")
    assert page.find_element(By.ID, "log-total").text.endswith("records")
    for name in ("Traces", "Logs", "Alerts"):
        link = page.find_element(By.XPATH, f"//header//nav/a[normalize-space()='{name}']")
        assert link.get_attribute("href").endswith("/" + name.lower())
    screenshot(page, "overview")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A Sightline that requires an API key."""
    store = SQLiteStore(tmp_path_factory.mktemp("admin-pages-keyed") / "keyed.db")
    serving = _serve(sightline_binary(), store, environment={"SIGHTLINE_API_KEYS": API_KEY})
    server = next(serving)
    try:
        ingest_checkout_trace(server)
        wait_for_rows(server, "/traces?hours=1", "traces", 3, {"Authorization": f"Bearer {API_KEY}"})
        yield server
    finally:
        serving.close()


def test_the_api_key_prompt_and_the_stream_with_a_key(keyed, page):
    with urllib.request.urlopen(f"{keyed.http_url}/traces", timeout=HTTP_TIMEOUT_S) as response:
        assert response.status == 200  # the page itself holds no data: served without a key
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    open_page(page, f"{keyed.http_url}/traces?hours=1")
    prompt = wait(page, lambda d: d.find_element(By.ID, "key-prompt") if d.find_element(By.ID, "key-prompt").is_displayed() else None, "the key prompt")
    assert "requires an API key" in prompt.text
    assert listed_traces(page) == []
    screenshot(page, "api-key-prompt")

    key_input = page.find_element(By.ID, "key-input")
    assert page.find_element(By.CSS_SELECTOR, "label[for=key-input]").text == "API key"
    key_input.send_keys("wrong")
    page.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(page, lambda d: "refused" in d.find_element(By.ID, "key-message").text, "the wrong key refused")
    page.find_element(By.ID, "key-input").send_keys(API_KEY)
    page.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(page, lambda d: CHECKOUT_TRACE in listed_traces(d), "traces listed with the key")
    assert not page.find_element(By.ID, "key-prompt").is_displayed()
    assert page.execute_script("return sessionStorage.getItem('sightline.apiKey')") == API_KEY

    # The live stream authenticates with the key too (as a WebSocket subprotocol).
    page.get(f"{keyed.http_url}/logs?hours=1&service=keyed-live")
    page.find_element(By.ID, "live-toggle").click()
    wait(page, lambda d: "streaming" in status_text(d, "live-status"), "the keyed stream connected")
    ingest_logs(keyed, "keyed-live", [log_record("streamed with a key", "INFO", 9)])
    wait(page, lambda d: "streamed with a key" in listed_messages(d), "the record through the keyed stream")
    page.find_element(By.ID, "live-toggle").click()

    # Forgetting the key brings the prompt back.
    page.find_element(By.XPATH, "//button[normalize-space()='Forget key']").click()
    page.get(f"{keyed.http_url}/logs?hours=1")
    wait(page, lambda d: d.find_element(By.ID, "key-prompt").is_displayed(), "the prompt again")


# --- totals counted up to a limit -------------------------------------------------------------

@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """A Sightline whose lists count at most two matches (SIGHTLINE_QUERY_COUNT_LIMIT)."""
    store = SQLiteStore(tmp_path_factory.mktemp("admin-capped") / "capped.db")
    serving = _serve(sightline_binary(), store, environment={"SIGHTLINE_QUERY_COUNT_LIMIT": "2"})
    server = next(serving)
    try:
        ingest_checkout_trace(server)
        wait_for_rows(server, "/traces?hours=1&service=frontend", "traces", 2)
        wait_for_rows(server, "/logs?hours=1", "logs", 3)
        yield server
    finally:
        serving.close()


def test_a_capped_total_reads_more_than(capped, page):
    open_page(page, f"{capped.http_url}/traces?hours=1&service=frontend")
    wait(page, lambda d: len(listed_traces(d)) == 2, "both frontend traces")
    open_page(page, f"{capped.http_url}/traces?hours=1")
    wait(page, lambda d: len(listed_traces(d)) >= 3, "every trace listed although the total is capped")
    wait(page, lambda d: "more than 2" in status_text(d, "page-info"), "the pager says the total is a floor")
    open_page(page, f"{capped.http_url}/logs?hours=1")
    wait(page, lambda d: len(listed_messages(d)) >= 3, "every record listed")
    assert "more than 2" in status_text(page, "page-info")
