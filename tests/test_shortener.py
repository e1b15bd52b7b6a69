"""Short URLs: each provider's API spoken to a real loopback server, failures and the breaker."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mirror.shortener import (
    CachedShortener,
    NoShortener,
    ShortenError,
    ShortenerSettings,
    make_shortener,
    short_url_problem,
)

KEY = "s3cret-key-42"
PAGE = "https://example.github.io/news-mirror/pages/world/2026-11/a1b2c3d4e5.md"
OTHER = "https://example.github.io/news-mirror/pages/world/2026-11/f6e7d8c9b0.md"

# ----------------------------------------------------------------- fake servers


class FakeShortener:
    """The state all fakes share: long URL -> code, and what each request carried."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.codes: dict[str, str] = {}
        self.seen: list[dict[str, str]] = []

    def code(self, long_url: str) -> tuple[str, bool]:
        existed = long_url in self.codes
        if not existed:
            self.codes[long_url] = f"c{len(self.codes) + 1}"
        return self.codes[long_url], existed

    def short(self, long_url: str) -> str:
        return f"https://{self.host}/{self.code(long_url)[0]}"


def valid_target(url: object) -> bool:
    """What the fakes accept: http(s) URLs, except on a host they pretend is blocklisted."""
    return str(url).startswith("http") and "blocked.example" not in str(url)


def json_response(
    body: object, status: int = 200, content_type: str = "application/json"
) -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def shlink_api(fake: FakeShortener) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        if request.headers.get("X-Api-Key") != KEY:
            return json_response(
                {
                    "type": "https://shlink.io/api/error/invalid-api-key",
                    "title": "Invalid API key",
                    "detail": "Provided API key does not exist or is invalid.",
                    "status": 401,
                },
                401,
                "application/problem+json",
            )
        body = request.get_json(force=True)
        fake.seen.append({k: str(v) for k, v in body.items()})
        if not valid_target(body.get("longUrl")):
            return json_response(
                {"title": "Invalid data", "detail": "Provided data is not valid", "status": 400},
                400,
                "application/problem+json",
            )
        assert body.get("findIfExists") is True
        host = body.get("domain") or fake.host
        code, _ = fake.code(body["longUrl"])
        return json_response(
            {"shortCode": code, "shortUrl": f"https://{host}/{code}", "longUrl": body["longUrl"]}
        )

    return handle


def yourls_api(fake: FakeShortener) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        form = request.values
        fake.seen.append(dict(form))
        authorised = form.get("signature") == KEY or (
            form.get("username") == "editor" and form.get("password") == KEY
        )
        if not authorised:
            return json_response(
                {"errorCode": 403, "message": "Please log in", "callback": ""}, 403
            )
        assert form.get("action") == "shorturl" and form.get("format") == "json"
        url = form.get("url", "")
        if not valid_target(url):
            return json_response(
                {
                    "status": "fail",
                    "code": "error:nourl",
                    "message": "Missing or malformed URL",
                    "errorCode": "400",
                    "statusCode": 400,
                },
                400,
            )
        code, existed = fake.code(url)
        short = f"https://{fake.host}/{code}"
        if existed:
            return json_response(
                {
                    "status": "fail",
                    "code": "error:url",
                    "url": {"keyword": code, "url": url},
                    "message": f"{url} already exists in database",
                    "shorturl": short,
                    "statusCode": 200,
                }
            )
        return json_response(
            {
                "status": "success",
                "url": {"keyword": code, "url": url},
                "message": f"{url} added to database",
                "shorturl": short,
                "statusCode": 200,
            }
        )

    return handle


def kutt_api(fake: FakeShortener) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        if request.headers.get("X-API-KEY") != KEY:
            return json_response({"error": "API key is not correct."}, 401)
        body = request.get_json(force=True)
        fake.seen.append({k: str(v) for k, v in body.items()})
        if not valid_target(body.get("target")):
            return json_response({"error": "Target is invalid."}, 400)
        host = body.get("domain") or fake.host
        code, _ = fake.code(body["target"])
        return json_response(
            {
                "id": "0b5c",
                "address": code,
                "link": f"https://{host}/{code}",
                "target": body["target"],
            },
            201,
        )

    return handle


def isgd_api(fake: FakeShortener) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        fake.seen.append(dict(request.args))
        assert request.args.get("format") == "json"
        url = request.args.get("url", "")
        if not valid_target(url):
            return json_response(
                {"errorcode": 1, "errormessage": "Please specify a valid URL to shorten."}
            )
        return json_response({"shorturl": fake.short(url)})

    return handle


PROVIDERS = {
    # provider: (path the API lives at, fake, settings)
    "shlink": ("/rest/v3/short-urls", shlink_api, {"api_key": KEY}),
    "yourls": ("/yourls-api.php", yourls_api, {"api_key": KEY}),
    "kutt": ("/api/v2/links", kutt_api, {"api_key": KEY}),
    "isgd": ("/create.php", isgd_api, {}),
}


@pytest.fixture
def fake() -> FakeShortener:
    return FakeShortener("s.test")


def serve(
    httpserver: HTTPServer, provider: str, fake: FakeShortener, **overrides: object
) -> ShortenerSettings:
    path, api, extra = PROVIDERS[provider]
    httpserver.expect_request(path).respond_with_handler(api(fake))
    fields = {"provider": provider, "api_url": httpserver.url_for("/"), "timeout": 2.0, **extra}
    fields.update(overrides)
    return ShortenerSettings(**fields)  # type: ignore[arg-type]


def failing(
    httpserver: HTTPServer, provider: str, response: Response, **overrides: object
) -> ShortenerSettings:
    path, _, extra = PROVIDERS[provider]
    httpserver.expect_request(path).respond_with_response(response)
    fields = {"provider": provider, "api_url": httpserver.url_for("/"), "timeout": 2.0, **extra}
    fields.update(overrides)
    return ShortenerSettings(**fields)  # type: ignore[arg-type]


def error_of(settings: ShortenerSettings, url: str = PAGE) -> ShortenError:
    with pytest.raises(ShortenError) as caught:
        make_shortener(settings).shorten(url)
    message = str(caught.value)
    assert "\n" not in message and settings.provider in message and url in message
    assert KEY not in message
    return caught.value


# ----------------------------------------------------------------- success


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_shortens_and_finds_existing(
    provider: str, httpserver: HTTPServer, fake: FakeShortener
) -> None:
    shortener = make_shortener(serve(httpserver, provider, fake))
    first = shortener.shorten(PAGE)
    assert first == "https://s.test/c1"
    assert shortener.shorten(OTHER) == "https://s.test/c2"
    # Asking again gives the same short URL (YOURLS answers "already exists").
    assert shortener.shorten(PAGE) == first
    assert len(httpserver.log) == 3
    assert all(request.remote_addr == "127.0.0.1" for request, _ in httpserver.log)


def test_shlink_sends_json_key_and_domain(httpserver: HTTPServer, fake: FakeShortener) -> None:
    settings = serve(httpserver, "shlink", fake, domain="go.example.org")
    assert make_shortener(settings).shorten(PAGE) == "https://go.example.org/c1"
    request = httpserver.log[0][0]
    assert request.method == "POST" and request.headers["X-Api-Key"] == KEY
    assert request.get_json() == {"longUrl": PAGE, "findIfExists": True, "domain": "go.example.org"}


def test_kutt_sends_target_key_and_domain(httpserver: HTTPServer, fake: FakeShortener) -> None:
    settings = serve(httpserver, "kutt", fake, domain="k.example.org")
    assert make_shortener(settings).shorten(PAGE) == "https://k.example.org/c1"
    request = httpserver.log[0][0]
    assert request.method == "POST" and request.headers["X-API-KEY"] == KEY
    assert request.get_json() == {"target": PAGE, "reuse": True, "domain": "k.example.org"}


def test_yourls_signature_is_posted_not_in_the_url(
    httpserver: HTTPServer, fake: FakeShortener
) -> None:
    make_shortener(serve(httpserver, "yourls", fake)).shorten(PAGE)
    request = httpserver.log[0][0]
    assert request.method == "POST" and KEY not in request.full_path
    assert fake.seen[0] == {"action": "shorturl", "url": PAGE, "format": "json", "signature": KEY}


def test_yourls_username_and_password(httpserver: HTTPServer, fake: FakeShortener) -> None:
    settings = serve(httpserver, "yourls", fake, api_key="", username="editor", password=KEY)
    assert make_shortener(settings).shorten(PAGE) == "https://s.test/c1"
    wrong = replace(settings, password="guess")
    assert "HTTP 403: Please log in" in str(error_of(wrong))


def test_isgd_query_and_url_encoding(httpserver: HTTPServer, fake: FakeShortener) -> None:
    url = "https://example.org/a b?x=1&y=ü#frag"
    assert make_shortener(serve(httpserver, "isgd", fake)).shorten(url) == "https://s.test/c1"
    assert fake.seen == [{"format": "json", "url": url}]


@pytest.mark.parametrize(
    ("provider", "suffix"),
    [
        ("isgd", "create.php"),
        ("yourls", "yourls-api.php"),
        ("shlink", "rest/v3/short-urls/"),
        ("kutt", "api/v2/links"),
    ],
)
def test_api_url_may_be_the_full_endpoint(
    provider: str, suffix: str, httpserver: HTTPServer, fake: FakeShortener
) -> None:
    settings = serve(httpserver, provider, fake, api_url=httpserver.url_for("/" + suffix))
    assert make_shortener(settings).shorten(PAGE) == "https://s.test/c1"


def test_compressed_answer(httpserver: HTTPServer) -> None:
    body = gzip.compress(json.dumps({"shorturl": "https://s.test/gz"}).encode())
    httpserver.expect_request("/create.php").respond_with_response(
        Response(body, 200, headers={"Content-Encoding": "gzip"}, content_type="application/json")
    )
    settings = ShortenerSettings(provider="isgd", api_url=httpserver.url_for("/"))
    assert make_shortener(settings).shorten(PAGE) == "https://s.test/gz"


def test_given_session_is_used(httpserver: HTTPServer, fake: FakeShortener) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "mirror-test/1"
    make_shortener(serve(httpserver, "isgd", fake), session).shorten(PAGE)
    assert httpserver.log[0][0].headers["User-Agent"] == "mirror-test/1"


def test_none_provider_returns_the_url_unchanged() -> None:
    shortener = make_shortener(ShortenerSettings())
    assert isinstance(shortener, NoShortener)
    assert shortener.shorten(PAGE) == PAGE
    cache: dict[str, str] = {}
    assert CachedShortener(shortener, cache).shorten(PAGE) == PAGE
    assert cache == {}


# ----------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("shlink", "HTTP 401: Provided API key does not exist or is invalid."),
        ("yourls", "HTTP 403: Please log in"),
        ("kutt", "HTTP 401: API key is not correct."),
    ],
)
def test_wrong_api_key_is_reported_with_the_servers_words(
    provider: str, expected: str, httpserver: HTTPServer, fake: FakeShortener
) -> None:
    settings = serve(httpserver, provider, fake, api_key="wrong-key")
    assert str(error_of(settings)).endswith(expected)
    assert fake.codes == {}


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("shlink", "HTTP 400: Provided data is not valid"),
        ("yourls", "HTTP 400: Missing or malformed URL"),
        ("kutt", "HTTP 400: Target is invalid."),
        ("isgd", "error 1: Please specify a valid URL to shorten."),
    ],
)
def test_rejected_url_4xx_json_error(
    provider: str, expected: str, httpserver: HTTPServer, fake: FakeShortener
) -> None:
    settings = serve(httpserver, provider, fake)
    error = error_of(settings, "https://blocked.example/spam")
    assert str(error).endswith(expected)
    assert fake.codes == {}


def test_client_refuses_non_http_urls_without_a_request(
    httpserver: HTTPServer, fake: FakeShortener
) -> None:
    shortener = make_shortener(serve(httpserver, "shlink", fake))
    for bad in ["javascript:alert(1)", "ftp://example.org/x", "//example.org/x", ""]:
        with pytest.raises(ShortenError, match="not an http"):
            shortener.shorten(bad)
    assert httpserver.log == []


def test_isgd_error_with_http_400(httpserver: HTTPServer) -> None:
    answer = json_response({"errorcode": 3, "errormessage": "Rate limit exceeded"}, 400)
    assert str(error_of(failing(httpserver, "isgd", answer))).endswith(
        "error 3: Rate limit exceeded"
    )


def test_key_echoed_by_the_server_is_redacted(httpserver: HTTPServer) -> None:
    answer = json_response({"error": f"key {KEY} is disabled, " + "x" * 1000}, 403)
    reason = error_of(failing(httpserver, "kutt", answer)).reason  # error_of checks KEY is absent
    assert reason.startswith("HTTP 403: key *** is disabled, xxx") and len(reason) < 250


def test_yourls_fail_status_without_short_url(httpserver: HTTPServer) -> None:
    answer = json_response(
        {
            "status": "fail",
            "code": "error:db",
            "message": "Error saving url to database",
            "statusCode": 200,
        }
    )
    assert str(error_of(failing(httpserver, "yourls", answer))).endswith(
        ": Error saving url to database"
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_error_500(provider: str, httpserver: HTTPServer) -> None:
    answer = Response(
        "<html><body><h1>Internal Server Error</h1></body></html>", 500, content_type="text/html"
    )
    reason = error_of(failing(httpserver, provider, answer)).reason
    assert reason == "HTTP 500: <html><body><h1>Internal Server Error</h1></body></html>"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_garbage_json(provider: str, httpserver: HTTPServer) -> None:
    answer = Response(
        '{"shortUrl": "https://s.test/x", "link": ', 200, content_type="application/json"
    )
    assert error_of(failing(httpserver, provider, answer)).reason.startswith("not JSON: {")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_json_without_a_short_url(provider: str, httpserver: HTTPServer) -> None:
    answer = json_response(["https://s.test/x"])
    assert error_of(failing(httpserver, provider, answer)).reason == "no short URL in the answer"


HOSTILE = [
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    'https://s.test/x" onmouseover="alert(1)',
    "https://s.test/x y",
    "https://s.test/x\nSet-Cookie: a=b",
    "https://s.test/x)<img src=x>",
    "https://user:pw@s.test/x",
    "https:///nohost",
    "https://s.test/\u202egnp.exe",
    "//s.test/x",
    "",
]


@pytest.mark.parametrize("short", HOSTILE)
def test_hostile_short_urls_are_refused(short: str, httpserver: HTTPServer) -> None:
    answer = json_response(
        {"shortUrl": short, "shorturl": short, "link": short, "status": "success"}
    )
    for provider in PROVIDERS:
        httpserver.clear()
        error = error_of(failing(httpserver, provider, answer))
        assert error.reason.startswith("the answer ")
    assert short_url_problem(short) is not None


def test_non_string_short_url(httpserver: HTTPServer) -> None:
    answer = json_response({"shortUrl": {"href": "https://s.test/x"}})
    assert "not a string but dict" in error_of(failing(httpserver, "shlink", answer)).reason


def test_safe_short_urls_pass() -> None:
    for good in ["https://s.test/c1", "http://s.test:8080/Ab_3-x~y?z=1#f", "HTTPS://S.TEST/x"]:
        assert short_url_problem(good) is None, good


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout(provider: str, silent_server: str) -> None:
    extra = PROVIDERS[provider][2]
    settings = ShortenerSettings(provider=provider, api_url=silent_server, timeout=0.2, **extra)
    start = time.monotonic()
    assert error_of(settings).reason == "no answer within 0.2 s"
    assert time.monotonic() - start < 1.5


def test_slow_drip_answer_hits_the_overall_deadline(httpserver: HTTPServer) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(20):
            time.sleep(0.05)
            yield b" "

    httpserver.expect_request("/create.php").respond_with_response(
        Response(drip(), 200, content_type="application/json")
    )
    settings = ShortenerSettings(provider="isgd", api_url=httpserver.url_for("/"), timeout=0.3)
    start = time.monotonic()
    assert error_of(settings).reason == "no answer within 0.3 s"
    assert time.monotonic() - start < 0.9


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ShortenerSettings(provider="kutt", api_url=f"http://127.0.0.1:{port}", api_key=KEY)
    assert error_of(settings).reason.startswith("request failed: ")


def test_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    elsewhere = httpserver.url_for("/elsewhere")
    httpserver.expect_request("/elsewhere").respond_with_json({"shortUrl": "https://evil.test/x"})
    settings = failing(httpserver, "shlink", Response("", 301, headers={"Location": elsewhere}))
    reason = error_of(settings).reason
    assert reason.startswith("HTTP 301 redirect to") and "set api_url" in reason
    assert [request.path for request, _ in httpserver.log] == ["/rest/v3/short-urls"]


def test_oversized_answer(httpserver: HTTPServer) -> None:
    answer = json_response({"shorturl": "https://s.test/x", "padding": "x" * 400_000})
    assert "answer larger than" in error_of(failing(httpserver, "isgd", answer)).reason


def test_deeply_nested_json(httpserver: HTTPServer) -> None:
    answer = Response("[" * 100_000 + "]" * 100_000, 200, content_type="application/json")
    assert error_of(failing(httpserver, "isgd", answer)).reason.startswith("not JSON")


def test_invalid_settings_are_named() -> None:
    with pytest.raises(ValueError, match="provider"):
        make_shortener(ShortenerSettings(provider="bitly"))
    with pytest.raises(ValueError, match="api_url"):
        make_shortener(ShortenerSettings(provider="shlink", api_key=KEY))
    with pytest.raises(ValueError, match="api_url"):
        make_shortener(
            ShortenerSettings(provider="kutt", api_url="file:///etc/passwd", api_key=KEY)
        )
    with pytest.raises(ValueError, match="YOURLS"):
        make_shortener(ShortenerSettings(provider="yourls", api_url="https://y.example"))
    with pytest.raises(ValueError, match="timeout"):
        make_shortener(ShortenerSettings(provider="isgd", timeout=0))
    assert make_shortener(ShortenerSettings(provider="isgd")).api_url == "https://is.gd/create.php"  # type: ignore[attr-defined]


# ----------------------------------------------------------------- cache and breaker


def test_cache_hit_makes_no_request(httpserver: HTTPServer, fake: FakeShortener) -> None:
    cache = {PAGE: "https://s.test/cached"}
    shortener = CachedShortener(make_shortener(serve(httpserver, "shlink", fake)), cache)
    assert shortener.shorten(PAGE) == "https://s.test/cached"
    assert httpserver.log == []
    assert shortener.shorten(OTHER) == "https://s.test/c1"
    assert cache == {PAGE: "https://s.test/cached", OTHER: "https://s.test/c1"}
    assert shortener.shorten(OTHER) == "https://s.test/c1"
    assert len(httpserver.log) == 1


def test_tampered_cache_entry_is_replaced(httpserver: HTTPServer, fake: FakeShortener) -> None:
    cache = {PAGE: "javascript:alert(1)"}
    shortener = CachedShortener(make_shortener(serve(httpserver, "kutt", fake)), cache)
    assert shortener.shorten(PAGE) == "https://s.test/c1"
    assert cache == {PAGE: "https://s.test/c1"}


def test_breaker_stops_calling_a_dead_provider(silent_server: str) -> None:
    settings = ShortenerSettings(provider="shlink", api_url=silent_server, api_key=KEY, timeout=0.2)
    shortener = CachedShortener(make_shortener(settings), {}, max_failures=3)
    start = time.monotonic()
    reasons = []
    for i in range(20):
        with pytest.raises(ShortenError) as caught:
            shortener.shorten(f"{PAGE}?n={i}")
        reasons.append(caught.value.reason)
    # Three timeouts, then immediate refusals: 20 articles cost ~0.6 s, not 4 s.
    assert time.monotonic() - start < 1.8
    assert reasons[:3] == ["no answer within 0.2 s"] * 3
    assert reasons[3] == "not called after 3 failures in a row (last: no answer within 0.2 s)"
    assert not shortener.available and shortener.provider == "shlink"


def test_breaker_counts_only_consecutive_failures(httpserver: HTTPServer) -> None:
    answers = iter([500, 500, 200, 500, 500, 200, 500, 500, 500, 200])

    def flaky(request: Request) -> Response:
        status = next(answers)
        if status == 200:
            return json_response({"shorturl": f"https://s.test/{len(httpserver.log)}"})
        return Response("down", status)

    httpserver.expect_request("/create.php").respond_with_handler(flaky)
    shortener = CachedShortener(
        make_shortener(ShortenerSettings(provider="isgd", api_url=httpserver.url_for("/"))),
        {},
        max_failures=3,
    )
    outcomes = []
    for i in range(10):
        try:
            shortener.shorten(f"{PAGE}?n={i}")
            outcomes.append("ok")
        except ShortenError:
            outcomes.append("fail")
    assert outcomes == ["fail", "fail", "ok", "fail", "fail", "ok", "fail", "fail", "fail", "fail"]
    assert len(httpserver.log) == 9  # the tenth call never reached the server
    # Cached short URLs still work after the breaker trips.
    assert shortener.shorten(f"{PAGE}?n=2") == "https://s.test/2"
