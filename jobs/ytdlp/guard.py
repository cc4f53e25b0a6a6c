"""The socket guard: every connection yt-dlp opens goes to a public address, checked at connect time.

``policy.check_url`` is not enough on its own: a public page can redirect to
``http://127.0.0.1/``, and a host name can resolve to a public address for our check and to a
private one a second later (DNS rebinding). So every socket yt-dlp opens goes through
``_guarded_socket_connect``, which looks at the address actually being connected to, on every
hop. See ``_GuardedUrllibRH`` for why the hook sits where it does.

yt-dlp never hands a stream to ffmpeg or another external program either (they would open their
own connections, outside the guard): ``GuardedYoutubeDL.dl`` refuses any downloader but plain
HTTP(S) and DASH.

This is the only module that touches yt-dlp's private code. Each private name is looked up by
``_lookup`` (an import error naming what moved, rather than an AttributeError deep in a
download), and ``private_api_problems`` checks the signatures we call; the test suite runs it,
so an upgrade of yt-dlp that moves any of them fails loudly before it reaches a worker.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import importlib
import inspect
import logging
import socket
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import yt_dlp

from . import policy
from .messages import MSG_STREAMING_ONLY, BlockedAddressError, Refusal

logger = logging.getLogger(__name__)

_MOVED = (
    "yt-dlp {version} no longer has {path}, which jobs/ytdlp/guard.py relies on to check the "
    "address of every connection; adapt the guard before upgrading yt-dlp"
)


def _lookup(path: str) -> Any:
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
            for name in parts[cut:]:
                target = getattr(target, name)
        except (ImportError, AttributeError):
            continue
        return target
    raise ImportError(_MOVED.format(version=yt_dlp.version.__version__, path=path))


# The private names and the parameters of theirs we use (checked by private_api_problems).
PRIVATE_API: dict[str, tuple[str, ...]] = {
    "yt_dlp.networking._helper._socket_connect": ("ip_addr", "timeout", "source_address"),
    "yt_dlp.networking._helper.create_connection": ("address", "_create_socket_func"),
    "yt_dlp.networking._urllib._create_http_connection": ("http_class", "source_address"),
    "yt_dlp.networking._urllib.HTTPHandler": ("context", "source_address"),
    "yt_dlp.networking._urllib.UrllibRH": (),
    "yt_dlp.networking._urllib.ProxyHandler": (),
    "yt_dlp.networking._urllib.RedirectHandler": (),
    "yt_dlp.downloader.get_suitable_downloader": ("info_dict", "params", "to_stdout"),
    "yt_dlp.downloader.http.HttpFD": (),
    "yt_dlp.downloader.dash.DashSegmentsFD": (),
    "yt_dlp.extractor.common.UnsupportedURLIE": (),
    "yt_dlp.utils.orderedSet_from_options": ("options", "alias_dict", "use_regex"),
}
# Methods we override or call, on the classes above and on YoutubeDL.
PRIVATE_METHODS: dict[str, tuple[str, ...]] = {
    "yt_dlp.networking._urllib.UrllibRH._create_instance": ("proxies", "cookiejar", "legacy_ssl_support"),
    "yt_dlp.networking._urllib.UrllibRH._make_sslcontext": ("legacy_ssl_support",),
    "yt_dlp.networking._urllib.HTTPHandler.do_open": (),
    "yt_dlp.YoutubeDL.build_request_director": ("handlers", "preferences"),
    "yt_dlp.YoutubeDL.dl": ("name", "info", "subtitle", "test"),
    "yt_dlp.YoutubeDL.add_default_info_extractors": (),
    "yt_dlp.YoutubeDL.add_info_extractor": ("ie",),
}

_helper_socket_connect = _lookup("yt_dlp.networking._helper._socket_connect")
_helper_create_connection = _lookup("yt_dlp.networking._helper.create_connection")
_HTTPHandler = _lookup("yt_dlp.networking._urllib.HTTPHandler")
_UrllibRH = _lookup("yt_dlp.networking._urllib.UrllibRH")
_ProxyHandler = _lookup("yt_dlp.networking._urllib.ProxyHandler")
_RedirectHandler = _lookup("yt_dlp.networking._urllib.RedirectHandler")
_get_suitable_downloader = _lookup("yt_dlp.downloader.get_suitable_downloader")
_HttpFD = _lookup("yt_dlp.downloader.http.HttpFD")
_DashSegmentsFD = _lookup("yt_dlp.downloader.dash.DashSegmentsFD")
_UnsupportedURLIE = _lookup("yt_dlp.extractor.common.UnsupportedURLIE")
_ordered_set_from_options = _lookup("yt_dlp.utils.orderedSet_from_options")


def private_api_problems() -> list[str]:
    """What moved in yt-dlp's private code we rely on: names gone, or parameters renamed."""
    problems = []
    for path, params in {**PRIVATE_API, **PRIVATE_METHODS}.items():
        try:
            target = _lookup(path)
        except ImportError as exc:
            problems.append(str(exc))
            continue
        try:
            found = inspect.signature(target).parameters
        except (TypeError, ValueError):
            found = {}
        missing = [p for p in params if p not in found]
        if missing:
            problems.append(
                f"yt-dlp {yt_dlp.version.__version__}: {path} no longer takes {', '.join(missing)} "
                "(jobs/ytdlp/guard.py calls it with them)"
            )
    return problems


# Told of every socket yt-dlp opens in this context (see `watch_sockets`).
_socket_watcher: contextvars.ContextVar[Callable[[socket.socket], None] | None] = contextvars.ContextVar(
    "socket_watcher", default=None
)


@contextlib.contextmanager
def watch_sockets(on_open: Callable[[socket.socket], None]) -> Iterator[None]:
    """Within this block, `on_open` gets the socket of every HTTP(S) connection yt-dlp opens (in
    this thread), so a watchdog can cut a download that keeps a connection alive with a trickle
    of bytes, which no socket timeout notices. `on_open` may raise an OSError to refuse it."""
    token = _socket_watcher.set(on_open)
    try:
        yield
    finally:
        _socket_watcher.reset(token)


def _guarded_socket_connect(
    ip_addr: tuple[Any, ...],
    timeout: float | object,
    source_address: tuple[str, int] | None,
    *,
    check: bool = True,
) -> socket.socket:
    address = str(ip_addr[4][0])
    if check and not policy.is_public_address(address):
        logger.warning("Refused a connection to non-public address %s", address)
        raise BlockedAddressError(f"refused to connect to non-public address {address}")
    return _helper_socket_connect(ip_addr, timeout, source_address)


def _guarded_http_connection(
    http_class: type[http.client.HTTPConnection],
    source_address: str | None,
    *args: Any,
    check: bool = True,
    **kwargs: Any,
) -> http.client.HTTPConnection:
    # Same as yt_dlp.networking._urllib._create_http_connection, with our socket factory.
    conn = http_class(*args, **kwargs)
    conn._create_connection = functools.partial(  # type: ignore[attr-defined]
        _helper_create_connection, _create_socket_func=functools.partial(_guarded_socket_connect, check=check)
    )
    watcher = _socket_watcher.get()
    if watcher is not None:
        connect = conn.connect

        def watched_connect() -> None:
            # After connect(), `conn.sock` is the socket reads go through (the TLS one for
            # https: wrapping detaches the plain socket, which could no longer be shut).
            connect()
            try:
                watcher(conn.sock)
            except OSError:
                conn.close()
                raise

        conn.connect = watched_connect  # type: ignore[method-assign]
    if source_address is not None:
        conn.source_address = (source_address, 0)
    return conn


class _GuardedHTTPHandler(_HTTPHandler):
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
        # Our socket factory either way: without the guard (INSPIRE_ALLOW_PRIVATE_URLS, tests)
        # it checks no address but still tells `watch_sockets`.
        return functools.partial(
            _guarded_http_connection, conn_class, self._source_address, check=self._guard
        )

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._factory(http.client.HTTPConnection), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._factory(http.client.HTTPSConnection), req, context=self._context)


class _GuardedUrllibRH(_UrllibRH):
    """The only request handler our YoutubeDL uses.

    Why here: yt-dlp sends every request through its RequestDirector, and picks the handler per
    request (requests/urllib3, urllib, websockets, curl_cffi when installed). Each follows
    redirects internally and opens sockets its own way, so a URL check in ``urlopen`` would miss
    redirect hops, and patching module globals (urllib3's or yt-dlp's ``create_connection``)
    would change every other HTTP client in the worker process. Instead ``GuardedYoutubeDL``
    builds its director with this one handler: yt-dlp's urllib handler with (1) sockets opened by
    ``_guarded_socket_connect``, which checks the address actually connected to, on every hop,
    after DNS (so redirects and DNS rebinding are both covered); (2) no FTP and no file handlers,
    so a redirect cannot switch to a protocol that bypasses the guard; (3) no proxies, because
    through a proxy the guard would only ever see the proxy's address. The cost is speed (no
    keep-alive, which urllib does not do) and websocket-only sites, which we do not need.
    """

    _SUPPORTED_URL_SCHEMES = ("http", "https", "data")
    _SUPPORTED_PROXY_SCHEMES = ()

    def _make_sslcontext(self, legacy_ssl_support: bool | None = None) -> ssl.SSLContext:
        # yt-dlp loads the CA bundle into a new context for every YoutubeDL (0.18 s); a context
        # is immutable once made and shared safely, so one per set of options and process.
        legacy = legacy_ssl_support if legacy_ssl_support is not None else self.legacy_ssl_support
        key = (self.verify, bool(legacy), self.prefer_system_certs, tuple(sorted(self._client_cert.items())))
        context = _SSL_CONTEXTS.get(key)
        if context is None:
            context = _SSL_CONTEXTS[key] = super()._make_sslcontext(legacy_ssl_support=legacy_ssl_support)
        return context

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
            _ProxyHandler(proxies),
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
            _RedirectHandler(),
        ]
        for handler in handlers:
            opener.add_handler(handler)
        opener.addheaders = []
        return opener


class GuardedYoutubeDL(yt_dlp.YoutubeDL):
    """YoutubeDL whose requests all go through the guarded handler, and that runs no external
    downloader."""

    def __init__(self, params: dict[str, Any], *, allow_private: bool) -> None:
        self._allow_private = allow_private
        super().__init__(params)

    def add_default_info_extractors(self) -> None:
        # yt-dlp works out the default extractors' names with a regex match of each of 1,800
        # names on every set-up (0.5 s); the answer only changes with yt-dlp, so once a process.
        if self.params.get("allowed_extractors") is not None:
            super().add_default_info_extractors()
            return
        classes, names = _default_extractors()
        for name in names:
            self.add_info_extractor(_UnsupportedURLIE() if name == "end" else classes[name])

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        handler = functools.partial(_GuardedUrllibRH, allow_private=self._allow_private)
        return super().build_request_director([handler], preferences)

    def dl(self, name: str, info: dict[str, Any], subtitle: bool = False, test: bool = False) -> Any:
        # The format string already asks for HTTP(S)/DASH formats only; this makes sure no other
        # downloader (ffmpeg, aria2c, rtmpdump: programs with their own sockets) ever runs.
        downloader = _get_suitable_downloader(dict(info), self.params, to_stdout=(name == "-"))
        if downloader not in (_HttpFD, _DashSegmentsFD):
            logger.warning(
                "Refused downloader %s for %s", getattr(downloader, "__name__", downloader), info.get("url")
            )
            raise Refusal(MSG_STREAMING_ONLY)
        return super().dl(name, info, subtitle=subtitle, test=test)


_SSL_CONTEXTS: dict[tuple[Any, ...], ssl.SSLContext] = {}


@functools.cache
def _default_extractors() -> tuple[dict[str, Any], tuple[str, ...]]:
    """What ``YoutubeDL.add_default_info_extractors`` computes, once: the classes by name and
    the default names in order ('end' stands for an UnsupportedURLIE, made per YoutubeDL)."""
    classes = {ie.IE_NAME.lower(): ie for ie in yt_dlp.extractor.gen_extractor_classes()}
    every = {**classes, "end": _UnsupportedURLIE}
    default = [name for name, ie in every.items() if ie._ENABLED]
    names = _ordered_set_from_options(["default"], {"all": list(every), "default": default}, use_regex=True)
    return classes, tuple(names)


def guarded_connection(
    scheme: str, host: str, port: int, *, timeout: float, allow_private: bool
) -> http.client.HTTPConnection:
    """A keep-alive HTTP(S) connection whose every (re)connect goes through the same
    ``_guarded_socket_connect`` as yt-dlp's requests: the address is checked after DNS, each time
    a socket is opened. For the range reader (stream.py), which is not a yt-dlp request."""
    if scheme == "https":
        conn_class: type[http.client.HTTPConnection] = http.client.HTTPSConnection
        extra: dict[str, Any] = {"context": _tls_context()}
    else:
        conn_class, extra = http.client.HTTPConnection, {}
    # Without the guard (INSPIRE_ALLOW_PRIVATE_URLS, tests) no address is checked, as for yt-dlp.
    return _guarded_http_connection(
        conn_class, None, host, port, timeout=timeout, check=not allow_private, **extra
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # what yt-dlp verifies against when it is installed

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()
