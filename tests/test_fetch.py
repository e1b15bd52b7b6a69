"""The fetcher against real loopback servers: retries, limits, redirects, policy, local sites."""

from __future__ import annotations

import gzip
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import mirror.fetch
from mirror.fetch import (
    ConnectionFailed,
    Fetcher,
    FetchError,
    FetchRefused,
    FetchTimeout,
    HTTPStatusError,
    NotHTML,
    TooLarge,
    TooManyRedirects,
)
from mirror.model import FetchSettings

Route = Callable[[BaseHTTPRequestHandler], None]


def reply(
    h: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
    for name, value in headers.items():
        h.send_header(name, value)
    h.end_headers()
    if body:
        h.wfile.write(body)


class Loopback:
    """A threaded HTTP server on a loopback address; routes are functions of the handler."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str] = []
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.max_total = 0
        self.starts: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                path = self.path.split("?", 1)[0]
                host = self.headers.get("Host", "")
                with server.lock:
                    server.hits[path] += 1
                    server.user_agents.append(self.headers.get("User-Agent", ""))
                    server.starts.append(time.monotonic())
                    server.in_flight[host] += 1
                    server.max_in_flight[host] = max(
                        server.max_in_flight[host], server.in_flight[host]
                    )
                    server.max_total = max(server.max_total, sum(server.in_flight.values()))
                try:
                    route = server.routes.get(path)
                    if route is None:
                        reply(self, 404, b"no such page")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.in_flight[host] -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.host, self.port = host, self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    srv = Loopback()
    yield srv
    srv.close()


FAST = FetchSettings(
    timeout=2.0,
    retries=2,
    backoff=0.01,
    max_backoff=2.0,
    allow_hosts=("127.0.0.1", "localhost"),
)


def fetcher(**changes: object) -> Fetcher:
    fields = {name: getattr(FAST, name) for name in FetchSettings.__dataclass_fields__}
    fields.update(changes)
    return Fetcher(FetchSettings(**fields))  # type: ignore[arg-type]


# --- basics ---------------------------------------------------------------------------------


def test_get_decodes_and_records_headers_and_user_agent(server: Loopback) -> None:
    body = "<html><head><meta charset=gbk></head><body><p>新闻标题</p></body></html>".encode("gbk")
    server.routes["/a"] = lambda h: reply(
        h, 200, body, {"Content-Type": "text/html", "ETag": '"v1"'}
    )
    with fetcher(user_agent="mirror-test/1.0") as f:
        page = f.get(server.url("/a"))
    assert page.status == 200
    assert "新闻标题" in page.text
    assert page.encoding == "gb18030"
    assert page.content == body
    assert page.etag == '"v1"'
    assert page.headers["content-type"] == "text/html"
    assert server.user_agents == ["mirror-test/1.0"]


def test_forced_encoding_wins(server: Loopback) -> None:
    body = "<p>日本語</p>".encode("shift_jis")
    server.routes["/a"] = lambda h: reply(
        h, 200, body, {"Content-Type": "text/html; charset=utf-8"}
    )
    with fetcher() as f:
        page = f.get(server.url("/a"), encoding="shift_jis")
    assert page.text == "<p>日本語</p>"
    assert page.encoding == "cp932"


def test_redirect_is_followed_and_final_url_recorded(server: Loopback) -> None:
    server.routes["/old"] = lambda h: reply(h, 301, headers={"Location": "/mid"})
    server.routes["/mid"] = lambda h: reply(h, 302, headers={"Location": server.url("/new")})
    server.routes["/new"] = lambda h: reply(h, 200, b"<p>here</p>")
    with fetcher() as f:
        page = f.get(server.url("/old"))
    assert page.url == server.url("/old")
    assert page.final_url == server.url("/new")
    assert page.text == "<p>here</p>"


def test_utf8_location_header_is_read_as_utf8(server: Loopback) -> None:
    def moved_raw(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(
            b"HTTP/1.0 302 Found\r\nLocation: /"
            + "新闻".encode()
            + b"\r\nContent-Length: 0\r\n\r\n"
        )

    server.routes["/old"] = moved_raw
    server.routes["/%E6%96%B0%E9%97%BB"] = lambda h: reply(h, 200, b"<p>news</p>")
    with fetcher() as f:
        page = f.get(server.url("/old"))
    assert page.text == "<p>news</p>"
    assert page.final_url == server.url("/新闻")


def test_location_that_is_not_utf8_is_followed_as_latin1(server: Loopback) -> None:
    # requests itself raised UnicodeDecodeError on such a header, even with allow_redirects=False.
    server.routes["/old"] = lambda h: h.wfile.write(
        b"HTTP/1.0 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n"
    )
    server.routes["/caf%C3%A9"] = lambda h: reply(h, 200, b"<p>cafe</p>")
    with fetcher() as f:
        page = f.get(server.url("/old"))
    assert page.text == "<p>cafe</p>"


@pytest.mark.parametrize("location", ["http://[bad", "http://[::1/x"])
def test_malformed_location_is_a_clear_error(server: Loopback, location: str) -> None:
    server.routes["/old"] = lambda h: reply(h, 301, headers={"Location": location})
    with fetcher() as f, pytest.raises(HTTPStatusError) as caught:
        f.get(server.url("/old"))
    assert str(caught.value) == (
        f"{server.url('/old')}: HTTP 301 redirect to a malformed URL: {location!r}"
    )


@pytest.mark.parametrize("header", ["Content-Length", "Retry-After"])
def test_non_ascii_digits_in_headers_are_not_numbers(server: Loopback, header: str) -> None:
    # "²".isdigit() is True, and int("²") raises: a header must never crash the fetcher.
    status = 503 if header == "Retry-After" else 200
    server.routes["/p"] = lambda h: h.wfile.write(
        f"HTTP/1.0 {status} X\r\n{header}: \xb2\r\n\r\n<p>body</p>".encode("latin-1")
    )
    with fetcher(retries=1) as f:
        if status == 200:
            assert f.get(server.url("/p")).text == "<p>body</p>"
        else:
            with pytest.raises(HTTPStatusError):
                f.get(server.url("/p"))
            assert server.hits["/p"] == 2  # an unreadable Retry-After: the usual backoff


def test_control_characters_from_the_server_never_reach_the_message(server: Loopback) -> None:
    # A reason phrase is the server's to choose; printed raw, ESC sequences drive the terminal.
    server.routes["/p"] = lambda h: h.wfile.write(
        b"HTTP/1.0 404 Gone\x1b]0;owned\x07\x1b[2J\x85 away\r\nContent-Length: 0\r\n\r\n"
    )
    with fetcher() as f, pytest.raises(HTTPStatusError) as caught:
        f.get(server.url("/p"))
    message = str(caught.value)
    assert message == f"{server.url('/p')}: HTTP 404 Gone\\x1b]0;owned\\x07\\x1b[2J\\x85 away"
    assert message.isprintable() and caught.value.reason.isprintable()


def test_http_error_status_has_a_one_line_message(server: Loopback) -> None:
    with fetcher() as f, pytest.raises(HTTPStatusError) as caught:
        f.get(server.url("/missing"))
    assert caught.value.status == 404
    assert str(caught.value) == f"{server.url('/missing')}: HTTP 404 Not Found"
    assert server.hits["/missing"] == 1  # a 404 is not retried


def test_conditional_request_gives_not_modified(server: Loopback) -> None:
    def page(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"abc"':
            reply(h, 304, headers={"ETag": '"abc"'})
        else:
            reply(
                h,
                200,
                b"<p>hello</p>",
                {"ETag": '"abc"', "Last-Modified": "Tue, 03 Nov 2026 10:00:00 GMT"},
            )

    server.routes["/p"] = page
    with fetcher() as f:
        first = f.get(server.url("/p"))
        again = f.get(server.url("/p"), etag=first.etag, last_modified=first.last_modified)
    assert not first.not_modified and first.etag == '"abc"'
    assert again.not_modified and again.status == 304 and again.content == b""
    assert again.etag == '"abc"'
    assert again.last_modified == "Tue, 03 Nov 2026 10:00:00 GMT"


# --- retries --------------------------------------------------------------------------------


def test_500_then_200_is_retried(server: Loopback) -> None:
    def flaky(h: BaseHTTPRequestHandler) -> None:
        if server.hits["/f"] == 1:
            reply(h, 500, b"oops")
        else:
            reply(h, 200, b"<p>ok</p>")

    server.routes["/f"] = flaky
    with fetcher() as f:
        page = f.get(server.url("/f"))
    assert page.text == "<p>ok</p>"
    assert server.hits["/f"] == 2


def test_persistent_503_gives_up_after_retries(server: Loopback) -> None:
    server.routes["/down"] = lambda h: reply(h, 503, b"down")
    with fetcher(retries=2) as f, pytest.raises(HTTPStatusError) as caught:
        f.get(server.url("/down"))
    assert caught.value.status == 503
    assert server.hits["/down"] == 3


def test_429_retry_after_seconds_is_honoured(server: Loopback) -> None:
    def limited(h: BaseHTTPRequestHandler) -> None:
        if server.hits["/l"] == 1:
            reply(h, 429, b"slow down", {"Retry-After": "1"})
        else:
            reply(h, 200, b"<p>ok</p>")

    server.routes["/l"] = limited
    with fetcher(backoff=0.01) as f:
        started = time.monotonic()
        page = f.get(server.url("/l"))
        elapsed = time.monotonic() - started
    assert page.text == "<p>ok</p>"
    assert 0.95 <= elapsed < 2.0
    assert server.starts[1] - server.starts[0] >= 0.95


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("retry_after", ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_retry_after_beyond_max_backoff_gives_up_at_once(
    server: Loopback, status: int, retry_after: str
) -> None:
    # Waiting max_backoff cannot satisfy a server that asked for an hour: the next run retries.
    server.routes["/l"] = lambda h: reply(h, status, b"come back later", {"Retry-After": retry_after})
    with fetcher(max_backoff=0.5, retries=3) as f, pytest.raises(HTTPStatusError) as caught:
        started = time.monotonic()
        f.get(server.url("/l"))
    assert time.monotonic() - started < 0.4
    assert caught.value.status == status
    assert re.search(rf"HTTP {status} .*\(Retry-After \d+ s\)$", str(caught.value))
    assert server.hits["/l"] == 1


def test_retry_after_within_max_backoff_is_waited_then_named_when_retries_run_out(
    server: Loopback,
) -> None:
    server.routes["/l"] = lambda h: reply(h, 429, b"", {"Retry-After": "0"})
    with fetcher(max_backoff=0.5, retries=2) as f, pytest.raises(HTTPStatusError) as caught:
        f.get(server.url("/l"))
    assert server.hits["/l"] == 3
    assert str(caught.value).endswith("HTTP 429 Too Many Requests (Retry-After 0 s)")


def test_connection_reset_is_retried(server: Loopback) -> None:
    def resetting(h: BaseHTTPRequestHandler) -> None:
        if server.hits["/r"] == 1:
            # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
        else:
            reply(h, 200, b"<p>ok</p>")

    server.routes["/r"] = resetting
    with fetcher() as f:
        page = f.get(server.url("/r"))
    assert page.text == "<p>ok</p>"
    assert server.hits["/r"] == 2


def test_connection_refused_after_retries_is_a_connection_failure() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    with fetcher(retries=1) as f, pytest.raises(ConnectionFailed) as caught:
        f.get(f"http://127.0.0.1:{port}/")
    assert "refused" in str(caught.value).lower()
    assert "\n" not in str(caught.value)


# --- time and size bounds -------------------------------------------------------------------


def test_slow_headers_time_out(server: Loopback) -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        reply(h, 200, b"late")

    server.routes["/slow"] = slow
    with fetcher(timeout=0.5, retries=0) as f, pytest.raises(FetchTimeout):
        started = time.monotonic()
        try:
            f.get(server.url("/slow"))
        finally:
            assert time.monotonic() - started < 1.5


def test_trickling_body_is_cut_at_the_deadline(server: Loopback) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):  # a byte every 0.1 s: each read is well inside the timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.1)

    server.routes["/trickle"] = trickle
    f = Fetcher(FetchSettings(timeout=0.5, retries=2, allow_hosts=("127.0.0.1",)), deadline=1.0)
    with f, pytest.raises(FetchTimeout) as caught:
        started = time.monotonic()
        try:
            f.get(server.url("/trickle"))
        finally:
            assert time.monotonic() - started < 2.0
    assert "within 1 s" in str(caught.value)
    assert server.hits["/trickle"] == 1  # a deadline is not retried


def test_trickling_headers_are_cut_at_the_deadline(server: Loopback) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):
            h.wfile.write(b"X-Slow: y\r\n")
            h.wfile.flush()
            time.sleep(0.1)

    server.routes["/trickle"] = trickle
    # the deadline from the settings (the config's [fetch] deadline)
    f = Fetcher(FetchSettings(timeout=0.5, deadline=1.0, retries=0, allow_hosts=("127.0.0.1",)))
    assert f.deadline == 1.0
    with f, pytest.raises(FetchTimeout):
        started = time.monotonic()
        try:
            f.get(server.url("/trickle"))
        finally:
            assert time.monotonic() - started < 2.0


def test_body_over_max_bytes_is_refused(server: Loopback) -> None:
    server.routes["/big"] = lambda h: reply(h, 200, b"x" * 5000)
    with fetcher(max_bytes=4096) as f, pytest.raises(TooLarge) as caught:
        f.get(server.url("/big"))
    assert "max_bytes" in str(caught.value)


def test_max_bytes_can_be_lowered_per_request(server: Loopback) -> None:
    server.routes["/img"] = lambda h: reply(h, 200, b"x" * 5000, {"Content-Type": "image/png"})
    with fetcher(max_bytes=10_000) as f:
        assert len(f.get(server.url("/img")).content) == 5000
        with pytest.raises(TooLarge, match=r"max_bytes \(4000 bytes\)"):
            f.get(server.url("/img"), max_bytes=4000)


def test_body_without_length_over_max_bytes_is_refused(server: Loopback) -> None:
    def unsized(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()  # HTTP/1.0, no Content-Length: the body ends when the connection does
        h.wfile.write(b"y" * 300_000)

    server.routes["/big"] = unsized
    with fetcher(max_bytes=100_000) as f, pytest.raises(TooLarge):
        f.get(server.url("/big"))


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    # 1 GiB of zeros as 1,024 concatenated gzip members (valid gzip, ~1 MB).
    member = gzip.compress(bytes(1 << 20), compresslevel=9)
    return member * 1024


def test_gzip_bomb_stops_at_the_limit_fast(server: Loopback, gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 2 * 1024 * 1024
    server.routes["/bomb"] = lambda h: reply(
        h, 200, gzip_bomb, {"Content-Encoding": "gzip", "Content-Type": "text/html"}
    )
    with fetcher(max_bytes=10 * 1024 * 1024) as f, pytest.raises(TooLarge):
        started = time.monotonic()
        try:
            f.get(server.url("/bomb"))
        finally:
            assert time.monotonic() - started < 2.0


def test_gzip_body_under_the_limit_is_decoded(server: Loopback) -> None:
    html = "<p>" + "compressed text " * 1000 + "</p>"
    server.routes["/z"] = lambda h: reply(
        h, 200, gzip.compress(html.encode()), {"Content-Encoding": "gzip"}
    )
    with fetcher() as f:
        assert f.get(server.url("/z")).text == html


# --- redirects and policy ---------------------------------------------------------------------


def test_redirect_loop_is_stopped(server: Loopback) -> None:
    server.routes["/a"] = lambda h: reply(h, 302, headers={"Location": "/b"})
    server.routes["/b"] = lambda h: reply(h, 302, headers={"Location": "/a"})
    with fetcher() as f, pytest.raises(TooManyRedirects) as caught:
        f.get(server.url("/a"))
    assert "loop" in str(caught.value)
    assert server.hits["/a"] + server.hits["/b"] == 11


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/secret",
        "http://[::ffff:127.0.0.2]:{port}/secret",
        "http://2130706434:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
def test_redirect_to_a_refused_address_is_not_followed(server: Loopback, target: str) -> None:
    try:
        secret = Loopback("127.0.0.2")  # the "internal" service the redirect aims at
    except OSError:
        pytest.skip("127.0.0.2 is not a usable loopback address here")
    try:
        location = target.format(port=secret.port)
        secret.routes["/secret"] = lambda h: reply(h, 200, b"internal data")
        server.routes["/go"] = lambda h: reply(h, 302, headers={"Location": location})
        with fetcher() as f, pytest.raises(FetchRefused) as caught:
            f.get(server.url("/go"))
        assert str(caught.value).startswith(server.url("/go") + ": ")
        assert sum(secret.hits.values()) == 0
    finally:
        secret.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://2130706433:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://0.0.0.0:{port}/",
        "http://localhost:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://user:pass@127.0.0.1:{port}/",
        "file:///etc/passwd",
        "ftp://127.0.0.1:{port}/",
    ],
)
def test_default_settings_refuse_local_addresses_without_a_request(
    server: Loopback, url: str
) -> None:
    server.routes["/"] = lambda h: reply(h, 200, b"local")
    with Fetcher(FetchSettings(retries=0)) as f, pytest.raises(FetchRefused):
        f.get(url.format(port=server.port))
    assert sum(server.hits.values()) == 0


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/", "http://169.254.169.254/", "http://[fe80::1]/", "http://[::]/"]
)
def test_private_and_link_local_are_refused_at_once(url: str) -> None:
    with Fetcher(FetchSettings(timeout=5, retries=3)) as f, pytest.raises(FetchRefused):
        started = time.monotonic()
        try:
            f.get(url)
        finally:
            assert time.monotonic() - started < 1.0  # no connection attempted (the timeout is 5 s)


def test_allow_private_allows_loopback(server: Loopback) -> None:
    server.routes["/"] = lambda h: reply(h, 200, b"ok")
    with Fetcher(FetchSettings(allow_private=True)) as f:
        assert f.get(server.url("/")).text == "ok"


def test_connect_time_check_catches_what_dns_checks_missed(
    server: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if DNS said "public" to check_url and "127.0.0.1" to the connection (rebinding).
    monkeypatch.setattr(mirror.fetch, "check_url", lambda url, settings: None)
    server.routes["/"] = lambda h: reply(h, 200, b"local")
    with Fetcher(FetchSettings(retries=0)) as f, pytest.raises(FetchRefused) as caught:
        f.get(server.url("/"))
    assert "loopback" in str(caught.value)
    assert sum(server.hits.values()) == 0


# --- concurrency ------------------------------------------------------------------------------


def test_get_many_respects_per_host_limit_and_runs_hosts_in_parallel(server: Loopback) -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.15)
        reply(h, 200, b"<p>ok</p>")

    server.routes["/s"] = slow
    urls = [(f"ip{i}", server.url(f"/s?i={i}")) for i in range(6)]
    urls += [(f"name{i}", server.url(f"/s?i={i}", host="localhost")) for i in range(6)]
    with fetcher(workers=8, per_host=2) as f:
        started = time.monotonic()
        results = dict(f.get_many(urls))
        elapsed = time.monotonic() - started
    assert set(results) == {key for key, _ in urls}
    assert all(not isinstance(r, FetchError) for r in results.values())
    assert max(server.max_in_flight.values()) == 2  # never more than per_host to one host
    assert server.max_total >= 3  # but the two hosts did run side by side
    assert elapsed < 6 * 0.15 * 1.8  # about 3 rounds of 0.15 s, not 12


def test_get_many_reports_errors_per_item(server: Loopback) -> None:
    server.routes["/ok"] = lambda h: reply(h, 200, b"<p>ok</p>")
    with fetcher() as f:
        results = dict(
            f.get_many(
                [("good", server.url("/ok")), ("bad", "file:///x"), ("gone", server.url("/nope"))]
            )
        )
    assert results["good"].text == "<p>ok</p>"  # type: ignore[union-attr]
    assert isinstance(results["bad"], FetchRefused)
    assert isinstance(results["gone"], HTTPStatusError)


def test_get_many_takes_per_item_options(server: Loopback) -> None:
    def page(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"same"':
            reply(h, 304)
        else:
            reply(
                h,
                200,
                "<p>日本</p>".encode("shift_jis"),
                {"Content-Type": "text/html", "ETag": '"same"'},
            )

    server.routes["/p"] = page
    items = [("plain", server.url("/p?a"), {}), ("cached", server.url("/p?b"), {"etag": '"same"'})]
    with fetcher() as f:
        results = dict(f.get_many(items, encoding="shift_jis"))
    assert results["plain"].text == "<p>日本</p>"  # type: ignore[union-attr]
    assert results["cached"].not_modified  # type: ignore[union-attr]


def test_delay_spaces_requests_to_one_host(server: Loopback) -> None:
    server.routes["/d"] = lambda h: reply(h, 200, b"ok")
    with fetcher(workers=4, per_host=4, delay=0.2) as f:
        started = time.monotonic()
        list(f.get_many(server.url(f"/d?{i}") for i in range(3)))
        elapsed = time.monotonic() - started
    assert len(server.starts) == 3
    assert elapsed >= 0.39  # two delays, although four workers were free
    # Seen from the server, load can shift one arrival a little, not the whole span.
    assert server.starts[-1] - server.starts[0] >= 0.3


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture
def tls_server(certificate: Path) -> Iterator[Loopback]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    srv = Loopback(tls=context)
    yield srv
    srv.close()


def test_https_fetch_and_trickle_deadline(tls_server: Loopback, certificate: Path) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.1)

    tls_server.routes["/ok"] = lambda h: reply(h, 200, "<p>secure 安全</p>".encode())
    tls_server.routes["/trickle"] = trickle
    f = Fetcher(FetchSettings(timeout=0.5, retries=0, allow_hosts=("127.0.0.1",)), deadline=1.0)
    f.session.verify = str(certificate / "cert.pem")
    with f:
        assert f.get(tls_server.url("/ok")).text == "<p>secure 安全</p>"
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            f.get(tls_server.url("/trickle"))
        assert time.monotonic() - started < 2.0


def test_https_certificate_is_verified(tls_server: Loopback) -> None:
    tls_server.routes["/ok"] = lambda h: reply(h, 200, b"<p>ok</p>")
    with (
        fetcher(retries=0) as f,
        pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED|certificate"),
    ):
        f.get(tls_server.url("/ok"))


# --- local sites ------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "articles").mkdir(parents=True)
    (root / "index.html").write_text("<h1>Home</h1>", encoding="utf-8")
    (root / "articles" / "one.html").write_text("<p>Article one</p>", encoding="utf-8")
    (root / "articles" / "gbk-news.html").write_bytes("<p>中文新闻</p>".encode("gbk"))
    (root / "feed.xml").write_text("<rss version='2.0'><channel></channel></rss>", encoding="utf-8")
    (root / "_headers").write_text(
        "# per-file headers\n/articles/gbk-news.html\n  Content-Type: text/html; charset=gbk\n  X-Demo: yes\n"
        "/articles/*\n  Cache-Control: max-age=60\n"
        "/articles/one.html\n  Last-Modified: Tue, 24 Nov 2026 12:00:00 GMT\n",
        encoding="utf-8",
    )
    (tmp_path / "secret.html").write_text("<p>outside</p>", encoding="utf-8")
    (root / "articles" / "escape.html").symlink_to(tmp_path / "secret.html")
    return root


def test_binary_bodies_are_not_decoded(site: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    (site / "logo.png").write_bytes(png)
    with Fetcher(FetchSettings(retries=0), {"https://demo.example/": site}) as f:
        image = f.get("https://demo.example/logo.png")
    assert image.content == png
    assert image.headers["Content-Type"] == "image/png"
    assert (image.text, image.encoding) == ("", "")


def test_local_site_serves_files_offline(site: Path) -> None:
    with Fetcher(FetchSettings(retries=0), {"https://demo.example/": site}) as f:
        home = f.get("https://demo.example/")
        one = f.get("https://demo.example/articles/one.html?utm=1#top")
        gbk = f.get("https://demo.example/articles/gbk-news.html")
        feed = f.get("https://demo.example/feed.xml")
        again = f.get("https://demo.example/articles/one.html", etag=one.etag)
        since = f.get("https://demo.example/articles/one.html", last_modified=one.last_modified)
    assert home.text == "<h1>Home</h1>"
    assert one.text == "<p>Article one</p>" and one.headers["Content-Type"] == "text/html"
    assert gbk.text == "<p>中文新闻</p>" and gbk.encoding == "gb18030"
    assert (
        gbk.headers["Content-Type"] == "text/html; charset=gbk" and gbk.headers["X-Demo"] == "yes"
    )
    assert feed.headers["Content-Type"] == "application/xml"
    assert gbk.headers["Cache-Control"] == one.headers["Cache-Control"] == "max-age=60"
    assert "Cache-Control" not in home.headers
    assert again.not_modified
    assert one.last_modified == "Tue, 24 Nov 2026 12:00:00 GMT" and since.not_modified


@pytest.mark.parametrize(
    "path",
    [
        "../secret.html",
        "%2e%2e/secret.html",
        "articles/%2E%2E/%2e%2e/secret.html",
        "articles/..%2f..%2fsecret.html",
        "/" + "etc/passwd",
        "articles/escape.html",
        "_headers",
        "nothing.html",
    ],
)
def test_local_site_confines_paths(site: Path, path: str) -> None:
    with (
        Fetcher(FetchSettings(retries=0), {"https://demo.example/": site}) as f,
        pytest.raises(HTTPStatusError) as caught,
    ):
        f.get("https://demo.example/" + path)
    assert caught.value.status == 404


# --- binary bodies whatever the label -------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
BINARIES = {
    "image/png": PNG,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4,
    "image/gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(64),
    "application/pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)),
    "application/zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)),
    "application/gzip": gzip.compress(b"<html>" * 100),
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(range(256)),
    "video/mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + bytes(range(256)),
    "image/avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00" + bytes(range(256)),
    "binary data": b"MZ\x90\x00\x03" + bytes(400) + bytes(range(1, 256)),
}


@pytest.mark.parametrize("looks_like", sorted(BINARIES))
def test_binary_labelled_html_is_not_an_html_page(server: Loopback, looks_like: str) -> None:
    body = BINARIES[looks_like]
    server.routes["/story.html"] = lambda h: reply(h, 200, body, {"Content-Type": "text/html"})
    url = server.url("/story.html")
    with fetcher() as f:
        with pytest.raises(NotHTML) as caught:
            f.get(url, expect="html")
        assert str(caught.value) == f"{url}: not an HTML page (looks like {looks_like})"
        assert caught.value.media_type == looks_like
        assert isinstance(caught.value, FetchError)
        # Not asked for a page (an image, say): the bytes come back whole, never decoded.
        got = f.get(url)
    assert got.content == body
    assert (got.text, got.encoding) == ("", "")


def test_binary_content_type_is_not_an_html_page(server: Loopback) -> None:
    body = b"\x01\x02 some bytes that match no magic number"
    server.routes["/doc"] = lambda h: reply(h, 200, body, {"Content-Type": "Application/PDF; x=1"})
    server.routes["/go"] = lambda h: reply(h, 302, b"", {"Location": "/doc"})
    with fetcher() as f, pytest.raises(NotHTML) as caught:
        f.get(server.url("/go"), expect="html")
    assert str(caught.value) == (
        f"{server.url('/go')}: not an HTML page (Content-Type: application/pdf)"
        f" (redirected to {server.url('/doc')})"
    )


@pytest.mark.parametrize(
    "body",
    [
        "<!doctype html><p>Plain page, ça va, 中文</p>".encode(),
        "<html><p>UTF-16 page 中文</p></html>".encode("utf-16-le") * 20,
        b"\xff\xfe" + "<html><p>UTF-16 with a BOM</p></html>".encode("utf-16-le"),
        "<p>GBK 新闻</p>".encode("gbk"),
        b"",
    ],
)
def test_text_pages_pass_the_html_check(server: Loopback, body: bytes) -> None:
    server.routes["/p"] = lambda h: reply(h, 200, body, {"Content-Type": "text/html"})
    with fetcher() as f:
        page = f.get(server.url("/p"), expect="html")
    assert page.content == body
    assert bool(page.text) == bool(body)


def test_undecodable_body_is_not_an_html_page(server: Loopback) -> None:
    # Brotli has no magic number, and requests cannot decode it without the brotli module.
    noise = random.Random(7).randbytes(6000)
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "br"}
    server.routes["/br"] = lambda h: reply(h, 200, noise, headers)
    with fetcher() as f:
        with pytest.raises(NotHTML) as caught:
            f.get(server.url("/br"), expect="html")
        assert caught.value.media_type == "binary data"
        assert re.fullmatch(
            r".*: not an HTML page \(looks like binary data: \d+% of it decodes, as utf-8, to control"
            r" or replacement characters; Content-Encoding br is not supported\)",
            str(caught.value),
        )
        assert f.get(server.url("/br")).content == noise  # not asked for a page: no check


def test_images_keep_working_without_expect(server: Loopback) -> None:
    server.routes["/i.png"] = lambda h: reply(h, 200, PNG, {"Content-Type": "image/png"})
    with fetcher() as f:
        image = f.get(server.url("/i.png"), max_bytes=len(PNG))
    assert image.content == PNG and image.text == ""


def test_get_many_checks_pages_when_asked(server: Loopback) -> None:
    server.routes["/page"] = lambda h: reply(h, 200, b"<p>words</p>")
    server.routes["/fake"] = lambda h: reply(h, 200, PNG, {"Content-Type": "text/html"})
    with fetcher() as f:
        got = dict(f.get_many([server.url("/page"), server.url("/fake")], expect="html"))
    assert got[server.url("/page")].text == "<p>words</p>"  # type: ignore[union-attr]
    fake = got[server.url("/fake")]
    assert isinstance(fake, NotHTML) and "looks like image/png" in str(fake)


def test_expect_takes_only_html() -> None:
    with fetcher() as f, pytest.raises(ValueError, match="expect"):
        f.get("http://127.0.0.1:9/", expect="pdf")  # type: ignore[arg-type]
