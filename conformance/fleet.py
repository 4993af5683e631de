"""Helpers of the crash and fleet tests (test_crash.py, test_fleet.py): Sightline processes on
fixed loopback ports that a test kills (`SIGKILL`), stops (`SIGTERM`) and starts again on the
same store and ports, and senders that export spans and log records in a loop and record every
id whose request got a 200.

A sender speaks OTLP/HTTP JSON itself rather than through the SDK so that it knows, per
request, which ids were acknowledged; it treats answers as the OTLP/HTTP specification tells
exporters to (and the SDKs do): 200 acknowledged; 429, 502, 503, 504 and connection errors
retryable (`retry=True` sends the same body again after a short pause); anything else is a
failure, recorded for the test to assert on. Every wait is bounded in time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import STARTED_LINE, PostgresStore, SQLiteStore, POSTGRES_URL_VARIABLE

RETRYABLE_STATUSES = {429, 502, 503, 504}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A fresh PostgreSQL database for replicas to share, one per test module (skipped without
    a server, except under CI)."""
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set")
        pytest.skip(f"{POSTGRES_URL_VARIABLE} not set: replicas need PostgreSQL")
    store = PostgresStore(server_url)
    try:
        yield store
    finally:
        store.drop()


def family_sum(text: str, name: str) -> float:
    """The sum of every sample of `name` (all label sets) in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        found = SAMPLE.match(line)
        if found and found.group(1) == name:
            total += float(found.group(3))
    return total


def make_store(kind: str, tmp_path: Path) -> SQLiteStore | PostgresStore:
    if kind == "postgres":
        server_url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not server_url:
            raise RuntimeError(f"{POSTGRES_URL_VARIABLE} is not set")
        return PostgresStore(server_url)
    return SQLiteStore(tmp_path / "sightline.db")


def wait_for(condition, timeout_s: float, interval_s: float = 0.1):
    """Polls `condition` until it returns something truthy (returned) or `timeout_s` passes (None)."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / interval_s) + 2):
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval_s)
    return None


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """(status, body) of a GET; (0, b"") when the connection fails."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, http.client.HTTPException):
        return 0, b""


class Replica:
    """One `sightline serve` on `storage`, its OTLP and API ports chosen once (kept across
    restarts, as a proxy's upstream list needs), gRPC off."""

    def __init__(self, binary: Path, storage: str, environment: dict[str, str] | None = None, name: str = "sightline"):
        self.binary = binary
        self.storage = storage
        self.name = name
        self.otlp_port = free_port()
        self.http_port = free_port()
        self.environment = dict(environment or {})
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.starts = 0

    @property
    def otlp_url(self) -> str:
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _command(self) -> list[str]:
        return [
            str(self.binary), "serve", "--storage", self.storage,
            "--otlp-host", "127.0.0.1", "--otlp-port", str(self.otlp_port),
            "--grpc-port", "0",
            "--http-host", "127.0.0.1", "--http-port", str(self.http_port),
        ]

    def start(self, wait_healthy: bool = True, extra_environment: dict[str, str] | None = None) -> None:
        """Starts the process; with `wait_healthy`, returns once every port listens and /health answers 200."""
        assert self.process is None or self.process.poll() is not None, "already running"
        env = {name: value for name, value in os.environ.items() if not name.startswith(("SIGHTLINE_", "OTEL_"))}
        for signal_name in ("TRACE", "LOG", "LLM", "ALERT_HISTORY", "REQUEST_METRICS", "SYSTEM_METRICS",
                            "RAG_METRICS", "CACHE_METRICS", "METRIC"):
            env[f"SIGHTLINE_{signal_name}_RETENTION"] = "0"
        env.update(self.environment)
        env.update(extra_environment or {})
        self.starts += 1
        self.lines.append(f"--- start {self.starts} of {self.name}\n")
        started = threading.Event()
        self.process = subprocess.Popen(
            self._command(), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace",
        )
        threading.Thread(target=self._pump, args=(self.process, started), daemon=True).start()
        if wait_healthy:
            self.wait_started(started)

    def _pump(self, process: subprocess.Popen, started: threading.Event) -> None:
        for line in iter(process.stderr.readline, ""):
            self.lines.append(line)
            if STARTED_LINE.search(line):
                started.set()
        started.set()

    def wait_started(self, started: threading.Event) -> None:
        """Until the start-up line (every port listens; /health alone may answer before the
        receiver port does) and a healthy /health."""
        # `started` is also set at the end of stderr (the process stopped): poll() tells.
        ok = started.wait(START_TIMEOUT_S) and self.process.poll() is None
        ok = ok and wait_for(lambda: self.health() == 200 or (self.process.poll() is not None), START_TIMEOUT_S)
        if not ok or self.process.poll() is not None:
            raise AssertionError(f"{self.name} did not become healthy (exit {self.process.poll()}):\n{self.log_tail()}")

    def health(self) -> int:
        return get(f"{self.http_url}/health", timeout=2)[0]

    def ready(self) -> int:
        return get(f"{self.http_url}/ready", timeout=2)[0]

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)

    def terminate(self) -> int | str:
        """SIGTERM and wait (bounded); a process that does not stop is killed and reported."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            return f"no exit within {STOP_TIMEOUT_S}s of SIGTERM (killed)"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        return "".join(self.lines[-lines:])


def spans_body(service: str, trace_ids: list[str], span_ids: list[str], start_ns: int | None = None) -> bytes:
    start = start_ns if start_ns is not None else time.time_ns()
    spans = [
        {"traceId": trace_id, "spanId": span_id, "name": "GET /fleet", "kind": 2,
         "startTimeUnixNano": str(start + index), "endTimeUnixNano": str(start + index + 2_000_000)}
        for index, (trace_id, span_id) in enumerate(zip(trace_ids, span_ids))
    ]
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "fleet"}, "spans": spans}],
    }]}).encode()


def logs_body(service: str, messages: list[str]) -> bytes:
    now = time.time_ns()
    records = [{"timeUnixNano": str(now + index), "severityNumber": 9, "severityText": "INFO",
                "body": {"stringValue": message}} for index, message in enumerate(messages)]
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "fleet"}, "logRecords": records}],
    }]}).encode()


REFUSED = 0  # the connection was refused: nothing was sent
DROPPED = -1  # the connection failed or closed after the request was (perhaps) sent, without an answer


def post(url: str, body: bytes, timeout: float = 15) -> int:
    """The status of a JSON POST, or `REFUSED` / `DROPPED` (both retryable for an exporter)."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError as error:
        return REFUSED if isinstance(error.reason, ConnectionRefusedError) else DROPPED
    except (OSError, http.client.HTTPException):
        return DROPPED


@dataclass
class Sender:
    """Exports batches of spans (and, with `logs`, as many log records) to `base_url` in a
    loop until `stop()`; `acked_spans` and `acked_logs` hold the ids of every batch that got a
    200. With `retry`, a retryable answer sends the same batch again (at most
    `retry_for_s` seconds, as an SDK's exporter would), otherwise the batch is given up."""

    base_url: str
    service: str
    batch: int = 50
    logs: bool = True
    retry: bool = False
    retry_for_s: float = 30
    acked_spans: set = field(default_factory=set)  # (trace_id, span_id)
    acked_logs: set = field(default_factory=set)  # message
    statuses: dict = field(default_factory=dict)  # status (REFUSED, DROPPED: no answer) -> count
    history: list = field(default_factory=list)  # every status, in the order they came
    failures: list = field(default_factory=list)  # (status, path) of answers that are not retryable
    given_up: int = 0
    last_acked_at: float = 0.0  # time.monotonic() of the latest 200

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def start(self) -> "Sender":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 60) -> None:
        """Stops after the request in flight (a no-op when stopped or never started)."""
        self._stop.set()
        if self._thread.ident is None:
            return
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "sender did not stop"

    def acked(self) -> int:
        with self._lock:
            return len(self.acked_spans)

    def _send(self, path: str, body: bytes) -> bool:
        deadline = time.monotonic() + self.retry_for_s
        while True:
            status = post(f"{self.base_url}{path}", body)
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.history.append(status)
            if status == 200:
                with self._lock:
                    self.last_acked_at = time.monotonic()
                return True
            if status > 0 and status not in RETRYABLE_STATUSES:
                with self._lock:
                    self.failures.append((status, path))
                return False
            if not self.retry or time.monotonic() > deadline:
                with self._lock:
                    self.given_up += 1
                return False
            time.sleep(0.05)

    def _run(self) -> None:
        while not self._stop.is_set():
            trace_ids = [uuid.uuid4().hex for _ in range(self.batch)]
            span_ids = [uuid.uuid4().hex[:16] for _ in range(self.batch)]
            if self._send("/v1/traces", spans_body(self.service, trace_ids, span_ids)):
                with self._lock:
                    self.acked_spans.update(zip(trace_ids, span_ids))
            if self.logs:
                messages = [f"{self.service} {uuid.uuid4().hex}" for _ in range(self.batch)]
                if self._send("/v1/logs", logs_body(self.service, messages)):
                    with self._lock:
                        self.acked_logs.update(messages)


def stored_spans(store, service: str) -> dict[tuple[str, str], int]:
    """(trace_id, span_id) -> rows stored, for `service`'s spans."""
    rows = store.query(
        "SELECT trace_id, span_id, count(*) AS n FROM trace_spans WHERE service_name = ? GROUP BY trace_id, span_id",
        (service,))
    return {(row["trace_id"], row["span_id"]): row["n"] for row in rows}


def stored_logs(store, service: str) -> dict[str, int]:
    """message -> rows stored, for `service`'s log records (each message is unique when sent)."""
    rows = store.query(
        "SELECT message, count(*) AS n FROM structured_logs WHERE service_name = ? GROUP BY message",
        (service,))
    return {row["message"]: row["n"] for row in rows}


def assert_acked_stored_once(store, sender: Sender, logs_at_least_once: bool = False) -> None:
    """Every acknowledged span and log record is stored, and none of the sender's is stored
    twice (log records: unless `logs_at_least_once`, for a sender whose retries may re-send a
    batch that was stored but not answered: log records carry no key to deduplicate on)."""
    spans = stored_spans(store, sender.service)
    missing = sender.acked_spans - spans.keys()
    assert not missing, f"{len(missing)} of {len(sender.acked_spans)} acknowledged spans not stored, e.g. {sorted(missing)[:3]}"
    doubled = {key: count for key, count in spans.items() if count != 1}
    assert not doubled, f"spans stored more than once: {list(doubled.items())[:3]}"
    if sender.logs:
        logs = stored_logs(store, sender.service)
        missing_logs = sender.acked_logs - logs.keys()
        assert not missing_logs, f"{len(missing_logs)} of {len(sender.acked_logs)} acknowledged log records not stored"
        doubled_logs = {key: count for key, count in logs.items() if count != 1}
        assert logs_at_least_once or not doubled_logs, f"log records stored more than once: {list(doubled_logs.items())[:3]}"


NGINX_CONFIG = """\
# Generated by conformance/fleet.py: round-robin over the replicas' receiver ports.
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 20m;
    upstream sightline_otlp {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://sightline_otlp;
            proxy_set_header Host $host;
            # Another replica gets the request when this one refuses the connection, drops it
            # before answering, or answers 502/503/504; POST included (non_idempotent): an
            # OTLP export stores each span and metric point once however often it is sent
            # (docs/scaling.md says why, and what that means for log records).
            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 15s;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            # No replica could answer: 503 with Retry-After, which exporters retry.
            error_page 502 504 =503 @unavailable;
        }}
        location @unavailable {{
            add_header Retry-After 1 always;
            return 503 "no Sightline replica answered\\n";
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx in the foreground with a generated config: `port` on 127.0.0.1 proxies
    to `upstreams` (host:port) round-robin. `max_fails=1 fail_timeout=2s`: a replica that
    failed is skipped for 2 s, then tried again."""

    def __init__(self, folder: Path, upstreams: list[str]):
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if not binary:
            raise RuntimeError("nginx not found: install Debian's nginx package (script/test does)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {upstream} max_fails=1 fail_timeout=2s;" for upstream in upstreams)
        self.config = folder / "nginx.conf"
        self.config.write_text(NGINX_CONFIG.format(folder=folder, servers=servers, port=self.port))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-e", str(self.folder / "error.log"), "-p", str(self.folder), "-c", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def listening() -> bool:
            if self.process.poll() is not None:
                return True
            with socket.socket() as probe:
                probe.settimeout(1)
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        assert wait_for(listening, 20) and self.process.poll() is None, \
            f"nginx did not start: {self.process.stderr.read() if self.process.poll() is not None else ''}{self.error_log()}"

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
