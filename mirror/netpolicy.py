"""Which URLs the fetcher may reach: http(s) only, no credentials, no private or local addresses."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from mirror.model import FetchSettings

__all__ = ["RefusedURL", "UnresolvableHost", "check_url", "check_address", "address_refusal"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in this order, so an address gets its most telling name.
_REFUSED_KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedURL(ValueError):
    """A URL the fetcher will not request; the message says why."""


class UnresolvableHost(RefusedURL):
    """The host name does not resolve (perhaps only for now): nothing to check, nothing to fetch."""


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    # IPv6 forms that carry an IPv4 address reach that IPv4 host.
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` must not be contacted (e.g. "a loopback address"), or None if it is public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = address_refusal(embedded)
        return f"{reason} ({embedded}) in IPv6 form" if reason else None
    for flag, phrase in _REFUSED_KINDS:
        if getattr(address, flag):
            return phrase
    if not address.is_global:  # shared (CGNAT), documentation and other special ranges
        return "an address that is not globally routable"
    return None


def _allowed(name: str, settings: FetchSettings) -> bool:
    name = name.lower().strip("[]")
    return any(name == host.lower().strip("[]") for host in settings.allow_hosts)


def check_address(ip: str, settings: FetchSettings, host: str = "") -> None:
    """Refuse a resolved address that policy forbids; `host` names it in the message."""
    if settings.allow_private or _allowed(ip.split("%", 1)[0], settings):
        return
    if host and _allowed(host, settings):
        return
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError as err:
        raise RefusedURL(f"{host or ip}: not an IP address: {ip}") from err
    reason = address_refusal(address)
    if reason:
        shown = f"{host} resolves to {address}," if host and host != ip else f"{address} is"
        raise RefusedURL(
            f"{shown} {reason}: refused "
            "(set allow_private, or list the host in allow_hosts, to allow it)"
        )


def check_url(url: str, settings: FetchSettings) -> None:
    """Raise RefusedURL unless `url` is http(s), has no credentials and every address of its host is public.

    IP literals in any notation (decimal, octal, bracketed IPv6) are judged by
    what the system resolver makes of them, since that is what a connection
    would use.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise RefusedURL(f"{url}: malformed URL ({err})") from err
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedURL(
            f"{url}: only http and https URLs are fetched, not {scheme or 'a relative URL'}"
        )
    if parts.username is not None or parts.password is not None:
        raise RefusedURL(f"{url}: URLs with a user name or password are refused")
    host = parts.hostname
    if not host:
        raise RefusedURL(f"{url}: no host name")
    if settings.allow_private or _allowed(host, settings):
        return
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as err:
        raise UnresolvableHost(f"{url}: cannot resolve host {host} ({err})") from err
    if not infos:
        raise UnresolvableHost(f"{url}: host {host} has no address")
    for info in infos:
        try:
            check_address(str(info[4][0]), settings, host)
        except RefusedURL as err:
            raise RefusedURL(f"{url}: {err}") from None
