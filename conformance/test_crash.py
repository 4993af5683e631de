"""Crash durability (docs/scaling.md, "When Sightline is killed"): `kill -9` of a real
Sightline during sustained ingest, during a retention run and during migrations, on SQLite and
on PostgreSQL. After each restart on the same store: every span and log record whose request got
a 200 is stored exactly once, the store opens without repair (SQLite: `PRAGMA integrity_check`),
and ingest resumes.

Senders (fleet.py) export without retrying here, so a batch is either acknowledged (and must be
stored) or not (and may or may not be). Every wait is bounded in time.
"""

from __future__ import annotations

import datetime
import subprocess
import time
import uuid

import pytest

from conftest import _store_kinds, sightline_binary
from fleet import Replica, Sender, assert_acked_stored_once, make_store, post, spans_body, wait_for

ACKED_BEFORE_KILL = 400  # spans each round waits for before the kill
KILL_ROUNDS = 2
OLD_TRACES = 6_000  # a retention run of 12 slices (500 traces each), long enough to be caught part-way


@pytest.fixture(params=_store_kinds())
def store(request, tmp_path):
    store = make_store(request.param, tmp_path)
    try:
        yield store
    finally:
        store.drop()


def assert_opens_cleanly(store) -> None:
    """SQLite: the file passes `PRAGMA integrity_check` (PostgreSQL recovers its own WAL; the
    restart that follows each check is what shows Sightline needs no repair)."""
    if hasattr(store, "db_path"):
        rows = store.query("PRAGMA integrity_check")
        assert [tuple(row) for row in rows] == [("ok",)], rows


def assert_ingest_resumes(replica: Replica, store) -> None:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    assert post(f"{replica.otlp_url}/v1/traces", spans_body("crash-resume", [trace_id], [span_id])) == 200
    rows = store.query("SELECT count(*) AS n FROM trace_spans WHERE trace_id = ? AND span_id = ?", (trace_id, span_id))
    assert rows[0]["n"] == 1


def start_replica(store) -> Replica:
    replica = Replica(sightline_binary(), store.storage, name="crash")
    replica.start()
    return replica


def test_kill_9_during_ingest_loses_no_acknowledged_item(store):
    replica = start_replica(store)
    senders: list[Sender] = []
    try:
        for round_number in range(KILL_ROUNDS):
            round_senders = [Sender(replica.otlp_url, f"crash-{round_number}-{index}-{uuid.uuid4().hex[:6]}").start()
                             for index in range(2)]
            senders += round_senders
            enough = wait_for(lambda: all(sender.acked() >= ACKED_BEFORE_KILL // 2 for sender in round_senders), 60)
            assert enough, f"senders did not get {ACKED_BEFORE_KILL} spans acknowledged:\n{replica.log_tail()}"
            replica.kill9()  # the senders are mid-request: some batches are never answered
            for sender in round_senders:
                sender.stop()
            assert_opens_cleanly(store)
            replica.start()
            assert_ingest_resumes(replica, store)
        for sender in senders:
            assert not sender.failures, sender.failures
            assert_acked_stored_once(store, sender)
        assert replica.terminate() == 0, replica.log_tail()
    finally:
        if replica.running():
            replica.kill9()


def _old_start_ns(retention_hours: int) -> int:
    """A start time an hour or less before the retention cutoff and on the cutoff's own day, so
    PostgreSQL deletes it by rows (in slices) rather than dropping a whole day's partition."""
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=retention_hours)
    day_start = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
    old = max(cutoff - datetime.timedelta(hours=1), day_start + datetime.timedelta(seconds=1))
    return int(old.timestamp() * 1e9)


def _count_traces(store, service: str) -> int:
    return store.query("SELECT count(*) AS n FROM traces WHERE service_name = ?", (service,))[0]["n"]


def _count_spans(store, service: str) -> int:
    return store.query("SELECT count(*) AS n FROM trace_spans WHERE service_name = ?", (service,))[0]["n"]


def test_kill_9_during_a_retention_run(store):
    """Old traces (one span each) are stored with retention off; Sightline restarts with a
    trace retention that expires them and is killed once the run has deleted some but not all;
    the next start finishes the deletion, and the acknowledged new spans are all there."""
    replica = start_replica(store)
    old_service = f"crash-old-{uuid.uuid4().hex[:6]}"
    sender = Sender(replica.otlp_url, f"crash-new-{uuid.uuid4().hex[:6]}")
    try:
        start_ns = _old_start_ns(24)
        for first in range(0, OLD_TRACES, 1000):
            trace_ids = [uuid.uuid4().hex for _ in range(1000)]
            assert post(f"{replica.otlp_url}/v1/traces",
                        spans_body(old_service, trace_ids, [t[:16] for t in trace_ids], start_ns + first * 1000)) == 200
        assert _count_traces(store, old_service) == OLD_TRACES
        assert replica.terminate() == 0, replica.log_tail()

        replica.environment["SIGHTLINE_TRACE_RETENTION"] = "24h"
        replica.start(wait_healthy=False)
        sender.start()
        # Kill once the start-up run has deleted part of the old traces.
        partly = wait_for(lambda: 0 < _count_traces(store, old_service) < OLD_TRACES, 60, interval_s=0.02)
        replica.kill9()
        assert partly, f"the retention run was not seen part-way:\n{replica.log_tail()}"
        remaining = _count_traces(store, old_service)
        assert 0 < remaining < OLD_TRACES
        # A trace and its spans go in one transaction: none is left half deleted.
        assert _count_spans(store, old_service) == remaining
        assert_opens_cleanly(store)

        replica.start()  # the sender keeps exporting: refused while down, then accepted again
        assert wait_for(lambda: _count_traces(store, old_service) == 0, 60), replica.log_tail()
        assert _count_spans(store, old_service) == 0
        assert wait_for(lambda: sender.acked() >= 100, 30), sender.statuses
        sender.stop()
        assert not sender.failures, sender.failures
        assert_acked_stored_once(store, sender)
        assert_ingest_resumes(replica, store)
        assert replica.terminate() == 0, replica.log_tail()
    finally:
        sender.stop()
        if replica.running():
            replica.kill9()


def _migration_versions(store) -> list[str]:
    try:
        return sorted(row["version"] for row in store.query("SELECT version FROM schema_migrations"))
    except Exception:  # the table may not exist yet
        return []


def test_kill_9_during_migrations(store):
    """Each migration file runs in one transaction with its `schema_migrations` row, so a kill
    leaves every file applied whole or not at all, and the next `sightline migrate` applies the
    rest. Kills land at spread moments of a fresh store's migration."""
    binary = str(sightline_binary())
    command = [binary, "migrate", "--storage", store.storage]
    for delay_s in (0.05, 0.15, 0.3, 0.5, 0.8):
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay_s)  # a moment to kill at, not an ordering: any moment must be safe
        process.kill()
        process.wait(30)
        versions = _migration_versions(store)
        assert len(versions) == len(set(versions))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    versions = _migration_versions(store)
    assert len(versions) == len(set(versions))
    assert "018" in versions, versions
    assert_opens_cleanly(store)
    replica = start_replica(store)
    try:
        assert_ingest_resumes(replica, store)
        assert replica.terminate() == 0, replica.log_tail()
    finally:
        if replica.running():
            replica.kill9()
