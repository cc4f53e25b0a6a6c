"""Which links we fetch: http(s) only, no credentials, and hosts with public addresses only.

No yt-dlp here: the web process checks pasted links with this before anything is queued, and
the socket guard (guard.py) asks ``is_public_address`` again for every connection yt-dlp makes.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import urllib.parse

from .messages import (
    MSG_CREDENTIALS,
    MSG_HOST_NOT_FOUND,
    MSG_NOT_A_LINK,
    MSG_PRIVATE,
    MSG_SCHEME,
    SourceError,
)

logger = logging.getLogger(__name__)

_SCHEMELESS = re.compile(r"^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """Syntax only, no network: a canonical http(s) URL or SourceError.

    Canonical means lower-case scheme and host (IDNA), no default port, no fragment, at least
    "/" as path. The fragment also matters for safety: yt-dlp reads "#__youtubedl_smuggle=" data
    (extra headers, forced extractors) from it, which users must not be able to send.
    """
    if not isinstance(url, str):
        raise SourceError(MSG_NOT_A_LINK)
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise SourceError(MSG_NOT_A_LINK)
    if text.startswith("//"):
        text = "https:" + text
    elif _SCHEMELESS.match(text):
        # People paste "youtube.com/watch?v=..." without a scheme.
        text = "https://" + text
    elif not _HAS_SCHEME.match(text):
        raise SourceError(MSG_NOT_A_LINK)
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SourceError(MSG_NOT_A_LINK) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise SourceError(MSG_SCHEME)
    if parts.username is not None or parts.password is not None:
        raise SourceError(MSG_CREDENTIALS)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise SourceError(MSG_NOT_A_LINK)
    if ":" in host:  # an IPv6 literal; urlsplit already took the brackets off
        try:
            ip = ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError as exc:
            raise SourceError(MSG_NOT_A_LINK) from exc
        netloc_host = f"[{ip.compressed}]"
    else:
        try:
            netloc_host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise SourceError(MSG_NOT_A_LINK) from exc
        if not re.fullmatch(r"[a-z0-9._-]+", netloc_host):
            raise SourceError(MSG_NOT_A_LINK)
    default_port = 443 if scheme == "https" else 80
    netloc = netloc_host if port in (None, default_port) else f"{netloc_host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an http(s) link we could fetch, by its syntax alone (no DNS)."""
    try:
        normalise_url(url)
    except SourceError:
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where it is a translation of one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in ipaddress.IPv6Network("64:ff9b::/96") or ip in ipaddress.IPv6Network("::/96"):
        # NAT64 and the deprecated IPv4-compatible form both end in the IPv4 address.
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses; False for anything we cannot parse.

    The tests replace this one function to call a second loopback address "public", which is the
    only way to have a redirect hop that is allowed followed by one that is not, without internet.
    Callers therefore look it up on this module at call time (``policy.is_public_address``).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if ip.teredo is not None:
            return False
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    ):
        return False
    # is_global also excludes 100.64.0.0/10 (carrier-grade NAT), which is_private does not.
    return ip.is_global


def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool) -> str:
    """Normalise ``url`` and refuse what we must not fetch; returns the normalised URL.

    With ``allow_private`` False, the host must resolve, and every address it resolves to must be
    public (one private address is enough to refuse: we cannot choose which one yt-dlp will use).
    With ``allow_private`` True (development, tests) the host is not resolved here at all.
    """
    normalised = normalise_url(url)
    if allow_private:
        return normalised
    parts = urllib.parse.urlsplit(normalised)
    host = parts.hostname or ""
    try:
        addresses = _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError, OSError) as exc:
        logger.info("check_url: cannot resolve %r: %s", host, exc)
        raise SourceError(MSG_HOST_NOT_FOUND.format(host=host)) from exc
    if not addresses:
        raise SourceError(MSG_HOST_NOT_FOUND.format(host=host))
    if not all(is_public_address(a) for a in addresses):
        logger.warning("check_url: refused %r, it resolves to %s", host, addresses)
        raise SourceError(MSG_PRIVATE)
    return normalised
