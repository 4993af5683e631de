"""SIGTERM with connections open that hold no request: Sightline exits promptly.

A browser opens sockets ahead of use (Chromium preconnects) and keeps used ones alive; a
client may stall halfway through a request head. None of them holds a request to finish, so a
graceful shutdown closes them instead of waiting for the client to let go. On the API port
(HTTP/1.1 with the live log stream's WebSocket upgrade) a socket that had sent nothing used to
hold the process for as long as the client kept it open: the admin browser tests saw exits of
about 60 s. On the gRPC port, a socket that never sent the HTTP/2 preface held it forever.
"""

from __future__ import annotations

import signal
import socket
import time
import urllib.parse

import pytest

from conftest import SQLiteStore, _serve, sightline_binary

# Far below the minute a browser keeps a preconnected socket, above the gRPC port's 5 s grace
# for a client that never answers its request to go away (OTLPGRPCServer.maxGraceTime).
EXIT_WITHIN_S = 15


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def _open_connections(url: str) -> list[socket.socket]:
    """Three connections to `url`'s port: one that sent nothing, one halfway through a request
    head, and one kept alive after a complete request was answered."""
    host, port = _address(url)
    silent = socket.create_connection((host, port), timeout=5)
    halfway = socket.create_connection((host, port), timeout=5)
    halfway.sendall(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
    kept = socket.create_connection((host, port), timeout=5)
    kept.sendall(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    answer = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
        chunk = kept.recv(4096)
        if not chunk:
            break
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]  # answered (the OTLP port has no /health: 404)
    return [silent, halfway, kept]


def _closed_by_server(connection: socket.socket, within_s: float) -> bool:
    """Whether the server closed `connection` (EOF or reset) within `within_s`."""
    connection.settimeout(0.2)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if connection.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def test_sigterm_closes_connections_that_hold_no_request(tmp_path):
    store = SQLiteStore(tmp_path / "shutdown.db")
    serving = _serve(sightline_binary(), store)
    server = next(serving)
    connections = []
    try:
        for url in (server.http_url, server.otlp_url):
            connections += [(url, name, c) for name, c in zip(("silent", "halfway", "kept alive"), _open_connections(url))]
        # The OTLP/gRPC port: a connection that never sent the HTTP/2 preface.
        connections.append((server.grpc_url, "silent", socket.create_connection(_address(server.grpc_url), timeout=5)))
        # The kept-alive connection was answered, so the two opened before it on the same port
        # were accepted too (accepts follow the listen queue's order).
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        for url, name, connection in connections:
            left = max(0.5, EXIT_WITHIN_S - (time.monotonic() - started))
            assert _closed_by_server(connection, left), f"{name} connection to {url} still open after SIGTERM"
        code = server.process.wait(max(0.5, EXIT_WITHIN_S - (time.monotonic() - started)))
        assert code == 0
    except Exception:
        print(server.log_tail())
        raise
    finally:
        for _, _, connection in connections:
            connection.close()
        serving.close()
        store.drop()
