"""Alert notifications to real receivers (docs/alerting.md): an SMTP server (aiosmtpd, with
STARTTLS and AUTH) receives the e-mail with its text and HTML parts, and a real Alertmanager
(Debian's prometheus-alertmanager) lists the alert through its own API, then drops it when
Sightline sends the resolution (endsAt).

Each test starts its own Sightline (conftest's `_serve`) with the alert engine's notification
variables, on SQLite and, when configured, PostgreSQL. Every wait is bounded.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import PostgresStore, SQLiteStore, _serve, _store_kinds, sightline_binary, POSTGRES_URL_VARIABLE

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

SMTP_USER = "alerts"
SMTP_PASSWORD = "s3cret-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(method: str, url: str, body=None, timeout: float = 10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"{}")


def wait_for(condition, timeout_s: float = 30, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / interval_s) + 1):
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(interval_s)
    return None


def send_error_spans(otlp_url: str, count: int, seconds_ago: float) -> None:
    start = int((time.time() - seconds_ago) * 1e9)
    spans = [
        {
            "traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "POST /pay", "kind": 2,
            "startTimeUnixNano": str(start + i), "endTimeUnixNano": str(start + i + 5_000_000),
            "status": {"code": 2, "message": "boom"},
        }
        for i in range(count)
    ]
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}
    status, _ = request("POST", f"{otlp_url}/v1/traces", body)
    assert status == 200


@pytest.fixture(params=_store_kinds())
def store(request, tmp_path):
    if request.param == "postgres":
        server_url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not server_url:
            pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set")
        store = PostgresStore(server_url)
    else:
        store = SQLiteStore(tmp_path / "alerting.db")
    try:
        yield store
    finally:
        store.drop()


def serve_with(store, environment: dict[str, str]):
    """Sightline with extra (non-SIGHTLINE_) environment variables; a generator like `_serve`."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        generator = _serve(sightline_binary(), store)
        server = next(generator)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return server, generator


def stop(generator) -> None:
    try:
        next(generator)
    except StopIteration:
        pass


def disable_default_rules(api: str) -> None:
    _, listed = request("GET", f"{api}/alerts/rules")
    for rule in listed["rules"]:
        request("PUT", f"{api}/alerts/rules/{rule['id']}", {"enabled": False})


# --- e-mail --------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.messages: list[tuple[object, bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((session, envelope))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
            and auth_data.password.decode() == SMTP_PASSWORD:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server(tmp_path):
    if not shutil.which("openssl"):
        pytest.fail("openssl not found (needed for the SMTP server's test certificate)")
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def test_email_with_text_and_html_parts(store, smtp_server):
    recorder, port = smtp_server
    server, generator = serve_with(store, {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD,
        "SMTP_TLS_VERIFY": "false", "ALERT_EMAIL_FROM": "sightline@example.com",
        "ALERT_EMAIL_TO": "ops@example.com,oncall@example.com",
    })
    try:
        api = f"{server.http_url}/api/observability"
        disable_default_rules(api)
        status, created = request("POST", f"{api}/alerts/rules", {
            "name": "Payment errors", "metric_type": "error_count", "condition": "gt", "threshold": 1,
            "window_minutes": 5, "evaluation_interval_seconds": 1, "severity": "critical", "notification_channels": ["email"],
        })
        assert status == 201
        send_error_spans(server.otlp_url, 3, seconds_ago=2)
        assert wait_for(lambda: recorder.messages, 30), f"no e-mail; stderr:\n{server.log_tail()}"
        session, envelope = recorder.messages[0]
        assert session.ssl is not None, "STARTTLS was not used"
        assert session.authenticated
        assert envelope.mail_from == "sightline@example.com"
        assert sorted(envelope.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert message["Subject"] == "[CRITICAL] Payment errors"
        assert message.get_content_type() == "multipart/alternative"
        parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
        assert set(parts) == {"text/plain", "text/html"}
        assert "Value: 3" in parts["text/plain"]
        assert "Threshold: > 1" in parts["text/plain"]
        assert "<h2" in parts["text/html"] and "Payment errors" in parts["text/html"]
        assert message["traceparent"], "the e-mail carries the notification's trace context"
        # Exactly one e-mail per firing; the attempt is recorded as delivered.
        time.sleep(2)
        assert len(recorder.messages) == 1
        rows = server.query("SELECT channel, success, attempt FROM notifications_sent")
        assert [(row["channel"], bool(row["success"]), row["attempt"]) for row in rows] == [("email", True, 1)]
        # The password never reaches the log.
        assert SMTP_PASSWORD not in server.log_tail(10_000)
    finally:
        stop(generator)


# --- Alertmanager --------------------------------------------------------------------------

ALERTMANAGER_CONFIG = """
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


@pytest.fixture
def alertmanager(tmp_path):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        pytest.fail("prometheus-alertmanager not found (Debian package prometheus-alertmanager; script/test installs it)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return process.poll() is not None and pytest.fail(f"alertmanager exited: {process.stderr.read()}")

    try:
        assert wait_for(ready, 30), "alertmanager did not become ready"
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_alertmanager_lists_then_resolves_the_alert(store, alertmanager):
    server, generator = serve_with(store, {"ALERTMANAGER_URL": alertmanager})
    try:
        api = f"{server.http_url}/api/observability"
        disable_default_rules(api)
        status, _ = request("POST", f"{api}/alerts/rules", {
            "name": "Shop errors", "metric_type": "error_count", "condition": "gt", "threshold": 0, "window_minutes": 1,
            "evaluation_interval_seconds": 1, "cooldown_minutes": 0, "severity": "warning",
            "notification_channels": ["alertmanager"], "service_name": "shop",
        })
        assert status == 201
        # 48 s old: inside the 1-minute window now, outside it a few seconds later.
        send_error_spans(server.otlp_url, 2, seconds_ago=48)

        def listed():
            _, alerts = request("GET", f"{alertmanager}/api/v2/alerts")
            return [a for a in alerts if a["labels"].get("alertname") == "Shop errors"]

        alerts = wait_for(listed, 20)
        assert alerts, f"Alertmanager never listed the alert; stderr:\n{server.log_tail()}"
        alert = alerts[0]
        assert alert["status"]["state"] == "active"
        assert alert["labels"]["severity"] == "warning"
        assert alert["labels"]["service"] == "shop"
        assert alert["annotations"]["value"] == "2"
        # The resolution (endsAt) removes it from Alertmanager's active alerts.
        assert wait_for(lambda: not listed(), 40), "the resolution did not reach Alertmanager"
        rows = server.query("SELECT kind, success FROM notifications_sent WHERE channel = 'alertmanager' ORDER BY id")
        assert [(row["kind"], bool(row["success"])) for row in rows] == [("firing", True), ("resolved", True)]
    finally:
        stop(generator)
