"""URL policy: which schemes, hosts and addresses the fetcher may reach."""

from __future__ import annotations

import socket

import pytest

from mirror.model import FetchSettings
from mirror.netpolicy import RefusedURL, UnresolvableHost, check_url

DEFAULT = FetchSettings()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://ftp.example/x", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("gopher://127.0.0.1:25/", "only http and https"),
        ("/relative/path", "relative URL"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "malformed"),
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://localhost:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:192.168.1.1]/", "private"),
        ("http://[2002:c0a8:0101::]/", "private"),  # 6to4 of 192.168.1.1
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of 169.254.169.254
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://224.0.0.251/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "not globally routable"),
    ],
)
def test_refused(url: str, words: str) -> None:
    with pytest.raises(RefusedURL) as caught:
        check_url(url, DEFAULT)
    message = str(caught.value)
    assert words in message
    assert message.startswith(url.split("#")[0]) or message.startswith(url)
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/",
        "https://1.1.1.1:8443/x?y#z",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
    ],
)
def test_public_addresses_pass(url: str) -> None:
    check_url(url, DEFAULT)


def test_allow_private_and_allow_hosts() -> None:
    check_url("http://127.0.0.1:8000/", FetchSettings(allow_private=True))
    check_url("http://192.168.1.10/", FetchSettings(allow_hosts=("192.168.1.10",)))
    check_url("http://LocalHost:8000/", FetchSettings(allow_hosts=("localhost",)))
    check_url("http://[::1]/", FetchSettings(allow_hosts=("[::1]",)))
    with pytest.raises(RefusedURL):
        check_url("http://127.0.0.2/", FetchSettings(allow_hosts=("127.0.0.1",)))
    with pytest.raises(RefusedURL, match="user name"):
        check_url("http://a:b@127.0.0.1/", FetchSettings(allow_private=True))
    with pytest.raises(RefusedURL, match="only http"):
        check_url("file:///etc/passwd", FetchSettings(allow_private=True))


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def two_addresses(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    with pytest.raises(
        RefusedURL, match=r"news\.example resolves to 10\.9\.8\.7, a private address"
    ):
        check_url("https://news.example/a", DEFAULT)


def test_unresolvable_host_is_its_own_refusal() -> None:
    with pytest.raises(UnresolvableHost, match="cannot resolve"):
        check_url("http://no-such-host.invalid/", DEFAULT)
