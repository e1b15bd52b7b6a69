"""Short URLs for share footers, from Shlink, YOURLS, Kutt or an is.gd-compatible service."""

from __future__ import annotations

import json
import re
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3

PROVIDERS = ("none", "shlink", "yourls", "kutt", "isgd")
ISGD_DEFAULT_API_URL = "https://is.gd"
MAX_RESPONSE_BYTES = 256 * 1024  # a shortener answers with a few hundred bytes of JSON
MAX_SHORT_URL_LENGTH = 2048

# Printable ASCII without space, quotes, angle brackets, backtick, backslash,
# braces, pipe or caret: a short URL goes into Markdown and into a QR code, so
# it must not be able to end an attribute, open a tag or break a table.
_SAFE_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+")


class ShortenError(Exception):
    """A URL could not be shortened. `str()` is one line: provider, URL, what went wrong."""

    def __init__(self, provider: str, url: str, reason: str) -> None:
        self.provider = provider
        self.url = url
        self.reason = _one_line(reason)
        super().__init__(f"{provider} shortener: cannot shorten {_one_line(url)}: {self.reason}")


@dataclass(frozen=True)
class ShortenerSettings:
    """Which shortener to call and how; the [shortener] table of the config."""

    provider: str = "none"  # none | shlink | yourls | kutt | isgd
    api_url: str = ""  # the server's base URL (or its full API endpoint); isgd: https://is.gd
    api_key: str = ""  # Shlink / Kutt API key; for YOURLS its secret signature token
    timeout: float = 10.0  # seconds to connect, and for the whole answer
    domain: str = ""  # Shlink / Kutt: which of the server's domains the short URL uses
    username: str = ""  # YOURLS: username + password, if no signature token is used
    password: str = ""


class Shortener(Protocol):
    """Anything that turns a URL into a short URL or raises ShortenError."""

    provider: str

    def shorten(self, url: str) -> str: ...


def make_shortener(
    settings: ShortenerSettings, session: requests.Session | None = None
) -> Shortener:
    """The shortener `settings` describe; ValueError names the setting that is wrong."""
    provider = settings.provider
    if provider == "none":
        return NoShortener()
    if provider not in PROVIDERS:
        raise ValueError(
            f"shortener provider: expected one of {', '.join(PROVIDERS)}, got {provider!r}"
        )
    api_url = settings.api_url or (ISGD_DEFAULT_API_URL if provider == "isgd" else "")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"shortener api_url: expected the http(s) URL of the {provider} server, got {api_url!r}"
        )
    if settings.timeout <= 0:
        raise ValueError(
            f"shortener timeout: expected a positive number of seconds, got {settings.timeout!r}"
        )
    if (
        provider == "yourls"
        and not settings.api_key
        and not (settings.username and settings.password)
    ):
        raise ValueError(
            "shortener api_key: YOURLS needs its signature token, or username and password"
        )
    cls = {"shlink": Shlink, "yourls": Yourls, "kutt": Kutt, "isgd": Isgd}[provider]
    return cls(settings, session or requests.Session())


class NoShortener:
    """The `none` provider: the page URL is its own short URL."""

    provider = "none"

    def shorten(self, url: str) -> str:
        return url


class _HttpShortener:
    """What the four APIs share: one request, a bounded JSON answer, a checked short URL."""

    provider = ""
    endpoint = ""  # appended to api_url unless api_url already ends with it

    def __init__(self, settings: ShortenerSettings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        base = (settings.api_url or ISGD_DEFAULT_API_URL).rstrip("/")
        self.api_url = base if base.endswith(self.endpoint) else base + self.endpoint

    def shorten(self, url: str) -> str:
        if not _is_http_url(url):
            raise ShortenError(self.provider, url, "not an http(s) URL")
        try:
            status, body = self._call(url)
        except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
            reason = f"no answer within {self.settings.timeout:g} s"
            raise ShortenError(self.provider, url, reason) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ShortenError(self.provider, url, self._redact(f"request failed: {exc}")) from None
        try:
            return self._checked(url, self._short_url(url, status, body))
        except ShortenError as exc:
            # The server's own words are quoted; some echo what they were sent.
            if self._redact(exc.reason) == exc.reason:
                raise
            raise ShortenError(self.provider, url, self._redact(exc.reason)) from None

    def _call(self, url: str) -> tuple[int, Any]:
        raise NotImplementedError

    def _short_url(self, url: str, status: int, body: Any) -> Any:
        raise NotImplementedError

    def _request(self, method: str, **kwargs: Any) -> tuple[int, Any]:
        """Send one request; return the status and the JSON body, or a _BadAnswer."""
        timeout = self.settings.timeout
        deadline = time.monotonic() + timeout
        # No redirects: a redirect to another host would carry the API key
        # header along, and a POST turned into a GET means nothing was created.
        with self.session.request(
            method,
            self.api_url,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/json", **kwargs.pop("headers", {})},
            **kwargs,
        ) as response:
            content = bytearray()
            # read1 returns what has arrived, so a server dripping its answer
            # byte by byte cannot stretch the deadline; read(1) where it is missing.
            raw = response.raw
            if hasattr(raw, "read1"):
                read = partial(raw.read1, 16 * 1024, decode_content=True)
            else:
                read = partial(raw.read, 1, decode_content=True)
            while chunk := read():
                content += chunk
                if len(content) > MAX_RESPONSE_BYTES:
                    too_big = f"answer larger than {MAX_RESPONSE_BYTES} bytes"
                    return response.status_code, _BadAnswer(too_big, whole_story=True)
                if time.monotonic() > deadline:
                    raise requests.Timeout()
            status = response.status_code
            location = response.headers.get("Location", "")
        if 300 <= status < 400:
            moved = f"HTTP {status} redirect to {_excerpt(location)!r}; set api_url to the final address"
            return status, _BadAnswer(moved, whole_story=True)
        try:
            return status, json.loads(content.decode("utf-8-sig"))
        except (ValueError, RecursionError):  # bad UTF-8, bad JSON, absurd nesting
            return status, _BadAnswer(_excerpt(content))

    def _fail(self, url: str, status: int, body: Any, *message_keys: str) -> ShortenError:
        """The error for an answer without a short URL, quoting the server's own message."""
        ok = 200 <= status < 300
        if isinstance(body, _BadAnswer):
            if body.whole_story:
                return ShortenError(self.provider, url, body.what)
            said = body.what if not ok else f"not JSON: {body.what}"
        else:
            said = ""
            if isinstance(body, dict):
                said = next((_excerpt(str(body[k]), 200) for k in message_keys if body.get(k)), "")
            said = said or ("no short URL in the answer" if ok else "no error message")
        return ShortenError(self.provider, url, said if ok else f"HTTP {status}: {said}")

    def _checked(self, url: str, short: Any) -> str:
        problem = short_url_problem(short)
        if problem:
            raise ShortenError(
                self.provider, url, f"the answer {_excerpt(str(short))!r} is {problem}"
            )
        return short

    def _redact(self, text: str) -> str:
        for secret in (self.settings.api_key, self.settings.password):
            if secret:
                text = text.replace(secret, "***")
        return text


class Shlink(_HttpShortener):
    """Shlink REST API v3: POST /rest/v3/short-urls with an X-Api-Key header."""

    provider = "shlink"
    endpoint = "/rest/v3/short-urls"

    def _call(self, url: str) -> tuple[int, Any]:
        payload: dict[str, Any] = {"longUrl": url, "findIfExists": True}
        if self.settings.domain:
            payload["domain"] = self.settings.domain
        return self._request("POST", json=payload, headers={"X-Api-Key": self.settings.api_key})

    def _short_url(self, url: str, status: int, body: Any) -> Any:
        if 200 <= status < 300 and isinstance(body, dict) and "shortUrl" in body:
            return body["shortUrl"]
        # Errors are RFC 7807 problem details: "detail" explains, "title" names.
        raise self._fail(url, status, body, "detail", "title")


class Yourls(_HttpShortener):
    """YOURLS API: action=shorturl on yourls-api.php, by signature token or username/password."""

    provider = "yourls"
    endpoint = "/yourls-api.php"

    def _call(self, url: str) -> tuple[int, Any]:
        form = {"action": "shorturl", "url": url, "format": "json"}
        if self.settings.api_key:
            form["signature"] = self.settings.api_key
        else:
            form["username"] = self.settings.username
            form["password"] = self.settings.password
        # POST, not GET: the signature stays out of server logs and error messages.
        return self._request("POST", data=form)

    def _short_url(self, url: str, status: int, body: Any) -> Any:
        if 200 <= status < 300 and isinstance(body, dict):
            if body.get("status") == "success" and "shorturl" in body:
                return body["shorturl"]
            # A URL shortened before: status "fail", code "error:url", and the
            # existing short URL (unless the server allows duplicates).
            if body.get("code") == "error:url" and body.get("shorturl"):
                return body["shorturl"]
        raise self._fail(url, status, body, "message", "code")


class Kutt(_HttpShortener):
    """Kutt API v2: POST /api/v2/links with an X-API-KEY header."""

    provider = "kutt"
    endpoint = "/api/v2/links"

    def _call(self, url: str) -> tuple[int, Any]:
        payload: dict[str, Any] = {"target": url, "reuse": True}
        if self.settings.domain:
            payload["domain"] = self.settings.domain
        return self._request("POST", json=payload, headers={"X-API-KEY": self.settings.api_key})

    def _short_url(self, url: str, status: int, body: Any) -> Any:
        if 200 <= status < 300 and isinstance(body, dict) and "link" in body:
            return body["link"]
        raise self._fail(url, status, body, "error", "message")


class Isgd(_HttpShortener):
    """is.gd and v.gd, and services copying their API: GET create.php?format=json&url=..."""

    provider = "isgd"
    endpoint = "/create.php"

    def _call(self, url: str) -> tuple[int, Any]:
        return self._request("GET", params={"format": "json", "url": url})

    def _short_url(self, url: str, status: int, body: Any) -> Any:
        if 200 <= status < 300 and isinstance(body, dict) and "shorturl" in body:
            return body["shorturl"]
        if isinstance(body, dict) and "errorcode" in body:
            said = body.get("errormessage") or "no error message"
            raise ShortenError(self.provider, url, f"error {body['errorcode']}: {said}")
        raise self._fail(url, status, body, "errormessage")


class CachedShortener:
    """A shortener behind a cache, that gives up on a provider failing `max_failures` times in a row.

    `cache` maps URLs to short URLs (the publisher keeps it in its manifest). A
    cached value is checked again before use, since the manifest is a file
    anyone can edit. Once the breaker trips, `shorten` raises ShortenError at
    once for the rest of the run, so a dead shortener costs at most
    `max_failures` timeouts, not one per article.
    """

    def __init__(
        self, shortener: Shortener, cache: MutableMapping[str, str], max_failures: int = 3
    ) -> None:
        self.shortener = shortener
        self.provider = shortener.provider
        self.cache = cache
        self.max_failures = max_failures
        self.failures = 0  # consecutive
        self.last_error: ShortenError | None = None

    @property
    def available(self) -> bool:
        """False once the provider failed `max_failures` times in a row."""
        return self.failures < self.max_failures

    def shorten(self, url: str) -> str:
        if isinstance(self.shortener, NoShortener):
            return url  # nothing worth caching
        cached = self.cache.get(url)
        if cached is not None:
            if short_url_problem(cached) is None:
                return cached
            del self.cache[url]
        if not self.available:
            reason = f"not called after {self.failures} failures in a row"
            if self.last_error is not None:
                reason += f" (last: {self.last_error.reason})"
            raise ShortenError(self.shortener.provider, url, reason)
        try:
            short = self.shortener.shorten(url)
        except ShortenError as exc:
            self.failures += 1
            self.last_error = exc
            raise
        self.failures = 0
        self.cache[url] = short
        return short


def short_url_problem(value: Any) -> str | None:
    """Why `value` is not a safe http(s) short URL, or None if it is one."""
    if not isinstance(value, str):
        return f"not a string but {type(value).__name__}"
    if not value:
        return "empty"
    if len(value) > MAX_SHORT_URL_LENGTH:
        return f"longer than {MAX_SHORT_URL_LENGTH} characters"
    if not _SAFE_URL.fullmatch(value):
        return "not a plain URL (whitespace, quotes, control or non-ASCII characters)"
    if not _is_http_url(value):
        return "not an http(s) URL"
    return None


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and "@" not in parts.netloc


class _BadAnswer:
    """A response body that is not usable JSON: an excerpt, or the whole reason why."""

    def __init__(self, what: str, *, whole_story: bool = False) -> None:
        self.what = what
        self.whole_story = whole_story


def _excerpt(content: bytes | bytearray | str, limit: int = 80) -> str:
    head = content[: limit * 4]
    text = _one_line(head if isinstance(head, str) else bytes(head).decode("utf-8", "replace"))
    if not text:
        return "empty answer"
    return text if len(text) <= limit else text[:limit] + "..."


def _one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
