"""The yt-dlp adapter: URL safety, flat inspection and single-video download.

This is the only module that imports ``yt_dlp``. It knows nothing about Django: every limit is a
parameter, so the services pass values from settings and tests pass small ones.

Security model (users paste arbitrary links, and the worker runs inside our network):

* ``check_url`` refuses anything but http(s) links whose host resolves only to public addresses.
* That is not enough on its own: a public page can redirect to ``http://127.0.0.1/``, and a host
  name can resolve to a public address for our check and to a private one a second later (DNS
  rebinding). So every socket yt-dlp opens goes through ``_guarded_socket_connect``, which looks at
  the address actually being connected to, at connect time, on every hop. See ``_GuardedUrllibRH``
  for why the hook sits where it does.
* yt-dlp never hands a stream to ffmpeg or another external program (they would open their own
  connections, outside the guard): formats are limited to plain HTTP(S) and DASH, and ``dl`` refuses
  any other downloader.
* Users' text never becomes a file name (yt-dlp writes ``video.<ext>`` in a private work directory)
  and never reaches a shell (ffprobe gets an argument list with our own path).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import ipaddress
import json
import logging
import math
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.dash import DashSegmentsFD
from yt_dlp.downloader.http import HttpFD
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking import _helper as ytdlp_net_helper
from yt_dlp.networking import _urllib as ytdlp_urllib
from yt_dlp.networking.exceptions import HTTPError as YtDlpHTTPError
from yt_dlp.utils import GeoRestrictedError, YoutubeDLError, unsmuggle_url

logger = logging.getLogger(__name__)

# -- messages --------------------------------------------------------------------------------
# Shown to users as they are, so: plain words, no jargon, no exception text.

MSG_NOT_A_LINK = "That address is not a web link."
MSG_SCHEME = "Only http:// and https:// links are supported."
MSG_CREDENTIALS = "Links with a user name or password in them are not supported."
MSG_PRIVATE = "That link points to a private or local network address, which is not allowed."
MSG_NO_VIDEO = "This page has no video we can read."
MSG_NO_FORMAT = "This link has no video stream we can download (it may be audio only)."
MSG_NOT_VIDEO = "The downloaded file is not a video we can read."
MSG_EMPTY = "The site sent an empty file instead of a video."
MSG_AUDIO_ONLY = "This link is audio only; there is no picture to take frames from."
MSG_PLAYLIST_FOR_DOWNLOAD = "That link is a playlist, not a single video."
MSG_EMPTY_PLAYLIST = "This playlist has no videos we can read."
MSG_LIVE = "Live streams cannot be imported; try again after the broadcast has ended."
MSG_UPCOMING = "This video has not been published yet."
MSG_STREAMING_ONLY = "This video is only offered in a streaming format we do not support."
MSG_NOT_FOUND = "The page or video was not found (HTTP {code})."
MSG_FORBIDDEN = "The site refused access to this video (HTTP {code})."
MSG_RATE_LIMITED = "The site is limiting requests right now; please try again later."
MSG_SERVER_ERROR = "The site had an error (HTTP {code}); please try again later."
MSG_HTTP = "The site answered with an error (HTTP {code})."
MSG_BAD_REDIRECT = "The site redirected to a link we cannot follow."
MSG_HOST_NOT_FOUND = "We could not find the website {host}."
MSG_HOST_NOT_FOUND_ANY = "We could not find that website."
MSG_TIMEOUT = "The site took too long to answer; please try again later."
MSG_CONNECTION = "We could not connect to the site."
MSG_TLS = "The site's secure connection could not be verified."
MSG_PRIVATE_VIDEO = "This video is private."
MSG_AGE = "This video is age-restricted and needs a signed-in account."
MSG_BOT = "The site asked us to prove we are not a robot; please try again later."
MSG_SIGN_IN = "This video needs a signed-in account."
MSG_GEO = "This video is not available in our region."
MSG_UNAVAILABLE = "This video is unavailable (it may have been removed)."
MSG_DRM = "This video is copy-protected (DRM) and cannot be downloaded."
MSG_GENERIC = "We could not read a video from this link."
MSG_DOWNLOAD_FAILED = "The download failed; please try again later."
MSG_TOO_LONG = "The video is longer than the {limit} limit."
MSG_TOO_BIG = "The video is larger than the {limit} limit."
MSG_TOO_MANY = "This playlist has {count} videos; the limit is {limit}."

# Extractors whose ids come from a URL's last path segment ("video" for .../video.mp4), so they
# collide across sites: their results are named by a hash of the URL instead.
_URL_HASHED_EXTRACTORS = frozenset({"generic", "html5mediaembed"})

# Containers we hand on to the frame extractor, as ffprobe names them. Also given to ffprobe as
# its format whitelist, so a "video" that is really an HLS playlist cannot make it fetch URLs.
_FFPROBE_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,flv,avi,mpegts,mpeg,ogg"
_VIDEO_EXTS = frozenset(
    {"mp4", "m4v", "mov", "3gp", "3g2", "webm", "mkv", "flv", "avi", "ts", "mpg", "mpeg", "ogv", "ogg"}
)
# Ogg is left out on purpose: it carries Theora video as often as Vorbis audio.
_AUDIO_EXTS = frozenset({"m4a", "mp3", "aac", "opus", "oga", "wav", "flac", "weba", "wma"})
_FINAL_NAME = re.compile(r"video\.[a-z0-9]{1,5}")
_PROGRESS_STEP = 0.01  # report at most every whole per cent...
_PROGRESS_UNKNOWN_EVERY_S = 1.0  # ...or once a second when the size is unknown


class SourceError(Exception):
    """Message is for users, plain words: 'That address is not a web link.',
    'This page has no video we can read.', 'The video is longer than the 3 h limit.' ..."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else MSG_GENERIC


@dataclass(frozen=True)
class Entry:
    provider: str  # extractor key lowercased: 'youtube', 'generic', ...
    provider_id: str
    url: str  # URL to download this one video later
    title: str
    duration: float | None  # seconds


@dataclass(frozen=True)
class Source:
    kind: str  # 'video' or 'playlist'
    provider: str
    provider_id: str
    url: str  # canonical webpage URL
    title: str
    duration: float | None
    entries: tuple[Entry, ...]  # for a video: exactly one entry (itself)


@dataclass(frozen=True)
class Download:
    path: Path
    provider: str
    provider_id: str
    url: str
    title: str
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    filesize: int


# -- URL checks ------------------------------------------------------------------------------

_SCHEMELESS = re.compile(r"^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _normalise_url(url: str) -> str:
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


def _is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses; False for anything we cannot parse.

    The tests replace this one function to call a second loopback address "public", which is the
    only way to have a redirect hop that is allowed followed by one that is not, without internet.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not _is_public_address(str(embedded)):
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
    normalised = _normalise_url(url)
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
    if not all(_is_public_address(a) for a in addresses):
        logger.warning("check_url: refused %r, it resolves to %s", host, addresses)
        raise SourceError(MSG_PRIVATE)
    return normalised


# -- connection-time guard -------------------------------------------------------------------


class _BlockedAddressError(OSError):
    """Raised instead of connecting to a non-public address. An OSError, so that yt-dlp's own
    address loop (create_connection) treats it like any failed address and tries the next one."""


def _guarded_socket_connect(
    ip_addr: tuple[Any, ...], timeout: float | object, source_address: tuple[str, int] | None
) -> socket.socket:
    address = str(ip_addr[4][0])
    if not _is_public_address(address):
        logger.warning("Refused a connection to non-public address %s", address)
        raise _BlockedAddressError(f"refused to connect to non-public address {address}")
    return ytdlp_net_helper._socket_connect(ip_addr, timeout, source_address)


def _guarded_http_connection(
    http_class: type[http.client.HTTPConnection],
    source_address: str | None,
    *args: Any,
    **kwargs: Any,
) -> http.client.HTTPConnection:
    # Same as yt_dlp.networking._urllib._create_http_connection, with our socket factory.
    conn = http_class(*args, **kwargs)
    conn._create_connection = functools.partial(  # type: ignore[attr-defined]
        ytdlp_net_helper.create_connection, _create_socket_func=_guarded_socket_connect
    )
    if source_address is not None:
        conn.source_address = (source_address, 0)
    return conn


class _GuardedHTTPHandler(ytdlp_urllib.HTTPHandler):
    """yt-dlp's urllib HTTP handler, opening sockets through ``_guarded_socket_connect``.

    It never builds yt-dlp's SOCKS connection classes (those connect on their own): proxies are
    refused before a request gets here, see ``_GuardedUrllibRH._SUPPORTED_PROXY_SCHEMES``.
    """

    def __init__(self, *args: Any, guard: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = guard

    def _factory(
        self, conn_class: type[http.client.HTTPConnection]
    ) -> Callable[..., http.client.HTTPConnection]:
        if self._guard:
            return functools.partial(_guarded_http_connection, conn_class, self._source_address)
        return functools.partial(ytdlp_urllib._create_http_connection, conn_class, self._source_address)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._factory(http.client.HTTPConnection), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._factory(http.client.HTTPSConnection), req, context=self._context)


class _GuardedUrllibRH(ytdlp_urllib.UrllibRH):
    """The only request handler our YoutubeDL uses.

    Why here: yt-dlp sends every request through its RequestDirector, and picks the handler per
    request (requests/urllib3, urllib, websockets, curl_cffi when installed). Each follows
    redirects internally and opens sockets its own way, so a URL check in ``urlopen`` would miss
    redirect hops, and patching module globals (urllib3's or yt-dlp's ``create_connection``)
    would change every other HTTP client in the worker process. Instead ``_GuardedYoutubeDL``
    builds its director with this one handler: yt-dlp's urllib handler with (1) sockets opened by
    ``_guarded_socket_connect``, which checks the address actually connected to, on every hop,
    after DNS (so redirects and DNS rebinding are both covered); (2) no FTP and no file handlers,
    so a redirect cannot switch to a protocol that bypasses the guard; (3) no proxies, because
    through a proxy the guard would only ever see the proxy's address. The cost is speed (no
    keep-alive, which urllib does not do) and websocket-only sites, which we do not need.
    """

    _SUPPORTED_URL_SCHEMES = ("http", "https", "data")
    _SUPPORTED_PROXY_SCHEMES = ()

    def __init__(self, *, allow_private: bool = False, **kwargs: Any) -> None:
        kwargs.pop("enable_file_urls", None)
        super().__init__(**kwargs)
        self._allow_private = allow_private

    def _create_instance(
        self, proxies: dict[str, str | None], cookiejar: Any, legacy_ssl_support: bool | None = None
    ) -> urllib.request.OpenerDirector:
        # Mirrors yt_dlp.networking._urllib.UrllibRH._create_instance (2026.8.19) without the
        # FTP and file handlers and with the guarded HTTP handler.
        opener = urllib.request.OpenerDirector()
        handlers: list[urllib.request.BaseHandler] = [
            ytdlp_urllib.ProxyHandler(proxies),
            _GuardedHTTPHandler(
                debuglevel=int(bool(self.verbose)),
                context=self._make_sslcontext(legacy_ssl_support=legacy_ssl_support),
                source_address=self.source_address,
                guard=not self._allow_private,
            ),
            urllib.request.HTTPCookieProcessor(cookiejar),
            urllib.request.DataHandler(),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
            ytdlp_urllib.RedirectHandler(),
        ]
        for handler in handlers:
            opener.add_handler(handler)
        opener.addheaders = []
        return opener


class _Refusal(Exception):
    """Raised from inside yt-dlp (hooks, ``dl``) to stop it; never an OSError, so yt-dlp's
    download code, which retries or wraps OSErrors, lets it through unchanged."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _GuardedYoutubeDL(yt_dlp.YoutubeDL):
    def __init__(self, params: dict[str, Any], *, allow_private: bool) -> None:
        self._allow_private = allow_private
        super().__init__(params)

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        handler = functools.partial(_GuardedUrllibRH, allow_private=self._allow_private)
        return super().build_request_director([handler], preferences)

    def dl(self, name: str, info: dict[str, Any], subtitle: bool = False, test: bool = False) -> Any:
        # The format string already asks for HTTP(S)/DASH formats only; this makes sure no other
        # downloader (ffmpeg, aria2c, rtmpdump: programs with their own sockets) ever runs.
        downloader = get_suitable_downloader(dict(info), self.params, to_stdout=(name == "-"))
        if downloader not in (HttpFD, DashSegmentsFD):
            logger.warning(
                "Refused downloader %s for %s", getattr(downloader, "__name__", downloader), info.get("url")
            )
            raise _Refusal(MSG_STREAMING_ONLY)
        return super().dl(name, info, subtitle=subtitle, test=test)


class _YtDlpLogger:
    """yt-dlp's output goes to our log, never to stdout/stderr."""

    def __init__(self) -> None:
        self.too_big = False

    def debug(self, msg: str) -> None:
        if "larger than max-filesize" in msg:
            # yt-dlp's own size check only prints this and returns; remember why it stopped.
            self.too_big = True
        logger.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        logger.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        logger.info("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        # The exception that follows is logged (and turned into a SourceError) by our caller.
        logger.debug("yt-dlp error: %s", msg)


# -- options ---------------------------------------------------------------------------------


@functools.cache
def deno_path() -> str | None:
    """The deno binary of the ``deno`` PyPI package (yt-dlp's JavaScript runtime for YouTube)."""
    try:
        # Imported here: optional, and only its binary's path is needed.
        import deno

        return str(Path(deno.find_deno_bin()).resolve())
    except (ImportError, FileNotFoundError, OSError):
        found = shutil.which("deno")
        if found is None:
            logger.warning("No deno binary found: YouTube downloads may fail (JS challenges unsolved)")
        return found


def format_spec(max_height: int, max_filesize: int | None = None) -> str:
    """One video stream, no taller than ``max_height``, H.264 in mp4 first; HTTP(S)/DASH only.

    ``<=?`` lets formats of unknown height or size through (direct links rarely say). A smaller
    stream that fits ``max_filesize`` beats a refusal; the last alternative has no size filter, so
    a video with nothing small enough is still selected and then refused with a clear message.
    The protocol filter keeps out HLS and RTMP, whose downloaders may hand over to ffmpeg (see the
    module docstring).
    """
    h = int(max_height)
    size = f"[filesize<=?{int(max_filesize)}][filesize_approx<=?{int(max_filesize)}]" if max_filesize else ""
    http = "[protocol^=http]"
    return "/".join(
        (
            f"bv[height<=?{h}][vcodec^=avc1][ext=mp4]{size}{http}",
            f"bv[height<=?{h}]{size}{http}",
            f"b[height<=?{h}]{size}{http}",
            f"b{http}",
        )
    )


def build_options(
    *,
    dest_dir: Path | None,
    max_height: int,
    max_filesize: int | None,
    cookies_file: str | None,
    socket_timeout: float,
    progress_hooks: list | None = None,
    flat: bool = False,
) -> dict:
    """The yt-dlp params for one call (see YoutubeDL's docstring for each key)."""
    runtime = deno_path()
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "logger": _YtDlpLogger(),
        # One video per download; a "watch?v=X&list=Y" link is the video X in inspect too, which
        # keeps inspect consistent with quick_match. Playlists have their own links.
        "noplaylist": True,
        "ignoreerrors": False,
        "format": format_spec(max_height, max_filesize),
        "restrictfilenames": True,
        "windowsfilenames": True,
        "outtmpl": {"default": "video.%(ext)s"},
        # yt-dlp's fixups run ffmpeg on the result; the frame extractor reads files as they come.
        "fixup": "never",
        "overwrites": True,
        "continuedl": False,
        "writethumbnail": False,
        "writesubtitles": False,
        "writeinfojson": False,
        "socket_timeout": socket_timeout,
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "file_access_retries": 1,
        # yt-dlp's cache lives in ~/.cache by default; workers must not write outside temp dirs.
        "cachedir": False,
        # "" means no proxy, also none from the environment: the connect-time guard must see the
        # real destination, not a proxy (our request handler refuses proxies anyway).
        "proxy": "",
        # YouTube: the JS challenge solver runs in deno, with the solver scripts of the installed
        # yt-dlp-ejs package. No remote components: nothing is fetched from npm or GitHub.
        "js_runtimes": {"deno": {"path": runtime} if runtime else {}},
        "remote_components": [],
        "progress_hooks": list(progress_hooks or []),
    }
    if dest_dir is not None:
        options["paths"] = {"home": str(dest_dir), "temp": str(dest_dir)}
    if max_filesize is not None:
        options["max_filesize"] = int(max_filesize)
    if cookies_file:
        options["cookiefile"] = str(cookies_file)
    if flat:
        options["extract_flat"] = "in_playlist"
    return options


# -- ids -------------------------------------------------------------------------------------


def _url_hash(url: str) -> str:
    try:
        canonical = _normalise_url(url)
    except SourceError:
        canonical = url.strip()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _offline_match(url: str) -> tuple[type, str | None] | None:
    """The first non-generic extractor (in yt-dlp's own order) claiming ``url``, and its id."""
    for ie in gen_extractor_classes():
        if ie.ie_key() == "Generic":
            return None
        if ie.suitable(url):
            return ie, ie.get_temp_id(url)
    return None


def quick_match(url: str) -> tuple[str, str] | None:
    """(provider, provider_id) from the URL alone, without network, for single-video links of a
    specific extractor, e.g. ('youtube', 'dQw4w9WgXcQ'); None for playlists and generic links."""
    try:
        normalised = _normalise_url(url)
    except SourceError:
        return None
    match = _offline_match(normalised)
    if match is None:
        return None
    ie, video_id = match
    provider = ie.ie_key().lower()
    if not video_id or provider in _URL_HASHED_EXTRACTORS or ie.is_single_video(normalised) is not True:
        return None
    return provider, str(video_id)


def _identity(info: dict[str, Any], requested_url: str) -> tuple[str, str, str]:
    """(provider, provider_id, url) of an extracted video, computed as inspect does for entries."""
    provider = str(info.get("extractor_key") or info.get("ie_key") or "generic").lower()
    if provider in _URL_HASHED_EXTRACTORS or not info.get("id"):
        return "generic", _url_hash(requested_url), requested_url
    return provider, str(info["id"]), str(info.get("webpage_url") or requested_url)


def _entry_from(raw: dict[str, Any], parent_provider: str) -> Entry:
    url = raw.get("url") or raw.get("webpage_url") or ""
    url = unsmuggle_url(url)[0] if isinstance(url, str) else ""
    # An unusable URL is kept as found; download() will refuse it with a readable message.
    with contextlib.suppress(SourceError):
        url = _normalise_url(url)
    if raw.get("_type") in ("url", "url_transparent"):
        provider = str(raw.get("ie_key") or "").lower()
        video_id = raw.get("id")
        if not provider or not video_id:
            match = _offline_match(url)
            if match is not None:
                provider, video_id = match[0].ie_key().lower(), match[1]
            else:
                provider, video_id = "generic", None
    else:
        provider = str(raw.get("extractor_key") or raw.get("ie_key") or parent_provider).lower()
        video_id = raw.get("id")
    if provider in _URL_HASHED_EXTRACTORS or not video_id:
        provider, video_id = "generic", _url_hash(url)
    title = str(raw.get("title") or raw.get("id") or "Untitled video").strip()
    return Entry(provider, str(video_id), url, title, _seconds(raw.get("duration")))


def _seconds(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


# -- error mapping ---------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: yt-dlp keeps causes in exc_info, .cause, .reason."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        exc_info = getattr(item, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            stack.append(exc_info[1])
        stack.extend(
            (getattr(item, "cause", None), getattr(item, "reason", None), item.__cause__, item.__context__)
        )


_TEXT_RULES: tuple[tuple[str, str], ...] = (
    ("unsupported url", MSG_NO_VIDEO),
    ("did not get any data blocks", MSG_EMPTY),
    ("no video could be found", MSG_NO_VIDEO),
    ("no video formats found", MSG_NO_FORMAT),
    ("requested format is not available", MSG_NO_FORMAT),
    ("drm protected", MSG_DRM),
    ("private video", MSG_PRIVATE_VIDEO),
    ("video is private", MSG_PRIVATE_VIDEO),
    ("confirm your age", MSG_AGE),
    ("age-restricted", MSG_AGE),
    ("age restricted", MSG_AGE),
    ("not a bot", MSG_BOT),
    ("sign in", MSG_SIGN_IN),
    ("login required", MSG_SIGN_IN),
    ("members-only", MSG_SIGN_IN),
    ("use --cookies", MSG_SIGN_IN),
    ("not available in your country", MSG_GEO),
    ("from your location", MSG_GEO),
    ("geo restrict", MSG_GEO),
    ("live event will begin", MSG_UPCOMING),
    ("premieres in", MSG_UPCOMING),
    ("video unavailable", MSG_UNAVAILABLE),
    ("video is unavailable", MSG_UNAVAILABLE),
    ("has been removed", MSG_UNAVAILABLE),
    ("has been terminated", MSG_UNAVAILABLE),
    ("timed out", MSG_TIMEOUT),
    ("name or service not known", MSG_HOST_NOT_FOUND_ANY),
    ("nodename nor servname", MSG_HOST_NOT_FOUND_ANY),
    ("temporary failure in name resolution", MSG_HOST_NOT_FOUND_ANY),
    ("no address associated", MSG_HOST_NOT_FOUND_ANY),
    ("getaddrinfo failed", MSG_HOST_NOT_FOUND_ANY),
    ("connection refused", MSG_CONNECTION),
    ("certificate verify failed", MSG_TLS),
)


def _http_message(code: int) -> str:
    if code in (404, 410):
        return MSG_NOT_FOUND.format(code=code)
    if code in (401, 403, 451):
        return MSG_FORBIDDEN.format(code=code)
    if code == 429:
        return MSG_RATE_LIMITED
    if code >= 500:
        return MSG_SERVER_ERROR.format(code=code)
    if 300 <= code < 400:
        # urllib refuses redirects to other schemes (file:, ftp: ...) and too many hops this way.
        return MSG_BAD_REDIRECT
    return MSG_HTTP.format(code=code)


def readable_error(exc: BaseException) -> str:
    """A user message for an exception out of yt-dlp (or our own guard)."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, _Refusal):
            return item.message
        if isinstance(item, SourceError):
            return item.message
    for item in chain:
        if isinstance(item, _BlockedAddressError):
            return MSG_PRIVATE
    for item in chain:
        if isinstance(item, YtDlpHTTPError):
            return _http_message(item.status)
        if isinstance(item, urllib.error.HTTPError):
            return _http_message(item.code)
        if isinstance(item, GeoRestrictedError):
            return MSG_GEO
        if isinstance(item, socket.gaierror):
            return MSG_HOST_NOT_FOUND_ANY
        if isinstance(item, TimeoutError):
            return MSG_TIMEOUT
        if isinstance(item, ssl.SSLCertVerificationError):
            return MSG_TLS
        if isinstance(item, ConnectionRefusedError):
            return MSG_CONNECTION
    text = " ".join(str(item) for item in chain).lower()
    for needle, message in _TEXT_RULES:
        if needle in text:
            return message
    if any(isinstance(item, (ConnectionError, ssl.SSLError)) for item in chain):
        return MSG_CONNECTION
    return MSG_GENERIC


def _source_error(exc: BaseException, url: str, action: str) -> SourceError:
    message = readable_error(exc)
    if message == MSG_GENERIC:
        # Not a case we recognise: keep the whole story for whoever improves the mapping.
        logger.warning("yt-dlp %s failed for %s: %s", action, url, exc, exc_info=exc)
    else:
        logger.info("yt-dlp %s failed for %s (%s): %s", action, url, message, exc)
        logger.debug("yt-dlp %s traceback", action, exc_info=exc)
    return SourceError(message)


# -- limits and formatting -------------------------------------------------------------------


def _format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and not rest:
        return f"{hours} h"
    if hours:
        return f"{hours} h {minutes} min" if not secs else f"{hours} h {minutes} min {secs} s"
    if minutes and not secs:
        return f"{minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _format_size(size: int) -> str:
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _check_limits(info: dict[str, Any], *, max_duration: float, max_filesize: int) -> None:
    """Refuse, before any media byte is fetched, what the metadata already says is too much."""
    live_status = info.get("live_status")
    if info.get("is_live") or live_status in ("is_live", "post_live"):
        raise SourceError(MSG_LIVE)
    if live_status == "is_upcoming":
        raise SourceError(MSG_UPCOMING)
    duration = _seconds(info.get("duration"))
    if duration is not None and duration > max_duration:
        raise SourceError(MSG_TOO_LONG.format(limit=_format_duration(max_duration)))
    if info.get("vcodec") == "none" or str(info.get("ext") or "").lower() in _AUDIO_EXTS:
        raise SourceError(MSG_AUDIO_ONLY)
    size = info.get("filesize") or info.get("filesize_approx")
    if isinstance(size, (int, float)) and size > max_filesize:
        raise SourceError(MSG_TOO_BIG.format(limit=_format_size(max_filesize)))


# -- probing the result ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None


def _looks_like_video_container(path: Path) -> bool:
    """Magic bytes of the containers in _FFPROBE_FORMATS (HTML, JSON, playlists are refused)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"):
        return True
    if head.startswith((b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"\x00\x00\x01\xba")):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return True
    return len(head) > 188 and head[0] == 0x47 and head[188] == 0x47  # MPEG-TS sync bytes


def _fraction(text: Any) -> float | None:
    try:
        num, _, den = str(text).partition("/")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def ffprobe_path() -> str | None:
    return shutil.which("ffprobe")


def _probe(path: Path) -> _Probe | None:
    """Width, height, fps and duration of the first real video stream; None without ffprobe.

    SourceError when ffprobe finds no video stream or cannot read the file. Cover art in audio
    files is a "video" stream too, hence the attached_pic filter.
    """
    ffprobe = ffprobe_path()
    if ffprobe is None:
        # No ffmpeg in the production image by design: jobs.frames.probe checks every download.
        logger.debug("ffprobe not found: cannot verify %s; the frame extractor must", path.name)
        return None
    args = [
        ffprobe, "-v", "error",
        "-protocol_whitelist", "file",
        "-format_whitelist", _FFPROBE_FORMATS,
        "-show_entries",
        "stream=codec_type,width,height,avg_frame_rate,r_frame_rate,duration:"
        "stream_disposition=attached_pic:format=duration,format_name",
        "-of", "json",
        str(path),
    ]  # fmt: skip
    try:
        done = subprocess.run(args, capture_output=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("ffprobe failed on %s: %s", path, exc)
        raise SourceError(MSG_NOT_VIDEO) from exc
    if done.returncode != 0:
        logger.info("ffprobe rejected %s: %s", path, done.stderr.decode("utf-8", "replace")[:500])
        raise SourceError(MSG_NOT_VIDEO)
    try:
        data = json.loads(done.stdout or b"{}")
    except ValueError as exc:
        raise SourceError(MSG_NOT_VIDEO) from exc
    streams = [
        s
        for s in data.get("streams", [])
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not streams:
        has_audio = any(s.get("codec_type") == "audio" for s in data.get("streams", []))
        raise SourceError(MSG_AUDIO_ONLY if has_audio else MSG_NOT_VIDEO)
    video = streams[0]
    duration = _seconds(video.get("duration")) or _seconds((data.get("format") or {}).get("duration"))
    return _Probe(
        duration=duration,
        width=int(video["width"]) if video.get("width") else None,
        height=int(video["height"]) if video.get("height") else None,
        fps=_fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate")),
    )


# -- progress --------------------------------------------------------------------------------


class _ProgressHook:
    """Turns yt-dlp progress dicts into progress(fraction, message) calls, throttled to whole
    per cents (the caller writes them to the database), and enforces the size limit while bytes
    arrive: yt-dlp's own max_filesize only looks at Content-Length."""

    def __init__(self, progress: Callable[[float | None, str], None] | None, max_filesize: int) -> None:
        self._progress = progress
        self._max = max_filesize
        self._last_fraction = 0.0  # download() has already said "starting" at 0
        self._last_time = 0.0

    def __call__(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        done = d.get("downloaded_bytes") or 0
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        if status == "downloading":
            if done > self._max or (d.get("total_bytes") or 0) > self._max:
                raise _Refusal(MSG_TOO_BIG.format(limit=_format_size(self._max)))
            if total:
                fraction = max(0.0, min(1.0, done / total))
                if fraction - self._last_fraction >= _PROGRESS_STEP:
                    self._last_fraction = fraction
                    self._emit(fraction, f"Downloading {int(fraction * 100)}%")
            elif time.monotonic() - self._last_time >= _PROGRESS_UNKNOWN_EVERY_S:
                self._last_time = time.monotonic()
                self._emit(None, f"Downloading ({_format_size(done)} so far)")
        elif status == "finished":
            self._emit(1.0, "Download finished")

    def _emit(self, fraction: float | None, message: str) -> None:
        if self._progress is not None:
            self._progress(fraction, message)


# -- public API ------------------------------------------------------------------------------


def _private_cookies(cookies_file: str | None, workdir: Path) -> str | None:
    """A private copy of the cookies file: yt-dlp writes cookies back when it closes, and several
    workers sharing (and rewriting) one file would corrupt it."""
    if not cookies_file:
        return None
    target = workdir / "cookies.txt"
    shutil.copyfile(cookies_file, target)
    return str(target)


def inspect(
    url: str,
    *,
    allow_private: bool,
    max_entries: int,
    cookies_file: str | None = None,
    socket_timeout: float = 20,
) -> Source:
    """What ``url`` is: one video or a playlist (entries listed flat). No media is downloaded.

    A playlist with more than ``max_entries`` entries is refused, never silently cut.
    """
    checked = check_url(url, allow_private=allow_private)
    with tempfile.TemporaryDirectory(prefix="inspire-ytdlp-") as tmp:
        params = build_options(
            dest_dir=None,
            max_height=10_000,
            max_filesize=None,
            cookies_file=_private_cookies(cookies_file, Path(tmp)),
            socket_timeout=socket_timeout,
            flat=True,
        )
        # One more than allowed, to tell "exactly the limit" from "over it" without listing
        # a whole channel.
        params["playlistend"] = max_entries + 1
        # Any downloadable format will do here: inspect only lists. best* (audio too) is last so
        # that an audio-only link is recognised below and gets its own message.
        params["format"] = "bv*[protocol^=http]/best*[protocol^=http]"
        try:
            with _GuardedYoutubeDL(params, allow_private=allow_private) as ydl:
                info = ydl.extract_info(checked, download=False)
        except _Refusal as exc:
            raise SourceError(exc.message) from exc
        except YoutubeDLError as exc:
            raise _source_error(exc, checked, "inspect") from exc
    if not isinstance(info, dict):
        raise SourceError(MSG_NO_VIDEO)

    if info.get("_type") in ("playlist", "multi_video"):
        parent = str(info.get("extractor_key") or "generic").lower()
        raw_entries = [e for e in (info.get("entries") or []) if isinstance(e, dict)]
        if len(raw_entries) > max_entries:
            count = info.get("playlist_count")
            shown = (
                str(count) if isinstance(count, int) and count > max_entries else f"more than {max_entries}"
            )
            raise SourceError(MSG_TOO_MANY.format(count=shown, limit=max_entries))
        if not raw_entries:
            raise SourceError(MSG_EMPTY_PLAYLIST)
        entries = tuple(_entry_from(e, parent) for e in raw_entries)
        provider, provider_id, page_url = _identity(info, checked)
        return Source(
            kind="playlist",
            provider=provider,
            provider_id=provider_id,
            url=page_url,
            title=str(info.get("title") or "Untitled playlist").strip(),
            duration=None,
            entries=entries,
        )

    if info.get("is_live") or info.get("live_status") in ("is_live", "post_live"):
        raise SourceError(MSG_LIVE)
    if info.get("vcodec") == "none":
        raise SourceError(MSG_AUDIO_ONLY)
    provider, provider_id, page_url = _identity(info, checked)
    title = str(info.get("title") or "Untitled video").strip()
    duration = _seconds(info.get("duration"))
    entry = Entry(provider, provider_id, page_url, title, duration)
    return Source("video", provider, provider_id, page_url, title, duration, (entry,))


def download(
    url: str,
    *,
    dest_dir: Path,
    max_height: int = 720,
    max_filesize: int,
    max_duration: float,
    allow_private: bool,
    cookies_file: str | None = None,
    socket_timeout: float = 20,
    progress: Callable[[float | None, str], None] | None = None,
) -> Download:
    """Download one video stream of ``url`` into ``dest_dir`` as ``video.<ext>``.

    Limits are checked on the metadata before the download, on the bytes during it, and on the
    file after it (ffprobe, when installed, also checks that it really is a video and reads its
    size, frame rate and duration). On any failure nothing of ours is left in ``dest_dir``.
    """
    checked = check_url(url, allow_private=allow_private)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    # yt-dlp works in a private directory inside dest_dir (same filesystem, so the final move is
    # a rename); removing it afterwards removes every .part/.ytdl/fragment file it made.
    workdir = Path(tempfile.mkdtemp(prefix=".ytdlp-", dir=dest_dir))
    try:
        hook = _ProgressHook(progress, max_filesize)
        params = build_options(
            dest_dir=workdir,
            max_height=max_height,
            max_filesize=max_filesize,
            cookies_file=_private_cookies(cookies_file, workdir),
            socket_timeout=socket_timeout,
            progress_hooks=[hook],
            flat=True,  # if the link turns out to be a playlist, list it cheaply, then refuse
        )
        ytdlp_logger: _YtDlpLogger = params["logger"]
        try:
            with _GuardedYoutubeDL(params, allow_private=allow_private) as ydl:
                raw = ydl.extract_info(checked, download=False, process=False)
                if isinstance(raw, dict) and raw.get("_type") in ("playlist", "multi_video"):
                    raise SourceError(MSG_PLAYLIST_FOR_DOWNLOAD)
                info = ydl.process_ie_result(raw, download=False)
                if not isinstance(info, dict) or info.get("_type") in ("playlist", "multi_video"):
                    raise SourceError(MSG_PLAYLIST_FOR_DOWNLOAD)
                _check_limits(info, max_duration=max_duration, max_filesize=max_filesize)
                if progress is not None:
                    progress(0.0, "Download starting")
                # The path --load-info-json takes: format selection again (same result, no
                # network), then the download itself.
                info = ydl.process_ie_result(info, download=True)
        except SourceError:
            raise
        except _Refusal as exc:
            logger.info("download of %s stopped: %s", checked, exc.message)
            raise SourceError(exc.message) from exc
        except YoutubeDLError as exc:
            raise _source_error(exc, checked, "download") from exc

        # Exactly "video.<ext>": not "video.mp4.part", "video.mp4.ytdl" or fragment leftovers.
        produced = [p for p in workdir.iterdir() if p.is_file() and _FINAL_NAME.fullmatch(p.name)]
        if not produced:
            if ytdlp_logger.too_big:
                raise SourceError(MSG_TOO_BIG.format(limit=_format_size(max_filesize)))
            logger.warning("yt-dlp reported success for %s but wrote no file", checked)
            raise SourceError(MSG_DOWNLOAD_FAILED)
        result = produced[0]
        size = result.stat().st_size
        if size == 0:
            raise SourceError(MSG_EMPTY)
        if size > max_filesize:
            raise SourceError(MSG_TOO_BIG.format(limit=_format_size(max_filesize)))
        ext = result.suffix.lstrip(".").lower()
        if ext in _AUDIO_EXTS:
            raise SourceError(MSG_AUDIO_ONLY)
        if ext not in _VIDEO_EXTS or not _looks_like_video_container(result):
            logger.info("download of %s produced a %r file that is not a video container", checked, ext)
            raise SourceError(MSG_NOT_VIDEO)
        probe = _probe(result)
        duration = probe.duration if probe and probe.duration else _seconds(info.get("duration"))
        if duration is not None and duration > max_duration:
            raise SourceError(MSG_TOO_LONG.format(limit=_format_duration(max_duration)))

        final = dest_dir / f"video.{ext}"
        os.replace(result, final)
        provider, provider_id, page_url = _identity(info, checked)
        width = probe.width if probe else info.get("width")
        height = probe.height if probe else info.get("height")
        fps = probe.fps if probe else _seconds(info.get("fps"))
        return Download(
            path=final,
            provider=provider,
            provider_id=provider_id,
            url=page_url,
            title=str(info.get("title") or "Untitled video").strip(),
            duration=duration,
            width=int(width) if width else None,
            height=int(height) if height else None,
            fps=fps,
            filesize=size,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
