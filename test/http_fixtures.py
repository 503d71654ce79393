# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""A loopback HTTP server with scripted misbehaviour, for download tests without network."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Route:
    """How the server answers one path.

    Attributes:
        body: Bytes sent as the response body.
        status: HTTP status; anything but 200 is sent as an error page.
        declared_length: Content-Length to announce; ``len(body)`` when None. A larger value with
            the connection closed after ``body`` makes a truncated response.
        stall: After ``body``, keep the connection open without sending more (until shutdown).
    """

    body: bytes = b''
    status: int = 200
    declared_length: int | None = None
    stall: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(('127.0.0.1', 0), _Handler)
        self.routes = routes
        self.requests: list[str] = []
        self.release = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if route.status != 200:
            self.send_error(route.status)
            return
        length = len(route.body) if route.declared_length is None else route.declared_length
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(length))
        self.end_headers()
        try:
            self.wfile.write(route.body)
            self.wfile.flush()
        except OSError:
            return  # the client went away (e.g. an interrupted download)
        if route.stall:
            self.server.release.wait(30.0)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        """Keep test output quiet."""


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (free port) serving ``routes``, as a context manager."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self._server = _Server(routes)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True
        )

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, in order."""
        return self._server.requests

    def url(self, path: str) -> str:
        """Full URL of ``path`` on this server."""
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}{path}'

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
