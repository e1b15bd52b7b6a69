"""The one HTTP client of a run: timeouts, retries, size limits, checked redirects, local demo sites."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from mirror.encoding import decode_html, decode_text, garbled_share, sniff_binary
from mirror.model import Fetched, FetchSettings
from mirror.netpolicy import RefusedURL, UnresolvableHost, check_address, check_url

__all__ = [
    "Fetcher",
    "FetchError",
    "FetchRefused",
    "ConnectionFailed",
    "FetchTimeout",
    "HTTPStatusError",
    "NotHTML",
    "TooLarge",
    "TooManyRedirects",
    "RefusedURL",
    "LocalSiteAdapter",
    "MAX_REDIRECTS",
    "one_line",
]

MAX_REDIRECTS = 10
DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CHUNK = 64 * 1024
_BINARY_TYPES = re.compile(
    r"\s*(image|audio|video|font)/|\s*application/(octet-stream|pdf|zip|gzip|wasm)\b", re.IGNORECASE
)
# Above this share of control and replacement characters, "text" is binary data.
GARBLED_SHARE = 0.1
_XML_TYPES = re.compile(r"[/+]xml\b|\brss\b|\batom\b", re.IGNORECASE)
# ASCII digits only: str.isdigit() also takes "²", which int() and float() refuse.
_DIGITS = re.compile(r"[0-9]+")

# What urllib3 decompresses here (brotli and zstd only with their optional modules).
_DECODED_CODINGS = frozenset(["identity", *HTTPResponse.CONTENT_DECODERS])

K = TypeVar("K")


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def one_line(text: str) -> str:
    """`text` with control characters and lone surrogates escaped (ESC becomes "\\x1b").

    Messages carry what servers sent (a reason phrase, a Location); printed
    raw, an escape sequence would rewrite the user's terminal.
    """
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


class FetchError(Exception):
    """A URL could not be fetched; str() is one line: the URL, then what went wrong."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = one_line(reason)
        super().__init__(f"{one_line(url)}: {self.reason}")


class FetchRefused(FetchError):
    """The URL, or a redirect on the way, points where policy forbids (see mirror.netpolicy)."""


class ConnectionFailed(FetchError):
    """No connection could be made or kept (DNS, refused, reset), retries included."""


class FetchTimeout(FetchError):
    """The server was too slow: connect or read timeout, or the whole response took too long."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (retries included for 429 and 5xx)."""

    def __init__(self, url: str, status: int, reason: str = "") -> None:
        super().__init__(url, f"HTTP {status} {reason}".strip())
        self.status = status


class TooLarge(FetchError):
    """The body, once decompressed, is larger than `max_bytes`."""


class TooManyRedirects(FetchError):
    """More than MAX_REDIRECTS redirects."""


class NotHTML(FetchError):
    """A page was asked for (`expect="html"`) and the body is binary: an image, a PDF, an archive.

    `media_type` is what the bytes look like ("image/png"), or the
    Content-Type the server sent when it names a binary type.
    """

    def __init__(self, url: str, media_type: str, reason: str) -> None:
        super().__init__(url, reason)
        self.media_type = media_type


class _Transient(Exception):
    """A failure worth retrying; carries the error to raise if no retry is left."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(str(error))
        self.error = error


# --- the deadline watchdog ------------------------------------------------------------------
#
# Socket timeouts bound each recv(), not a whole response: a server sending
# one byte a second never trips them. So each attempt gets a watchdog that, at
# the deadline, shuts the connection's socket down, which wakes the worker
# blocked in recv(). The connection classes below tell the watchdog which
# socket the current thread is using.

_current = threading.local()


class _Watch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.expired = False

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._sock
        _shutdown(sock)

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            expired = self.expired
        if expired:
            _shutdown(sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    # The plain socket method, even for TLS: it only touches the file
    # descriptor, so it is safe while another thread is reading.
    with suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(sock: socket.socket | None) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.attach(sock)


class _GuardedConnection:
    """Mixin: check the address actually connected to, and report the socket to the watchdog.

    The check at connect time closes the gap between check_url's DNS lookup
    and the connection's own (a host that resolves to a public address once
    and to 127.0.0.1 the next time).
    """

    mirror_settings: FetchSettings
    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            check_address(str(sock.getpeername()[0]), self.mirror_settings, self.host)
        except BaseException:
            sock.close()
            raise

        _attach(sock)
        return sock

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        # A reused keep-alive connection made no new socket; register its
        # socket now. The response keeps reading from it even after the
        # connection object lets go of it (HTTP/1.0, "Connection: close").
        _attach(getattr(self, "sock", None))
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections go through _GuardedConnection."""

    def __init__(self, settings: FetchSettings, **kwargs: Any) -> None:
        self._settings = settings  # init_poolmanager, called by the base __init__, needs it
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        extra = {"mirror_settings": self._settings}
        http_conn = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), extra)
        https_conn = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), extra)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type(
                "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
            ),
        }


# --- local sites ------------------------------------------------------------------------------

_CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".css": "text/css",
    ".txt": "text/plain",
    ".json": "application/json",
}


def _parse_headers_file(text: str) -> list[tuple[re.Pattern[str], dict[str, str]]]:
    """Netlify-style `_headers`: a path line, then indented `Name: value` lines."""
    rules: list[tuple[re.Pattern[str], dict[str, str]]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if current is not None and ":" in stripped:
                name, value = stripped.split(":", 1)
                if name.strip():
                    current[name.strip()] = value.strip()
            continue
        current = {}
        pattern = "".join(
            ".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", stripped)
        )
        rules.append((re.compile(pattern + r"\Z"), current))
    return rules


class LocalSiteAdapter(BaseAdapter):
    """Serves URLs under `prefix` from `folder`, offline: the demo's source sites."""

    def __init__(self, prefix: str, folder: Path) -> None:
        super().__init__()
        self.prefix = prefix
        self.root = Path(folder).resolve()
        headers_file = self.root / "_headers"
        try:
            self._rules = _parse_headers_file(headers_file.read_text("utf-8", "replace"))
        except OSError:
            self._rules = []

    def _locate(self, url: str) -> tuple[Path | None, str]:
        rest = url[len(self.prefix) :].split("#", 1)[0].split("?", 1)[0]
        decoded = unquote(rest)
        parts = [p for p in decoded.replace("\\", "/").split("/") if p not in ("", ".")]
        url_path = "/" + "/".join(parts) + ("/" if decoded.endswith("/") and parts else "")
        if "\x00" in decoded or ".." in parts:
            return None, url_path
        try:
            target = self.root.joinpath(*parts).resolve()
            if target.is_dir():
                target = (target / "index.html").resolve()
        except (OSError, ValueError, RuntimeError):
            return None, url_path
        # resolve() followed any symlink: what counts is where it ends up.
        if not target.is_relative_to(self.root) or target == self.root / "_headers":
            return None, url_path
        return (target if target.is_file() else None), url_path

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        path, url_path = self._locate(request.url or "")
        headers: dict[str, str] = {}
        if path is None:
            status, reason, body = 404, "Not Found", b"not found\n"
            headers["Content-Type"] = "text/plain; charset=utf-8"
        else:
            body = path.read_bytes()
            status, reason = 200, "OK"
            headers["Content-Type"] = _CONTENT_TYPES.get(
                path.suffix.lower(), "application/octet-stream"
            )
            headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            for pattern, extra in self._rules:
                if pattern.match(url_path):
                    headers.update(extra)
            # Exact matches suffice: the client echoes what this adapter sent.
            etag_matches = request.headers.get("If-None-Match") == headers["ETag"]
            since = request.headers.get("If-Modified-Since")
            if etag_matches or (since and since == headers.get("Last-Modified")):
                status, reason, body = 304, "Not Modified", b""
        if request.method == "HEAD":
            body = b""
        headers["Content-Length"] = str(len(body))
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            request_url=request.url,
        )
        response = requests.Response()
        response.status_code = status
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers)
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        pass


# --- the fetcher ------------------------------------------------------------------------------


class _HostGate:
    """At most `per_host` requests in flight to one host, starts at least `delay` apart."""

    def __init__(self, per_host: int, delay: float) -> None:
        self._slots = threading.BoundedSemaphore(max(1, per_host))
        self._delay = delay
        self._lock = threading.Lock()
        self._next_start = 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            if self._delay > 0:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_start)
                    self._next_start = start + self._delay
                if start > now:
                    time.sleep(start - now)
            yield


@dataclass(slots=True)
class _Reply:
    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    content: bytes


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return float(value)  # a run of 309 digits or more is inf: forever
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):  # year 0, 99999, 9999 at -2359...
        return None


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*|\b\w+\(host=[^)]*\):\s*")


def _cause(err: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception chain, as one short line."""
    seen = {id(err)}
    while True:
        inner: BaseException | None = None
        reason = getattr(err, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
        else:
            inner = next((a for a in reversed(err.args) if isinstance(a, BaseException)), None)
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        err = inner
    text = _OBJECT_REPR.sub("", str(err)).strip() or type(err).__name__
    return " ".join(text.split())[:200]


def _header_text(value: str) -> str:
    """A header value as sent: http.client reads headers as Latin-1, servers mostly send UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _about(url: str, err: Exception) -> str:
    """An error's message without the URL it starts with (FetchError adds the origin URL)."""
    return str(err).removeprefix(f"{url}: ")


def _host_key(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return ""


class _Session(requests.Session):
    """A session that leaves redirects to Fetcher.get, hop by hop.

    Even with allow_redirects=False, requests reads a redirect's Location to
    fill Response.next, and raises out of send() on bytes that are not UTF-8
    or on a malformed URL; Fetcher.get reads Location itself, forgivingly.
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


class Fetcher:
    """The HTTP client of a run: one session, pooled, polite, bounded and checked.

    `deadline` bounds one attempt of one request from connect to the last byte
    of the body; it defaults to `settings.deadline`, or else three times
    `settings.timeout`.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        local_sites: Mapping[str, Path] | None = None,
        *,
        deadline: float | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        if deadline is None:
            deadline = self.settings.deadline
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be a positive number of seconds, not {deadline!r}")
        self.deadline = deadline if deadline is not None else max(3 * self.settings.timeout, 1.0)
        self.session = _Session()
        # Proxies and .netrc from the environment would bypass the address
        # checks and leak credentials to source sites.
        self.session.trust_env = False
        self.session.headers["User-Agent"] = self.settings.user_agent
        size = max(1, self.settings.workers, self.settings.per_host)
        adapter = _GuardedAdapter(
            self.settings, pool_connections=size, pool_maxsize=size, max_retries=0
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._local_prefixes: list[str] = []
        for prefix, folder in (local_sites or {}).items():
            prefix = prefix if prefix.endswith("/") else prefix + "/"
            self.session.mount(prefix, LocalSiteAdapter(prefix, Path(folder)))
            self._local_prefixes.append(prefix.lower())
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def is_local(self, url: str) -> bool:
        """Whether `url` is served from a local site folder."""
        low = url.lower()
        return any(low.startswith(prefix) for prefix in self._local_prefixes)

    # --- one request ---

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        encoding: str | None = None,
        max_bytes: int | None = None,
        expect: Literal["html"] | None = None,
    ) -> Fetched:
        """Fetch `url`, following redirects; raises FetchError (a subclass) on any failure.

        With `etag` or `last_modified`, the request is conditional and an
        unchanged page comes back as `Fetched(not_modified=True)` with no body.
        `encoding` forces the charset used to decode the text. Binary types
        (image/*, audio/*, video/*, font/*, application/octet-stream, pdf, zip)
        come back with empty `text` and `encoding`. `max_bytes` overrides the
        setting of the same name for this request (e.g. a smaller cap for images).

        The bytes are sniffed too, since headers lie: a body that starts with
        a binary format's magic number (PNG, JPEG, GIF, PDF, zip, gzip, WebP,
        MP4...) or is full of NUL bytes also comes back with empty `text`,
        whatever its Content-Type. With `expect="html"` (a page is wanted), such
        a body raises NotHTML instead: "URL: not an HTML page (looks like
        image/png)"; so does a binary Content-Type, and text that decodes to
        over 10% control or replacement characters.
        """
        if expect not in (None, "html"):
            raise ValueError(f"expect must be None or 'html', not {expect!r}")
        headers = {"Accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        visited: list[str] = []
        while True:
            reply = self._exchange(url, current, headers, max_bytes or self.settings.max_bytes)
            if reply.status not in _REDIRECTS:
                break
            location = _header_text(reply.headers.get("Location", "")).strip()
            if not location:
                raise HTTPStatusError(url, reply.status, "redirect without a Location header")
            visited.append(current)
            try:
                current = urljoin(current, location)
            except ValueError:  # "http://[bad": urllib refuses it
                raise HTTPStatusError(
                    url, reply.status, f"redirect to a malformed URL: {location[:200]!r}"
                ) from None
            if len(visited) > MAX_REDIRECTS:
                loop = " (a redirect loop)" if current in visited else ""
                raise TooManyRedirects(url, f"more than {MAX_REDIRECTS} redirects{loop}")
        where = "" if current == url else f" (redirected to {current})"
        if reply.status == 304:
            return Fetched(
                url=url,
                final_url=current,
                status=304,
                content=b"",
                text="",
                encoding="",
                headers=reply.headers,
                etag=reply.headers.get("ETag") or etag,
                last_modified=reply.headers.get("Last-Modified") or last_modified,
                not_modified=True,
            )
        if not 200 <= reply.status < 300:
            raise HTTPStatusError(url, reply.status, reply.reason + where)
        content_type = reply.headers.get("Content-Type")
        sniffed = sniff_binary(reply.content)
        binary_label = bool(_BINARY_TYPES.match(content_type or "")) and not encoding
        if expect == "html" and (sniffed or binary_label):
            media_type = sniffed or (content_type or "").split(";", 1)[0].strip().lower()
            clue = f"looks like {sniffed}" if sniffed else f"Content-Type: {media_type}"
            raise NotHTML(url, media_type, f"not an HTML page ({clue}){where}")
        if sniffed or binary_label:
            text, codec = "", ""  # images and the like: no text to decode
        else:
            decode = (
                decode_text if content_type and _XML_TYPES.search(content_type) else decode_html
            )
            text, codec = decode(reply.content, content_type, encoding)
            share = garbled_share(text) if expect == "html" else 0.0
            if share > GARBLED_SHARE:
                clue = (
                    f"looks like binary data: {share:.0%} of it decodes, as {codec},"
                    " to control or replacement characters"
                )
                coding = reply.headers.get("Content-Encoding", "").strip().lower()
                if coding and coding not in _DECODED_CODINGS:
                    clue += f"; Content-Encoding {coding} is not supported"
                raise NotHTML(url, "binary data", f"not an HTML page ({clue}){where}")
        return Fetched(
            url=url,
            final_url=current,
            status=reply.status,
            content=reply.content,
            text=text,
            encoding=codec,
            headers=reply.headers,
            etag=reply.headers.get("ETag"),
            last_modified=reply.headers.get("Last-Modified"),
        )

    def _exchange(self, origin: str, url: str, headers: Mapping[str, str], limit: int) -> _Reply:
        """One hop: policy check, then attempts with backoff until success or no retry left."""
        local = self.is_local(url)
        if not local:
            try:
                check_url(url, self.settings)
            except UnresolvableHost as err:
                raise ConnectionFailed(origin, _about(url, err)) from None
            except RefusedURL as err:
                raise FetchRefused(origin, _about(url, err)) from None
        settings = self.settings
        attempt = 0
        while True:
            try:
                reply = self._attempt(origin, url, headers, local, limit)
            except _Transient as transient:
                if attempt >= settings.retries:
                    raise transient.error from None
                pause = self._backoff(attempt)
            else:
                if reply.status not in _RETRY_STATUSES:
                    return reply
                hinted = _retry_after(reply.headers.get("Retry-After"))
                if hinted is not None:
                    reply.reason = f"{reply.reason} (Retry-After {hinted:.0f} s)".strip()
                # Waiting less than the server asked would only earn another
                # refusal: give up now, the next run tries again.
                if attempt >= settings.retries or (
                    hinted is not None and hinted > settings.max_backoff
                ):
                    return reply
                pause = self._backoff(attempt) if hinted is None else hinted
            attempt += 1
            time.sleep(pause)

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.backoff * (2**attempt), self.settings.max_backoff)

    def _gate(self, url: str) -> _HostGate:
        key = _host_key(url)
        with self._gates_lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = _HostGate(self.settings.per_host, self.settings.delay)
            return gate

    def _attempt(
        self, origin: str, url: str, headers: Mapping[str, str], local: bool, limit: int
    ) -> _Reply:
        gate = _HostGate(1, 0.0) if local else self._gate(url)
        timeout = self.settings.timeout
        with gate.slot():
            watch = _Watch()
            timer = threading.Timer(self.deadline, watch.expire)
            timer.daemon = True
            _current.watch = watch
            timer.start()
            response: requests.Response | None = None
            too_slow = FetchTimeout(origin, f"no complete response within {self.deadline:g} s")
            try:
                response = self.session.get(
                    url,
                    headers=dict(headers),
                    stream=True,
                    allow_redirects=False,
                    timeout=(timeout, timeout),
                )
                status = response.status_code
                content = (
                    self._read_body(origin, response, watch, limit) if 200 <= status < 300 else b""
                )
                if watch.expired:
                    raise too_slow
                return _Reply(status, response.reason or "", response.headers, content)
            except RefusedURL as err:  # from the connect-time check
                raise FetchRefused(origin, str(err)) from None
            except requests.exceptions.ConnectTimeout:
                raise _Transient(
                    FetchTimeout(origin, f"no connection within {timeout:g} s")
                ) from None
            except requests.exceptions.ReadTimeout:
                raise FetchTimeout(origin, f"no data for {timeout:g} s") from None
            except requests.exceptions.ContentDecodingError as err:
                raise FetchError(origin, f"cannot decompress the body ({_cause(err)})") from None
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as err:
                if watch.expired:
                    raise too_slow from None
                raise _Transient(ConnectionFailed(origin, _cause(err))) from None
            except requests.exceptions.RequestException as err:
                if watch.expired:
                    raise too_slow from None
                raise FetchError(origin, _cause(err)) from None
            finally:
                timer.cancel()
                _current.watch = None
                if response is not None:
                    response.close()

    def _read_body(
        self, origin: str, response: requests.Response, watch: _Watch, limit: int
    ) -> bytes:
        too_large = TooLarge(origin, f"larger than max_bytes ({limit} bytes)")
        declared = response.headers.get("Content-Length", "")
        if _DIGITS.fullmatch(declared) and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        # Counted after decompression, so a small gzip bomb stops at the limit.
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if watch.expired:
                break
        return b"".join(chunks)

    # --- many requests ---

    def get_many(
        self,
        items: Iterable[str | tuple[K, str] | tuple[K, str, Mapping[str, Any]]],
        **options: Any,
    ) -> Iterator[tuple[Any, Fetched | FetchError]]:
        """Fetch many URLs concurrently; yields (key, Fetched or FetchError) as each completes.

        An item is a URL (its own key), a (key, url) pair, or (key, url, options)
        with per-URL keyword arguments for `get` (such as an `etag`); `options`
        apply to all. At most `workers` requests run at once, and at most
        `per_host` to one host.
        """
        pending: dict[str, deque[tuple[Any, str, dict[str, Any]]]] = {}
        for item in items:
            if isinstance(item, str):
                key, url, own = item, item, {}
            elif len(item) == 3:
                key, url, own = item[0], item[1], dict(item[2])  # type: ignore[misc]
            else:
                key, url, own = item[0], item[1], {}
            pending.setdefault(_host_key(url), deque()).append((key, url, {**options, **own}))
        workers = max(1, self.settings.workers)
        per_host = max(1, self.settings.per_host)
        in_flight: dict[Future[Fetched | FetchError], tuple[Any, str]] = {}
        busy: Counter[str] = Counter()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:

            def submit_ready() -> None:
                # Round-robin over hosts so one big site does not starve the others.
                progress = True
                while progress and len(in_flight) < workers:
                    progress = False
                    for host in list(pending):
                        queue = pending[host]
                        if busy[host] < per_host and len(in_flight) < workers:
                            key, url, kwargs = queue.popleft()
                            in_flight[pool.submit(self._get_or_error, url, kwargs)] = (key, host)
                            busy[host] += 1
                            progress = True
                        if not queue:
                            del pending[host]

            submit_ready()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    key, host = in_flight.pop(future)
                    busy[host] -= 1
                    yield key, future.result()
                submit_ready()

    def _get_or_error(self, url: str, kwargs: Mapping[str, Any]) -> Fetched | FetchError:
        try:
            return self.get(url, **kwargs)
        except FetchError as err:
            return err
        except Exception as err:  # one bad URL must not stop the others
            return FetchError(url, f"unexpected {type(err).__name__}: {err}")
