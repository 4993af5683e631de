#!/usr/bin/env python3
"""Rough ingest load: a sustained stream of N-item OTLP/JSON trace or log requests.

Not the benchmark tool (that is a separate piece of work); enough to see the order of
magnitude. Bodies are built before timing starts; every trace id is unique, so nothing is
deduplicated away. Prints requests, spans/s, MB/s, latency p50/p99/max and non-200 answers.

    python3 bench/rough_ingest.py --url http://127.0.0.1:4318 --seconds 20 --concurrency 4 [--signal logs]
"""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse


def span(trace_id, span_id, parent, name, kind, start, i):
    attributes = [
        {"key": "http.request.method", "value": {"stringValue": "GET"}},
        {"key": "http.route", "value": {"stringValue": "/api/items/{id}"}},
        {"key": "url.path", "value": {"stringValue": f"/api/items/{i}"}},
        {"key": "http.response.status_code", "value": {"intValue": "200"}},
        {"key": "user.email", "value": {"stringValue": "alice@example.com"}},
        {"key": "session.id", "value": {"stringValue": "sess-7f3a9c"}},
        {"key": "db.system", "value": {"stringValue": "postgresql"}},
        {"key": "db.rows", "value": {"intValue": str(i % 97)}},
        {"key": "cache.hit", "value": {"boolValue": i % 3 == 0}},
        {"key": "latency.ratio", "value": {"doubleValue": 0.25 + i % 7}},
    ]
    return {
        "traceId": trace_id, "spanId": span_id, **({"parentSpanId": parent} if parent else {}),
        "flags": 256, "name": name, "kind": kind,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1_000_000 + i * 1000),
        "attributes": attributes,
        "events": [{"timeUnixNano": str(start + 500), "name": "checkpoint",
                    "attributes": [{"key": "step", "value": {"intValue": str(i)}}]}],
        "status": {"code": 2, "message": "failed"} if i % 50 == 0 else {},
    }


def log_body(records_per_request, seed):
    now = time.time_ns()
    levels = [(5, "DEBUG"), (9, "INFO"), (9, "INFO"), (9, "INFO"), (13, "WARN"), (17, "ERROR")]
    records = []
    for i in range(records_per_request):
        number, text = levels[i % len(levels)]
        attributes = [
            {"key": "code.file.path", "value": {"stringValue": "/app/handlers.py"}},
            {"key": "code.line.number", "value": {"intValue": str(100 + i % 50)}},
            {"key": "user.email", "value": {"stringValue": "alice@example.com"}},
            {"key": "http.route", "value": {"stringValue": "/api/items/{id}"}},
            {"key": "request.bytes", "value": {"intValue": str(i * 13)}},
        ]
        if text == "ERROR":
            attributes += [
                {"key": "exception.type", "value": {"stringValue": "KeyError"}},
                {"key": "exception.message", "value": {"stringValue": f"'item-{i}'"}},
                {"key": "exception.stacktrace", "value": {"stringValue": "Traceback (most recent call last):\n  File \"/app/handlers.py\", line 120, in get\n    return items[key]\nKeyError: 'item'"}},
            ]
        records.append({
            "timeUnixNano": str(now + i), "observedTimeUnixNano": str(now + i + 1000),
            "severityNumber": number, "severityText": text,
            "body": {"stringValue": f"request {seed}-{i} handled in {i % 97} ms for item {i}"},
            "attributes": attributes,
            **({"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex()} if i % 2 else {}),
        })
    payload = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "load-test"}}]},
        "scopeLogs": [{"scope": {"name": "app.handlers"}, "logRecords": records}]}]}
    return json.dumps(payload).encode()


def body(spans_per_request, seed):
    spans = []
    now = time.time_ns()
    i = 0
    while len(spans) < spans_per_request:
        trace_id = os.urandom(16).hex()
        root = os.urandom(8).hex()
        spans.append(span(trace_id, root, None, "GET /api/items/{id}", 2, now, i))
        for child in range(8):
            i += 1
            spans.append(span(trace_id, os.urandom(8).hex(), root, f"step-{child}", 1, now + child * 1000, i))
    payload = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "load-test"}},
        {"key": "service.version", "value": {"stringValue": "1.0.0"}}]},
        "scopeSpans": [{"scope": {"name": "rough-load"}, "spans": spans[:spans_per_request]}]}]}
    return json.dumps(payload).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:4318")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--spans", type=int, default=1000)
    parser.add_argument("--bodies", type=int, default=400)
    parser.add_argument("--signal", choices=["traces", "logs"], default="traces")
    args = parser.parse_args()

    make = body if args.signal == "traces" else log_body
    bodies = [make(args.spans, n) for n in range(args.bodies)]
    path = f"/v1/{args.signal}"
    target = urllib.parse.urlparse(args.url)
    latencies, failures, sent_bytes = [], [0], [0]
    lock = threading.Lock()
    next_body = [0]
    deadline = time.monotonic() + args.seconds

    def worker():
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if next_body[0] >= len(bodies):
                    return
                payload = bodies[next_body[0]]
                next_body[0] += 1
            began = time.perf_counter()
            connection.request("POST", path, payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - began
            with lock:
                if response.status == 200:
                    latencies.append(elapsed)
                    sent_bytes[0] += len(payload)
                else:
                    failures[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()
    done = len(latencies)
    pick = lambda q: latencies[min(done - 1, int(q * done))] * 1000 if done else float("nan")
    unit = "spans/s" if args.signal == "traces" else "logs/s"
    print(f"requests={done} non_200={failures[0]} wall={wall:.1f}s {unit}={done * args.spans / wall:,.0f} "
          f"MB/s={sent_bytes[0] / wall / 1e6:.1f} p50={pick(0.5):.0f}ms p99={pick(0.99):.0f}ms max={pick(1.0):.0f}ms")


if __name__ == "__main__":
    main()
