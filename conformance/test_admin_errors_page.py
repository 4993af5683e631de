"""The errors page (/errors) in a real headless Chromium against a real Sightline on each store,
with an API key configured: a seeded exception group listed with its count and sparkline,
opened to its occurrences (links to the trace waterfall and the logs), the deep link
`/errors?group=…`, markup shown as text, and the page at 1400 px and 800 px. Screenshots go to
conformance/.artifacts/ (not committed). Every wait is bounded.
"""

from __future__ import annotations

import time

import pytest

from conftest import _store_kinds
from test_admin_pages import keyed_server, open_keyed as shared_open_keyed  # noqa: E402
from test_admin_pages import (ARTIFACTS, MARKUP, attribute, browser, get, ingest_logs, ingest_spans, log_record,  # noqa: F401
                              page, screenshot, span, wait)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

API_KEY = "errors-page-key"
KEYED = {"Authorization": f"Bearer {API_KEY}"}
TRACES = ["a1" * 16, "b2" * 16, "c3" * 16]
FAILED_TRACE = "d4" * 16


def seed(server) -> None:
    """Three timeouts that differ only in their numbers (one group), each in a trace of its
    own; a failed span with an exception event; a record whose message holds markup."""
    now = time.time_ns()
    ingest_logs(server, "checkout", [
        log_record(f"timeout after {ms} ms for order {order}", "ERROR", 17, trace, at_ns=now - (index + 1) * 120_000_000_000,
                   attributes=[attribute("exception.type", "TimeoutError"),
                               attribute("exception.message", f"timeout after {ms} ms for order {order}"),
                               attribute("exception.stacktrace", "Traceback (most recent call last):\nTimeoutError")])
        for index, (ms, order, trace) in enumerate(zip([3000, 5000, 700], [12, 345, 6789], TRACES))
    ], logger="shop.checkout")
    ingest_logs(server, "checkout", [log_record("bad input " + MARKUP, "ERROR", 17, at_ns=now - 30_000_000_000)])
    ingest_spans(server, {"checkout": [span(trace, "2222222222222222", "POST /checkout", None, now - (index + 1) * 120_000_000_000, 30)
                                       for index, trace in enumerate(TRACES)],
                          "payments": [span(FAILED_TRACE, "4d4d4d4d4d4d4d4d", "charge", None, now - 90_000_000_000, 20, True,
                                            events=[{"timeUnixNano": str(now - 90_000_000_000), "name": "exception",
                                                     "attributes": [attribute("exception.type", "CardDeclined"),
                                                                    attribute("exception.message", "card 4242 declined")]}])]})


@pytest.fixture(scope="module", params=_store_kinds())
def errors_server(request, tmp_path_factory):
    yield from keyed_server(request, tmp_path_factory, API_KEY, seed,
                            lambda server: get(f"{server.http_url}/api/observability/errors?hours=1", KEYED)["total_errors"] >= 5, "/errors")


def open_keyed(driver, url: str) -> None:
    shared_open_keyed(driver, url, API_KEY)


def group_rows(driver) -> list[dict]:
    return driver.execute_script("""
        return [...document.querySelectorAll('#group-table tbody tr')].map((row) => ({
            id: row.dataset.groupId, text: row.innerText, count: row.cells[2].firstChild.textContent,
            points: Number(row.querySelector('svg.sparkline').dataset.points),
            polyline: row.querySelector('svg.sparkline polyline').getAttribute('points')}))""")


def timeout_group(server) -> dict:
    answer = get(f"{server.http_url}/api/observability/errors?hours=1", KEYED)
    return next(group for group in answer["groups"] if group["error_type"] == "TimeoutError")


def test_the_errors_page_lists_a_group_and_opens_its_occurrences(errors_server, page):
    server = errors_server
    expected = timeout_group(server)
    assert expected["count"] == 3 and expected["message"] == "timeout after <n> ms for order <n>"
    assert sum(expected["series"]) == 3 and len(expected["series"]) == 60

    page.set_window_size(1400, 900)
    open_keyed(page, f"{server.http_url}/errors?hours=1")
    wait(page, lambda d: len(group_rows(d)) == 3, "three error groups listed")
    rows = group_rows(page)
    row = next(r for r in rows if r["id"] == expected["group_id"])
    assert "TimeoutError" in row["text"] and "timeout after <n> ms for order <n>" in row["text"]
    assert "checkout" in row["text"] and row["count"] == "3"
    assert row["points"] == 60 and len(row["polyline"].split()) == 60
    # The markup in a message is text: shown literally, never run.
    assert any(MARKUP in r["text"] for r in rows)
    assert page.execute_script("return window.__pwned === undefined")
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"errors-{server.kind}-1400")

    page.find_element(By.CSS_SELECTOR, f"a[data-group-id='{expected['group_id']}']").click()
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#occurrence-table tbody tr")) == 3, "three occurrences")
    assert f"group={expected['group_id']}" in page.current_url
    assert page.find_element(By.ID, "detail-heading").text == "TimeoutError: timeout after <n> ms for order <n>"
    links = [a.get_attribute("href") for a in page.find_elements(By.CSS_SELECTOR, "#occurrence-table a")]
    for trace in TRACES:
        assert any(f"/traces?trace_id={trace}" in link for link in links), (trace, links)
        assert any("/logs?" in link and f"trace_id={trace}" in link for link in links), (trace, links)
    messages = page.execute_script(
        "return [...document.querySelectorAll('#occurrence-table td.message')].map((cell) => cell.textContent)")
    assert messages == ["timeout after 3000 ms for order 12", "timeout after 5000 ms for order 345", "timeout after 700 ms for order 6789"]
    screenshot(page, f"errors-{server.kind}-group")

    # The trace link opens the waterfall of that trace.
    page.find_element(By.CSS_SELECTOR, f"#occurrence-table a[href^='/traces?trace_id={TRACES[0]}']").click()
    wait(page, lambda d: d.find_element(By.ID, "detail-heading").text == f"Trace {TRACES[0]}", "the trace's waterfall")


def test_a_deep_link_opens_a_span_group_at_800_px(errors_server, page):
    server = errors_server
    answer = get(f"{server.http_url}/api/observability/errors?hours=1&service=payments", KEYED)
    assert [group["error_type"] for group in answer["groups"]] == ["CardDeclined"]
    group = answer["groups"][0]
    page.set_window_size(800, 900)
    open_keyed(page, f"{server.http_url}/errors?hours=1&service=payments&group={group['group_id']}")
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#occurrence-table tbody tr")) == 1, "the span occurrence")
    assert len(group_rows(page)) == 1, "the service filter from the address"
    occurrence = page.find_element(By.CSS_SELECTOR, "#occurrence-table tbody tr")
    assert occurrence.get_attribute("data-source") == "span" and "card declined" in occurrence.text
    assert page.find_element(By.CSS_SELECTOR, "#occurrence-table a").get_attribute("href").endswith(
        f"/traces?trace_id={FAILED_TRACE}&span_id=4d4d4d4d4d4d4d4d")
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"errors-{server.kind}-800")
