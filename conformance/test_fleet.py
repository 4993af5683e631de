"""Several Sightlines on one PostgreSQL database (docs/scaling.md): three replicas, started and
stopped as real processes on fixed loopback ports.

- `/metrics` adds up across replicas (docs/metrics.md, "Replicas and restarts"): the sum over
  the replicas of each counter's increase across a phase equals what was sent in it, also when
  one replica restarts during the phase.

PostgreSQL only (a SQLite file belongs to one process); under CI PostgreSQL is mandatory. Every
wait is bounded in time.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from conftest import sightline_binary
from fleet import Replica, family_sum, get, post, postgres  # noqa: F401 (postgres: a fixture)


@pytest.fixture
def replicas(postgres):
    started = [Replica(sightline_binary(), postgres.storage, name=f"replica-{index}") for index in range(3)]
    try:
        for replica in started:
            replica.start()
        yield started
    finally:
        for replica in started:
            if replica.running():
                replica.kill9()


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

