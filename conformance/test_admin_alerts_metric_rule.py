"""The alerts page's rule form offers the `metric` rule type (an ingested OTLP metric reduced
over the window, docs/alerting.md): in a real headless Chromium against a real Sightline on each
store, a rule without a metric name shows the API's message naming `metric_name`; one with a
name, an aggregation and attributes is saved with them, listed with what it watches, and opens
with them when edited. Every wait is bounded.
"""

from __future__ import annotations

import os

import pytest

from conftest import POSTGRES_URL_VARIABLE, PostgresStore, SQLiteStore, _serve, _store_kinds, sightline_binary
from test_admin_pages import browser, get, open_page, page, status_text, wait  # noqa: F401

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module", params=_store_kinds())
def alerts_server(request, tmp_path_factory):
    if request.param == "postgres":
        url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not url:
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set")
        store = PostgresStore(url)
    else:
        store = SQLiteStore(tmp_path_factory.mktemp("alerts-metric") / "alerts.db")
    serving = _serve(sightline_binary(), store)
    server = next(serving)
    try:
        yield server
    finally:
        serving.close()
        store.drop()


def test_a_metric_rule_from_the_form(alerts_server, page):
    api = f"{alerts_server.http_url}/api/observability"
    page.set_window_size(1400, 900)
    open_page(page, f"{alerts_server.http_url}/alerts")
    page.find_element(By.ID, "new-rule").click()
    form = page.find_element(By.ID, "rule-form")
    form.find_element(By.NAME, "name").send_keys("Slow checkout p95")
    form.find_element(By.NAME, "threshold").send_keys("0.5")
    Select(form.find_element(By.NAME, "metric_type")).select_by_value("metric")
    form.find_element(By.ID, "save-rule").click()
    error = wait(page, lambda d: d.find_element(By.ID, "rule-form-error").text, "the API's message")
    assert error.startswith("metric_name"), error

    form.find_element(By.NAME, "metric_name").send_keys("http.server.request.duration")
    Select(form.find_element(By.NAME, "metric_aggregation")).select_by_value("p95")
    form.find_element(By.NAME, "metric_attributes").send_keys('{"http.route": "/checkout"}')
    form.find_element(By.NAME, "service_name").send_keys("shop")
    form.find_element(By.ID, "save-rule").click()
    row = "//table[@id='rule-table']/tbody/tr[.//strong[normalize-space()='Slow checkout p95']]"
    rule_id = wait(page, lambda d: d.find_element(By.XPATH, row).get_attribute("data-rule-id"), "the new rule listed")
    assert "p95(http.server.request.duration)" in page.find_element(By.XPATH, row).text
    rule = next(r for r in get(f"{api}/alerts/rules")["rules"] if r["id"] == rule_id)
    assert rule["metric_type"] == "metric" and rule["metric_name"] == "http.server.request.duration"
    assert rule["metric_aggregation"] == "p95" and rule["metric_attributes"] == {"http.route": "/checkout"}
    assert rule["service_name"] == "shop"

    # Editing opens the rule's metric fields; a changed aggregation is saved.
    page.find_element(By.XPATH, row + "//button[normalize-space()='Edit']").click()
    form = page.find_element(By.ID, "rule-form")
    assert form.find_element(By.NAME, "metric_name").get_attribute("value") == "http.server.request.duration"
    assert form.find_element(By.NAME, "metric_aggregation").get_attribute("value") == "p95"
    assert form.find_element(By.NAME, "metric_attributes").get_attribute("value") == '{"http.route":"/checkout"}'
    Select(form.find_element(By.NAME, "metric_aggregation")).select_by_value("max")
    form.find_element(By.ID, "save-rule").click()
    wait(page, lambda d: "max(http.server.request.duration)" in d.find_element(By.XPATH, row).text, "the rule saved with max")
    assert next(r for r in get(f"{api}/alerts/rules")["rules"] if r["id"] == rule_id)["metric_aggregation"] == "max"
