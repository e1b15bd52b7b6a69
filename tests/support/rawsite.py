"""A tiny threaded HTTP server on raw sockets, for sites that misbehave below what HTTP libraries allow."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Request:
    """What the client sent: method, path (with query) and headers (lower-case names)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[socket.socket, Request], None]


def head(status: int, headers: dict[str, str] | None = None, reason: str = "X") -> bytes:
    """A status line and headers, ending with the blank line; always `Connection: close`."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in {**(headers or {}), "Connection": "close"}.items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    conn: socket.socket,
    status: int,
    body: bytes | str = b"",
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    """A well-formed response with an exact Content-Length."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    conn.sendall(
        head(status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        + data
    )


def reset(conn: socket.socket) -> None:
    """Close with an RST instead of a FIN: the client sees 'connection reset by peer'."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def stream(conn: socket.socket, chunks: Iterable[bytes], pause: float = 0.0, limit: float = 30.0) -> None:
    """Send chunks (optionally `pause` seconds apart) until they end, the client leaves or `limit` passes."""
    started = time.monotonic()
    with contextlib.suppress(OSError):
        for chunk in chunks:
            conn.sendall(chunk)
            if time.monotonic() - started > limit:
                return
            if pause:
                time.sleep(pause)


class RawSite:
    """Serves `routes` (exact path -> handler) on `host`, one thread per connection, one request each.

    Unknown paths get a 404. Every request is recorded in `requests` (as "METHOD path"), so a test can
    assert that a server was never contacted.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.fallback: Handler | None = None  # for paths with no route; None answers 404
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.2)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        """Serve `path` with `handler`; returns its URL."""
        self.routes[path] = handler
        return self.url(path)

    def count(self, path: str) -> int:
        """Requests for `path`; a path without a query counts requests with any query."""
        def key(request: str) -> str:
            asked = request.split(" ", 1)[1]
            return asked if "?" in path else asked.split("?", 1)[0]

        with self._lock:
            return sum(1 for r in self.requests if key(r) == path)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> RawSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            with self._lock:
                self.requests.append(f"{method} {path}")
            handler = self.routes.get(path) or self.routes.get(path.split("?", 1)[0]) or self.fallback
            if handler is None:
                respond(conn, 404, b"not found\n", "text/plain")
            else:
                handler(conn, Request(method, path, headers))
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
