"""A read replica for queries (docs/scaling.md, "A read replica for queries"): Sightline with
`SIGHTLINE_READ_STORAGE` naming a real streaming standby of its database (script/test starts
one with `script/postgres-test-server standby`, pg_basebackup -R) ingests through the primary,
answers the query API and Grafana's Tempo and Loki endpoints from the standby, and keeps
answering, from the primary, while the standby is stopped.

That the answers come from the standby is shown by pausing its replay (`pg_wal_replay_pause()`):
spans committed meanwhile (200 from the receiver) stay invisible to the query API until replay
resumes. PostgreSQL only; under CI the standby is mandatory (a failure, never a skip). Every
wait is bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import uuid

import pytest

from conftest import sightline_binary
from fleet import Replica, get, logs_body, post, postgres, spans_body, wait_for  # noqa: F401 (postgres: a fixture)

STANDBY_URL_VARIABLE = "SIGHTLINE_TEST_POSTGRES_STANDBY_URL"
CONTROL_VARIABLE = "SIGHTLINE_TEST_POSTGRES_CONTROL"
NAME_VARIABLE = "SIGHTLINE_TEST_POSTGRES_STANDBY_NAME"
# Trust authentication ignores it; it stands for a real password that must never be printed.
PASSWORD = "standby-secret-4f1c"


class Standby:
    """script/test's standby of the conformance server: psql on it, `stop` and `start` it."""

    def __init__(self, url: str, control: str, name: str):
        self.url = url
        self.control = control
        self.name = name

    def control_run(self, action: str) -> None:
        done = subprocess.run([self.control, action, self.name], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=90)
        assert done.returncode == 0, f"{self.control} {action} {self.name}: {done.stderr.strip()}"

    def url_of(self, database: str, password: str | None = None) -> str:
        parts = urllib.parse.urlsplit(self.url)
        netloc = parts.netloc
        if password:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user or 'postgres'}:{password}@{host}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))

    def psql(self, database: str, sql: str) -> str:
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        env["PGCONNECT_TIMEOUT"] = "10"
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url_of(database),
                               "-c", sql], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"psql on the standby: {done.stderr.strip()}"
        return done.stdout.strip()


@pytest.fixture(scope="module")
def standby(postgres):
    url, control = os.environ.get(STANDBY_URL_VARIABLE), os.environ.get(CONTROL_VARIABLE)
    if not url or not control:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {STANDBY_URL_VARIABLE} or {CONTROL_VARIABLE} is not set")
        pytest.skip(f"{STANDBY_URL_VARIABLE} and {CONTROL_VARIABLE} not set: script/test starts a standby")
    server = Standby(url, control, os.environ.get(NAME_VARIABLE) or "standby")
    server.control_run("start")  # an interrupted run may have left it stopped
    try:
        yield server
    finally:
        server.control_run("start")
        try:
            server.psql(postgres.database, "SELECT pg_wal_replay_resume()")
        except AssertionError:
            pass


def ready(replica: Replica) -> dict:
    status, body = get(f"{replica.http_url}/ready", timeout=5)
    return json.loads(body) if status in (200, 503) and body else {}


def metric(replica: Replica, name: str) -> float | None:
    status, body = get(f"{replica.http_url}/metrics", timeout=5)
    for line in body.decode().splitlines() if status == 200 else []:
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def trace_found(replica: Replica, trace_id: str) -> bool:
    return get(f"{replica.http_url}/api/observability/traces/{trace_id}", timeout=30)[0] == 200


def tempo_found(replica: Replica, trace_id: str) -> bool:
    status, body = get(f"{replica.http_url}/api/traces/{trace_id}", timeout=30)
    return status == 200 and (b"resourceSpans" in body or b"batches" in body)


def loki_lines(replica: Replica, service: str) -> int:
    start = time.time_ns() - 3_600_000_000_000
    query = urllib.parse.urlencode({"query": f'{{service_name="{service}"}}', "start": str(start),
                                    "end": str(time.time_ns() + 60_000_000_000), "limit": "100"})
    status, body = get(f"{replica.http_url}/loki/api/v1/query_range?{query}", timeout=30)
    if status != 200:
        return -1
    return sum(len(stream["values"]) for stream in json.loads(body)["data"]["result"])


def send_trace(replica: Replica, service: str) -> str:
    trace_id = uuid.uuid4().hex
    status = post(f"{replica.otlp_url}/v1/traces", spans_body(service, [trace_id], [uuid.uuid4().hex[:16]]))
    assert status == 200, f"ingest through the primary answered {status}"
    return trace_id


def test_queries_read_the_standby_and_fall_back_to_the_primary_while_it_is_stopped(postgres, standby):
    service = f"standby-{uuid.uuid4().hex[:8]}"
    replica = Replica(sightline_binary(), postgres.storage, name="read-replica",
                      environment={"SIGHTLINE_READ_STORAGE": standby.url_of(postgres.database, PASSWORD),
                                   "SIGHTLINE_LOG_LEVEL": "debug"})
    replica.start()
    try:
        # The standby has replayed the migrations and answers its probe.
        assert wait_for(lambda: ready(replica).get("read_storage") == "standby"
                        and ready(replica).get("read_storage_replay_lag_seconds") is not None, 90), ready(replica)
        assert metric(replica, "sightline_read_storage_standby_in_use") == 1.0

        # Ingest goes to the primary; the query API and Grafana's endpoints see it once replayed.
        first = send_trace(replica, service)
        assert post(f"{replica.otlp_url}/v1/logs", logs_body(service, ["replicated line"])) == 200
        assert wait_for(lambda: trace_found(replica, first) and tempo_found(replica, first), 90), "trace not visible via the standby"
        assert wait_for(lambda: loki_lines(replica, service) == 1, 90)
        assert metric(replica, "sightline_read_storage_replay_lag_seconds") is not None

        # Replay paused: a span committed on the primary (200) stays out of the answers, so they
        # come from the standby; resumed, it appears.
        standby.psql(postgres.database, "SELECT pg_wal_replay_pause()")
        try:
            paused = send_trace(replica, service)
            assert postgres.query("SELECT count(*) AS n FROM trace_spans WHERE trace_id = ?", (paused,))[0]["n"] == 1
            for _ in range(3):
                assert not trace_found(replica, paused), "the query API answered from the primary"
                assert not tempo_found(replica, paused), "Tempo answered from the primary"
        finally:
            standby.psql(postgres.database, "SELECT pg_wal_replay_resume()")
        assert wait_for(lambda: trace_found(replica, paused) and tempo_found(replica, paused), 90)

        # The standby stopped: every query still answers, from the primary (new data included).
        standby.control_run("stop")
        try:
            during = send_trace(replica, service)
            answered = []
            for trace_id in (first, paused, during):
                started = time.monotonic()
                answered.append(trace_found(replica, trace_id) and tempo_found(replica, trace_id))
                assert time.monotonic() - started < 20, "a query waited for the stopped standby"
            assert answered == [True, True, True]
            assert loki_lines(replica, service) == 1
            assert wait_for(lambda: ready(replica).get("read_storage") == "primary", 15), ready(replica)
            assert ready(replica)["status"] == "ready"  # the standby does not make the replica unready
            assert metric(replica, "sightline_read_storage_standby_in_use") == 0.0
        finally:
            standby.control_run("start")
        # Back to the standby once it answers again.
        assert wait_for(lambda: ready(replica).get("read_storage") == "standby", 60), ready(replica)
        assert trace_found(replica, during)
    finally:
        replica.terminate()
    log = replica.log_tail(100_000)
    assert PASSWORD not in log, "the read storage's password was logged"
    assert "read_storage=set" in log
