"""Several Sightlines on one PostgreSQL database (docs/scaling.md): three replicas, started and
stopped as real processes on fixed loopback ports.

- `/metrics` adds up across replicas (docs/metrics.md, "Replicas and restarts"): the sum over
  the replicas of each counter's increase across a phase equals what was sent in it, also when
  one replica restarts during the phase.
- Behind a real nginx (Debian's; fleet.py writes its config) round-robin: senders exporting
  through it while a replica is killed and another restarted see only 200 and retryable
  answers, and lose nothing acknowledged; a rolling restart (SIGTERM one at a time) refuses
  nothing; a draining replica finishes the requests it accepted.

PostgreSQL only (a SQLite file belongs to one process); under CI PostgreSQL is mandatory. Every
wait is bounded in time.
"""

from __future__ import annotations

import json
import signal
import time
import uuid

import pytest

from conftest import sightline_binary
from fleet import (DROPPED, REFUSED, Nginx, Replica, Sender, assert_acked_stored_once, family_sum, get, post,
                   postgres, wait_for)  # noqa: F401 (postgres: a fixture)


@pytest.fixture(scope="module")
def fleet(postgres):
    """Three replicas for the module's tests (each test tells its data apart by service name)."""
    started = [Replica(sightline_binary(), postgres.storage, name=f"replica-{index}") for index in range(3)]
    try:
        yield started
    finally:
        for replica in started:
            if replica.running():
                replica.kill9()


@pytest.fixture
def replicas(fleet):
    """The three replicas, each running (a test may have left one stopped or killed)."""
    for replica in fleet:
        if not replica.running():
            replica.start()
    return fleet


COUNTERS = (
    "otelcol_receiver_accepted_spans_total",
    "traces_span_metrics_calls_total",
    "traces_span_metrics_duration_milliseconds_count",
    "sightline_llm_calls_total",
    "sightline_llm_tokens_total",
    "sightline_llm_cost_usd_total",
)


def scrape(replica: Replica) -> dict[str, float]:
    status, body = get(f"{replica.http_url}/metrics", timeout=10)
    assert status == 200, (status, replica.log_tail())
    text = body.decode()
    return {name: family_sum(text, name) for name in COUNTERS}


def genai_spans_body(service: str, count: int) -> bytes:
    """`count` spans, each an LLM call of 100 input and 20 output tokens (gpt-4o at the default
    price: 5/15 USD per million)."""
    start = time.time_ns()
    attributes = [
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}},
    ]
    spans = [{"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "chat gpt-4o", "kind": 3,
              "startTimeUnixNano": str(start + index), "endTimeUnixNano": str(start + index + 5_000_000),
              "attributes": attributes} for index in range(count)]
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "fleet"}, "spans": spans}],
    }]}).encode()


def test_metrics_add_up_across_replicas_and_a_restart(replicas):
    """Prometheus' `increase()` over a phase, per replica, from scrapes at its start, at its end
    and just before the restarted replica stops (a reset in between: the increase is what was
    counted before it plus what was counted after). Summed over the three replicas it must be
    the spans sent in the phase: before, a restarted replica started from the database's
    totals, which counted the other replicas' spans again."""
    service = f"fleet-metrics-{uuid.uuid4().hex[:6]}"
    # Spans stored before the phase: a replica that rebuilt its counters from the store would count them.
    for replica in replicas:
        assert post(f"{replica.otlp_url}/v1/traces", genai_spans_body(service, 30)) == 200
    before = [scrape(replica) for replica in replicas]
    increase = [dict.fromkeys(COUNTERS, 0.0) for _ in replicas]
    batch, sent = 20, 0
    for round_number in range(6):
        for replica in replicas:
            assert post(f"{replica.otlp_url}/v1/traces", genai_spans_body(service, batch)) == 200
            sent += batch
        if round_number == 2:
            restarted = replicas[1]
            at_stop = scrape(restarted)
            for name in COUNTERS:
                increase[1][name] += at_stop[name] - before[1][name]
            assert restarted.terminate() == 0, restarted.log_tail()
            restarted.start()
            before[1] = dict.fromkeys(COUNTERS, 0.0)  # a new process: Prometheus sees a reset
    after = [scrape(replica) for replica in replicas]
    for index in range(len(replicas)):
        for name in COUNTERS:
            assert after[index][name] >= before[index][name], (name, index, "an unexpected counter reset")
            increase[index][name] += after[index][name] - before[index][name]
    total = {name: sum(part[name] for part in increase) for name in COUNTERS}
    assert total["otelcol_receiver_accepted_spans_total"] == sent
    assert total["traces_span_metrics_calls_total"] == sent
    assert total["traces_span_metrics_duration_milliseconds_count"] == sent
    assert total["sightline_llm_calls_total"] == sent
    assert total["sightline_llm_tokens_total"] == sent * 120
    assert total["sightline_llm_cost_usd_total"] == pytest.approx(sent * (100 * 5 + 20 * 15) / 1_000_000)


@pytest.fixture(scope="module")
def nginx(fleet, tmp_path_factory):
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), [f"127.0.0.1:{replica.otlp_port}" for replica in fleet])
    nginx.start()
    try:
        yield nginx
    finally:
        nginx.stop()


@pytest.fixture
def proxy(replicas, nginx):
    return nginx


def wait_acked(senders: list[Sender], more: int, timeout_s: float = 60) -> None:
    """Until every sender has `more` spans acknowledged beyond what it has now."""
    targets = [sender.acked() + more for sender in senders]
    assert wait_for(lambda: all(sender.acked() >= target for sender, target in zip(senders, targets)), timeout_s), \
        [(sender.acked(), sender.statuses) for sender in senders]


def stop_all(senders: list[Sender]) -> None:
    for sender in senders:
        sender.stop()


def test_a_replica_killed_and_another_restarted_under_load(postgres, replicas, proxy):
    """Senders export through nginx while replica 0 is killed (`kill -9`) and, once it is back,
    replica 1 restarts (SIGTERM, start). Senders only ever see 200 or a retryable 503/429, and
    every acknowledged span is stored once (log records at least once: see docs/scaling.md)."""
    senders = [Sender(proxy.url, f"fleet-kill-{index}-{uuid.uuid4().hex[:6]}", retry=True).start() for index in range(3)]
    try:
        wait_acked(senders, 200)
        replicas[0].kill9()
        wait_acked(senders, 200)
        replicas[0].start()
        restarted = replicas[1]
        assert restarted.terminate() == 0, restarted.log_tail()
        wait_acked(senders, 200)
        restarted.start()
        wait_acked(senders, 200)
    finally:
        stop_all(senders)
    for sender in senders:
        assert set(sender.statuses) <= {200, 429, 503}, (sender.statuses, proxy.error_log())
        assert not sender.failures and sender.given_up == 0, (sender.failures, sender.given_up, sender.statuses)
        assert_acked_stored_once(postgres, sender, logs_at_least_once=True)


def test_a_rolling_restart_refuses_nothing(postgres, replicas, proxy):
    """Each replica in turn gets SIGTERM, exits 0, starts again and is back in nginx's rotation
    before the next one stops, while senders export through nginx: every request is answered 200 (a draining replica finishes what it accepted and
    refuses new connections, which nginx then sends elsewhere), and everything is stored once."""
    senders = [Sender(proxy.url, f"fleet-roll-{index}-{uuid.uuid4().hex[:6]}", retry=True).start() for index in range(3)]
    try:
        wait_acked(senders, 100)
        for replica in replicas:
            assert replica.terminate() == 0, replica.log_tail()
            wait_acked(senders, 50)
            replica.start()
            # Back in rotation before the next one stops: nginx tries a failed server again only
            # after its fail_timeout (2 s), and three stops inside one fail_timeout would leave it
            # no live upstream (docs/scaling.md). The restarted process counts from zero, so any
            # accepted span means nginx sends it traffic again.
            assert wait_for(lambda: scrape(replica)["otelcol_receiver_accepted_spans_total"] > 0, 30), \
                replica.log_tail()
            wait_acked(senders, 50)
    finally:
        stop_all(senders)
    for sender in senders:
        assert set(sender.statuses) == {200}, (sender.statuses, proxy.error_log())
        assert_acked_stored_once(postgres, sender)


def test_a_draining_replica_finishes_accepted_requests(postgres, replicas):
    """Straight to one replica, no proxy: after SIGTERM its readiness probe stops answering 200
    and new connections are refused, but every request it had accepted is answered (200) and
    stored; no connection is dropped without an answer."""
    replica = replicas[2]
    senders = [Sender(replica.otlp_url, f"fleet-drain-{index}-{uuid.uuid4().hex[:6]}").start() for index in range(4)]
    try:
        wait_acked(senders, 100)
        replica.process.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        assert wait_for(lambda: replica.ready() != 200, 10), "/ready still answers 200 after SIGTERM"
        assert replica.process.wait(30) == 0, replica.log_tail()
    finally:
        stop_all(senders)
    assert any(sender.last_acked_at > signalled_at for sender in senders), "no request was answered after SIGTERM"
    for sender in senders:
        # The one exception: a connection still in the listen queue when the listener closes is
        # reset by the kernel (Linux), after the client may have sent its request. It can only
        # be the last attempt before the refusals; any other DROPPED is an accepted request
        # left without an answer.
        dropped = [index for index, status in enumerate(sender.history) if status == DROPPED]
        after = sender.history[dropped[0] + 1:] if dropped else []
        assert len(dropped) <= 1 and all(status == REFUSED for status in after), (sender.history, replica.log_tail())
        assert set(sender.statuses) <= {200, REFUSED, DROPPED}, sender.statuses
        assert_acked_stored_once(postgres, sender)
