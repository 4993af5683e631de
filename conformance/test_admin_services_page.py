"""The service map (/services) in a real headless Chromium against a real Sightline on each
store, with an API key configured: two services that call each other (frontend → api, api →
frontend), sent service by service so their calls are paired across commits; the map shows
both edges with the API's counts, error rate and p95, a node opens the trace list of its
service, `?hours=` deep-links, data is text, and the page is usable at 1400 px and 800 px.
Screenshots go to conformance/.artifacts/ (docs/admin-pages.md shows copies). Every wait is
bounded.
"""

from __future__ import annotations

import time

import pytest

from conftest import _store_kinds
from test_admin_pages import keyed_server, open_keyed as shared_open_keyed, MARKUP, browser, get, ingest_spans, page, screenshot, span, wait  # noqa: F401

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

API_KEY = "services-page-key"
KEYED = {"Authorization": f"Bearer {API_KEY}"}
CALLS = 5
# A service name holding markup: shown as text on the map, never run.
ODD = "odd" + MARKUP


def seed(server) -> None:
    """Five frontend requests each calling the api (the last call fails); two of the api's
    requests call back into the frontend; one request of a service named with markup. The
    api's spans are sent before the frontend's."""
    now = time.time_ns()
    frontend, api = [], []
    for index in range(CALLS):
        trace = f"{index + 1:02x}" * 16
        start = now - (index + 1) * 20_000_000_000
        root, client, server_span = "1" * 15 + str(index), "2" * 15 + str(index), "3" * 15 + str(index)
        frontend.append(span(trace, root, "GET /", None, start, 80))
        frontend.append(span(trace, client, "GET /items", root, start + 1_000_000, 60))
        api.append(span(trace, server_span, "GET /items", client, start + 2_000_000, 50 + index * 10, error=index == CALLS - 1))
        if index < 2:
            frontend.append(span(trace, "4" * 15 + str(index), "GET /callback", server_span, start + 3_000_000, 5))
    ingest_spans(server, {"api": api})
    ingest_spans(server, {"frontend": frontend})
    ingest_spans(server, {ODD: [span("ee" * 16, "5" * 16, "job", None, now - 5_000_000_000, 12)]})


@pytest.fixture(scope="module", params=_store_kinds())
def services_server(request, tmp_path_factory):
    yield from keyed_server(request, tmp_path_factory, API_KEY, seed,
                            lambda server: len(get(f"{server.http_url}/api/observability/services/graph?hours=1", KEYED)["edges"]) >= 2, "/services/graph")


def open_keyed(driver, url: str) -> None:
    shared_open_keyed(driver, url, API_KEY)


def drawn_edges(driver) -> list[dict]:
    return driver.execute_script("""
        return [...document.querySelectorAll('#service-map g.edge-group')].map((g) => ({
            client: g.dataset.client, server: g.dataset.server, requests: Number(g.dataset.requests),
            errors: Number(g.dataset.errors), path: g.querySelector('path').getAttribute('d')}))""")


def drawn_nodes(driver) -> list[dict]:
    return driver.execute_script("""
        return [...document.querySelectorAll('#service-map g.node')].map((g) => ({
            service: g.dataset.service, requests: Number(g.dataset.requests), text: g.textContent,
            box: g.querySelector('rect').getBoundingClientRect().toJSON()}))""")


def edge_labels(driver) -> dict:
    return driver.execute_script("""
        const labels = {};
        for (const g of document.querySelectorAll('#service-map g.edge-label-group')) labels[g.dataset.client + '>' + g.dataset.server] = g.textContent;
        return labels;""")


def test_the_map_shows_the_calls_between_two_services(services_server, page):
    server = services_server
    graph = get(f"{server.http_url}/api/observability/services/graph?hours=1", KEYED)
    edges = {(e["client"], e["server"]): e for e in graph["edges"]}
    assert set(edges) == {("frontend", "api"), ("api", "frontend")}
    assert edges[("frontend", "api")]["requests"] == CALLS and edges[("frontend", "api")]["errors"] == 1
    assert edges[("api", "frontend")]["requests"] == 2

    page.set_window_size(1400, 900)
    open_keyed(page, f"{server.http_url}/services")
    wait(page, lambda d: len(drawn_edges(d)) == 2, "two edges drawn")
    drawn = {(e["client"], e["server"]): e for e in drawn_edges(page)}
    assert drawn[("frontend", "api")]["requests"] == CALLS and drawn[("frontend", "api")]["errors"] == 1
    assert drawn[("api", "frontend")]["requests"] == 2
    assert all(e["path"].startswith("M") for e in drawn.values())
    # The label of an edge: its rate, error rate and p95 as the API gives them.
    label = edge_labels(page)["frontend>api"]
    expected = edges[("frontend", "api")]
    assert expected["error_rate"] == 20 and expected["p95_ms"] >= 10, expected
    assert label == f"{expected['rate_per_minute']:.2f}/min · 20% · p95 {expected['p95_ms']:.0f} ms", label
    nodes = {n["service"]: n for n in drawn_nodes(page)}
    # (Sightline traces its own API calls: the service `sightline` may be there too.)
    assert {"api", "frontend", ODD} <= set(nodes), set(nodes)
    api_node = next(n for n in graph["nodes"] if n["service"] == "api")
    assert nodes["api"]["requests"] == api_node["requests"] == CALLS
    assert nodes["frontend"]["requests"] == CALLS + 2
    # The frontend (which traces enter by) is left of the api it calls.
    assert nodes["frontend"]["box"]["x"] < nodes["api"]["box"]["x"]
    # The service named with markup is text: shown, never run.
    assert page.execute_script("return window.__pwned === undefined")
    table = page.execute_script("return [...document.querySelectorAll('#edge-table tbody tr')].map((r) => r.innerText)")
    assert any("frontend" in row and "api" in row and str(CALLS) in row for row in table), table
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"services-{server.kind}-1400")

    # A node opens the trace list of its service, over the same hours.
    wait(page, lambda d: d.find_element(By.CSS_SELECTOR, "#service-map g.node[data-service='api']").click() or True, "a click on the api")
    wait(page, lambda d: "/traces?" in d.current_url, "the trace list")
    assert "service=api" in page.current_url and "hours=1" in page.current_url
    wait(page, lambda d: d.find_element(By.NAME, "service").get_attribute("value") == "api", "the service filter set")


def test_a_deep_link_at_800_px(services_server, page):
    server = services_server
    page.set_window_size(800, 900)
    open_keyed(page, f"{server.http_url}/services?hours=6")
    wait(page, lambda d: len(drawn_edges(d)) == 2, "two edges drawn")
    assert page.find_element(By.NAME, "hours").get_attribute("value") == "6"
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    boxes = [n["box"] for n in drawn_nodes(page)]
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 800 for box in boxes), boxes
    screenshot(page, f"services-{server.kind}-800")


def test_the_map_asks_for_the_key(services_server, page):
    server = services_server
    page.set_window_size(1400, 900)
    page.get(f"{server.http_url}/services")
    page.execute_script("sessionStorage.removeItem('sightline.apiKey')")
    page.get(f"{server.http_url}/services")
    wait(page, lambda d: d.find_element(By.ID, "key-prompt").is_displayed(), "the key prompt")
    assert drawn_edges(page) == []
    page.find_element(By.ID, "key-input").send_keys(API_KEY)
    page.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(page, lambda d: len(drawn_edges(d)) == 2, "the map once the key is entered")
