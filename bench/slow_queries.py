#!/usr/bin/env python3
"""Slow queries against ingest: /health and OTLP ingest latency while slow LogQL queries run.

Several clients send a slow LogQL query (a regular-expression line filter over a whole range)
to Sightline's Loki endpoint back to back, while one prober times `GET /health` and a small
OTLP/JSON log export. A baseline phase without the slow queries comes first. Prints the
answers to the slow queries by status, and p50/p99/max of the probes in both phases.
Standard library only.

    bench/slow_queries.py --api http://127.0.0.1:3200 --otlp http://127.0.0.1:4318 \\
        [--clients 6] [--duration 60] [--baseline 15] [--hours 24] [--query LOGQL] [--json]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.parse
import urllib.request

DEFAULT_QUERY = '{service_name=~".+-(api|service)"} |~ "(?i)(timeout|refused).*order [0-9]+$"'


def request(url: str, body: bytes | None = None, timeout: float = 300) -> tuple[float, int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            data, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        data, status = error.read(), error.code
    except OSError as error:  # refused, reset, timed out
        data, status = str(error).encode(), 0
    return (time.perf_counter() - started) * 1000, status, data


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def export(round_number: int) -> bytes:
    nanos = time.time_ns()
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "slow-queries-probe"}}]},
        "scopeLogs": [{"scope": {"name": "probe"}, "logRecords": [{
            "timeUnixNano": str(nanos), "severityNumber": 9, "body": {"stringValue": f"probe {round_number}"}}]}]}]}).encode()


def probe(args: argparse.Namespace, until: float, results: dict[str, list[tuple[float, int]]]) -> None:
    round_number = 0
    while time.monotonic() < until:
        results["health"].append(request(args.api + "/health", timeout=60)[:2])
        if round_number % 5 == 0:
            results["ingest"].append(request(args.otlp + "/v1/logs", export(round_number), timeout=60)[:2])
        round_number += 1
        time.sleep(0.2)


def slow_client(url: str, until: float, answers: list[tuple[float, int, str]], lock: threading.Lock) -> None:
    while time.monotonic() < until:
        ms, status, data = request(url)
        message = ""
        try:
            message = json.loads(data).get("message", "") if status != 200 else ""
        except ValueError:
            message = data[:80].decode(errors="replace")
        with lock:
            answers.append((ms, status, message))


def summary(name: str, samples: list[tuple[float, int]]) -> dict:
    times = [ms for ms, _ in samples]
    return {"probe": name, "count": len(samples), "not_ok": sum(1 for _, status in samples if status != 200),
            "p50_ms": round(percentile(times, 0.5), 1), "p99_ms": round(percentile(times, 0.99), 1),
            "max_ms": round(max(times), 1) if times else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:3200")
    parser.add_argument("--otlp", default="http://127.0.0.1:4318")
    parser.add_argument("--clients", type=int, default=6, help="clients sending the slow query back to back")
    parser.add_argument("--duration", type=float, default=60, help="seconds of slow queries")
    parser.add_argument("--baseline", type=float, default=15, help="seconds of probes alone first")
    parser.add_argument("--hours", type=float, default=24, help="the query's range, ending now")
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # Warm-up, untimed: the first commit after start-up (the pools connect, the first statements are prepared).
    request(args.otlp + "/v1/logs", export(-1), timeout=120)
    baseline = {"health": [], "ingest": []}
    probe(args, time.monotonic() + args.baseline, baseline)

    end = time.time()
    url = args.api + "/loki/api/v1/query_range?" + urllib.parse.urlencode({
        "query": args.query, "start": str(int(end - args.hours * 3600)), "end": str(int(end) + 60), "limit": "100"})
    answers: list[tuple[float, int, str]] = []
    lock = threading.Lock()
    under_load = {"health": [], "ingest": []}
    until = time.monotonic() + args.duration
    clients = [threading.Thread(target=slow_client, args=(url, until, answers, lock)) for _ in range(args.clients)]
    for client in clients:
        client.start()
    probe(args, until, under_load)
    for client in clients:
        client.join()

    statuses: dict[str, dict] = {}
    for ms, status, message in answers:
        entry = statuses.setdefault(str(status), {"count": 0, "times": [], "message": message})
        entry["count"] += 1
        entry["times"].append(ms)
    report = {
        "query": args.query, "hours": args.hours, "clients": args.clients, "duration_s": args.duration,
        "slow_queries": {status: {"count": entry["count"], "p50_ms": round(percentile(entry["times"], 0.5)),
                                  "max_ms": round(max(entry["times"])), "message": entry["message"]}
                         for status, entry in sorted(statuses.items())},
        "baseline": [summary(name, samples) for name, samples in baseline.items()],
        "during_slow_queries": [summary(name, samples) for name, samples in under_load.items()],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.clients} clients, {args.duration:.0f} s: {args.query} over {args.hours:g} h")
    for status, entry in report["slow_queries"].items():
        print(f"  {status}: {entry['count']} answers, p50 {entry['p50_ms']} ms, max {entry['max_ms']} ms  {entry['message'][:90]}")
    print(f"{'phase':<22}{'probe':<8}{'count':>7}{'not 200':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for phase in ("baseline", "during_slow_queries"):
        for row in report[phase]:
            print(f"{phase:<22}{row['probe']:<8}{row['count']:>7}{row['not_ok']:>9}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
