"""One notification per alert transition across three Sightlines on one PostgreSQL database
(docs/alerting.md, docs/scaling.md): one replica evaluates the rules (it holds the alert
engine's advisory lock); a webhook receiver on 127.0.0.1 gets exactly one message when the rule
fires and one when it resolves, also when the evaluating replica is killed (`kill -9`) between
the two, and another replica takes over within two evaluation intervals. The alert state lives
in the store, so the new evaluator resolves what the old one fired.

PostgreSQL only (replicas share a database). Every wait is bounded in time.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
import uuid

import pytest

from conftest import sightline_binary
from fleet import Replica, family_sum, get, post, postgres, wait_for  # noqa: F401 (postgres: a fixture)

INTERVAL_S = 2
WINDOW_MINUTES = 1


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body POSTed to it."""

    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.messages.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def statuses(self) -> list[str]:
        with self.lock:
            return [message["status"] for message in self.messages]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def api_request(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"{}")


def send_error_spans(otlp_url: str, count: int, seconds_ago: float) -> None:
    start = int((time.time() - seconds_ago) * 1e9)
    spans = [{"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "POST /pay", "kind": 2,
              "startTimeUnixNano": str(start + index), "endTimeUnixNano": str(start + index + 5_000_000),
              "status": {"code": 2, "message": "boom"}} for index in range(count)]
    body = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"scope": {"name": "fleet"}, "spans": spans}]}]}).encode()
    assert post(f"{otlp_url}/v1/traces", body) == 200


def evaluations(replica: Replica, rule: str) -> float:
    """The replica's `sightline_alert_evaluations_total` for `rule` (0 when it evaluated nothing)."""
    status, body = get(f"{replica.http_url}/metrics", timeout=10)
    if status != 200:
        return 0
    return sum(family_sum(line, "sightline_alert_evaluations_total")
               for line in body.decode().splitlines() if f'rule="{rule}"' in line)


def evaluating(replica: Replica) -> bool:
    """Whether the replica's latest log line about the evaluator role says it evaluates."""
    said = [line for line in replica.lines if "alert evaluator: " in line]
    return bool(said) and "this process evaluates the rules" in said[-1]


def test_one_notification_per_transition_with_the_leader_killed(postgres, receiver):  # noqa: F811
    environment = {"ALERT_WEBHOOK_URL": receiver.url, "SIGHTLINE_ALERT_TICK_MS": "200",
                   "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "200"}
    replicas = [Replica(sightline_binary(), postgres.storage, environment, name=f"alerts-{index}") for index in range(3)]
    try:
        for replica in replicas:
            replica.start()
        api = f"{replicas[0].http_url}/api/observability"
        _, listed = api_request("GET", f"{api}/alerts/rules")
        for rule in listed["rules"]:
            api_request("PUT", f"{api}/alerts/rules/{rule['id']}", {"enabled": False})
        rule_name = "Payment errors (fleet)"
        status, _ = api_request("POST", f"{api}/alerts/rules", {
            "name": rule_name, "metric_type": "error_count", "condition": "gt", "threshold": 1,
            "window_minutes": WINDOW_MINUTES, "evaluation_interval_seconds": INTERVAL_S, "cooldown_minutes": 0, "severity": "critical",
            "notification_channels": ["webhook"],
        })
        assert status == 201

        # Errors near the end of the window: the rule fires now and resolves once they leave it.
        send_error_spans(replicas[1].otlp_url, 3, seconds_ago=WINDOW_MINUTES * 60 - 12)
        assert wait_for(lambda: receiver.statuses(), 30), [replica.log_tail(20) for replica in replicas]
        assert receiver.statuses() == ["firing"]

        # The replica evaluating now: the last word of its log on the role is that it evaluates.
        leaders = [replica for replica in replicas if evaluating(replica)]
        assert len(leaders) == 1, [replica.log_tail(20) for replica in replicas]
        leader = leaders[0]
        others = [replica for replica in replicas if replica is not leader]
        before = [evaluations(replica, rule_name) for replica in others]
        leader.kill9()
        killed_at = time.monotonic()
        took_over = wait_for(lambda: any(evaluations(replica, rule_name) > count for replica, count in zip(others, before)),
                             30, interval_s=0.1)
        handover_s = time.monotonic() - killed_at
        assert took_over, [replica.log_tail(20) for replica in others]
        assert handover_s <= 2 * INTERVAL_S + 1, f"evaluation moved after {handover_s:.1f}s"
        assert receiver.statuses() == ["firing"], "the new evaluator notified the firing alert again"

        # The errors leave the window: one resolution, from the new evaluator.
        assert wait_for(lambda: len(receiver.statuses()) >= 2, 40), receiver.statuses()
        # Fire again, through the replica that did not evaluate yet.
        send_error_spans(others[-1].otlp_url, 3, seconds_ago=5)
        assert wait_for(lambda: len(receiver.statuses()) >= 3, 30), receiver.statuses()
        # A few more intervals: no message repeats.
        deadline = time.monotonic() + 3 * INTERVAL_S
        while time.monotonic() < deadline:
            assert len(receiver.statuses()) <= 3, receiver.statuses()
            time.sleep(0.2)
        assert receiver.statuses() == ["firing", "resolved", "firing"]
        rows = postgres.query("SELECT status FROM alert_instances ORDER BY triggered_at")
        assert [row["status"] for row in rows] == ["resolved", "firing"], rows
    finally:
        for replica in replicas:
            if replica.running():
                assert replica.terminate() == 0, replica.log_tail()
