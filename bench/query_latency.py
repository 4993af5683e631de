#!/usr/bin/env python3
"""Query benchmark: p50/p99 latency of Sightline's query API on whatever a store holds.

Runs each query shape sequentially (one client, keep-alive off, so each figure is one
request's full time) and prints one table. Ids for trace-by-id are sampled from the store
through the API first. Standard library only.

    bench/query_latency.py --api http://127.0.0.1:3200 [--runs 200] [--api-key KEY] [--postgres] [--json]

Each alert metric type is timed through POST /alerts/rules/preview (evaluated, never saved).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.parse
import urllib.request


def fetch(base: str, path: str, key: str | None, body: dict | None = None) -> tuple[float, int, bytes]:
    headers = {"X-API-Key": key} if key else {}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers, method="POST" if body is not None else "GET")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return (time.perf_counter() - started) * 1000, status, body


# Full-text searches over the load generator's log messages (sightline-loadgen): a word in
# over half of the records, one in an eighth, two words together, a rare order number, and a
# word in none.
SEARCHES = ["completed", "payment", "pool exhausted", "order 4242", "chargeback"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:3200")
    parser.add_argument("--runs", type=int, default=200, help="requests per query shape")
    parser.add_argument("--api-key")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    parser.add_argument("--postgres", action="store_true", help="the store is PostgreSQL (for the custom_sql rule's SQL)")
    options = parser.parse_args()
    base = options.api.rstrip("/") + "/api/observability"

    _, status, body = fetch(base, "/traces?limit=200&hours=168", options.api_key)
    if status != 200:
        print(f"listing traces failed: {status} {body[:200]!r}", file=sys.stderr)
        return 1
    listing = json.loads(body)
    trace_ids = [trace["trace_id"] for trace in listing["traces"]]
    services = sorted({trace["service_name"] for trace in listing["traces"] if trace.get("service_name")})
    if not trace_ids:
        print("the store holds no traces", file=sys.stderr)
        return 1
    service = urllib.parse.quote(services[0])
    total = f"{listing['total']}{'+' if listing.get('total_capped') else ''}"
    print(f"store: {total} traces in 168 h; sampling {len(trace_ids)} trace ids; service {services[0]}")

    shapes = {
        "trace by id": lambda: f"/traces/{random.choice(trace_ids)}",
        "trace list (service, 24 h)": lambda: f"/traces?service={service}&limit=50",
        "trace list (errors, 24 h)": lambda: "/traces?status=error&limit=50",
        "trace list (min duration)": lambda: "/traces?min_duration_ms=100&limit=50",
        "trace summary (24 h)": lambda: "/traces/stats/summary",
        "trace time series (24 h, 120 steps)": lambda: "/traces/stats/timeseries",
        "trace time series (service, 24 h)": lambda: f"/traces/stats/timeseries?service={service}",
        "trace time series (1 h, 60 steps)": lambda: "/traces/stats/timeseries?hours=1&step=60",
        "LLM usage (7 days)": lambda: "/llm/usage",
        "log list (ERROR, 24 h)": lambda: "/logs?level=ERROR&limit=100",
        "log search (full text)": lambda: "/logs?search=" + urllib.parse.quote(random.choice(SEARCHES)),
        # Each word alone, so the search's p99 can be traced to the word that sets it.
        **{f'  search "{word}"': (lambda word=word: "/logs?search=" + urllib.parse.quote(word)) for word in SEARCHES},
        "log level counts (24 h)": lambda: "/logs/stats/levels",
        "error groups (24 h)": lambda: "/errors",
    }
    # Each alert metric type, evaluated once per run through POST /alerts/rules/preview (the rule
    # is checked and evaluated, nothing is saved), over the default rules' windows.
    def rule(metric: str, window: int, **extra) -> dict:
        return {"name": f"bench {metric}", "metric_type": metric, "condition": "gt", "threshold": 1,
                "window_minutes": window, **extra}
    alert_rules = {
        "alert error_count (5 min)": rule("error_count", 5),
        "alert error_rate (5 min)": rule("error_rate", 5),
        "alert latency_p95 (10 min)": rule("latency_p95", 10),
        "alert latency_p99 (service, 60 min)": rule("latency_p99", 60, service_name=services[0]),
        "alert log_count (15 min)": rule("log_count", 15),
        "alert llm_cost_hourly (60 min)": rule("llm_cost_hourly", 60),
        "alert llm_tokens (60 min)": rule("llm_tokens", 60),
        "alert cache_hit_rate (15 min)": rule("cache_hit_rate", 15),
        "alert custom_sql (errors, 60 min)": rule("custom_sql", 60, custom_sql=
            "SELECT count(*) FROM enterprise.trace_spans WHERE status = 'error' AND start_time > "
            + ("now() - interval '1 hour'" if options.postgres else "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')")),
    }
    for name, body in alert_rules.items():
        shapes[name] = (lambda body=body: ("/alerts/rules/preview", body))
    results = {}
    print(f"{'query':<38} {'runs':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  status")
    for name, make_path in shapes.items():
        times, statuses = [], set()
        for _ in range(options.runs):
            target = make_path()
            path, body = target if isinstance(target, tuple) else (target, None)
            elapsed, status, _ = fetch(base, path, options.api_key, body)
            times.append(elapsed)
            statuses.add(status)
        results[name] = {"p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99), "max_ms": max(times),
                         "mean_ms": statistics.fmean(times), "statuses": sorted(statuses)}
        print(f"{name:<38} {options.runs:>5} {results[name]['p50_ms']:>9.1f} {results[name]['p99_ms']:>9.1f} "
              f"{results[name]['max_ms']:>9.1f}  {sorted(statuses)}")
    if options.json:
        print(json.dumps(results))
    return 0 if all(result["statuses"] == [200] for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
