"""A small local HTTP server for tests: real sockets, real HTTP, no internet.

The yt-dlp adapter, the pipeline, the browser and the deployment tests all need something to
download from. This serves files from a directory, answers Range requests the way downloaders
and browsers expect, and lets a test add redirects and generated pages. It listens on an
ephemeral port of a loopback address, in a daemon thread, and logs nothing.

    with MediaServer(tmp_path) as server:
        server.add_page("/list.html", html_playlist("Three", [server.url("a.mp4"), ...]))
        url = server.url("list.html")
"""

from __future__ import annotations

import errno
import html
import json
import logging
import mimetypes
import re
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

logger = logging.getLogger(__name__)

# mimetypes depends on the host's /etc/mime.types, which differs between a laptop and a slim
# container; the types downloaders and browsers look at are pinned here.
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".rss": "application/rss+xml",
    ".xml": "application/rss+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}

_CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type_for(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class _Redirect:
    location: str
    code: int


@dataclass(frozen=True)
class _Page:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class _File:
    path: Path
    content_type: str
    content_length: bool = True


# What a faulty server does with a file (MediaServer.add_fault).
FAULTS = ("drip", "cut", "reset", "length_short", "length_long")


@dataclass(frozen=True)
class _Fault:
    path: Path
    content_type: str
    kind: str
    drip_interval_s: float = 1.0


class MediaServer:
    """Serves ``root`` (and programmed routes) on ``http://<host>:<ephemeral port>/``."""

    def __init__(self, root: Path | None = None, *, host: str = "127.0.0.1") -> None:
        self.root = Path(root).resolve() if root is not None else None
        self.host = host
        self._routes: dict[str, _Redirect | _Page | _File | _Fault] = {}
        self._requests: list[tuple[str, str]] = []
        self._bytes: dict[str, int] = {}
        # Bytes per second for file bodies; lets a test catch a download in the middle.
        self.throttle_bps: float | None = None
        # False: files are sent whole, whatever Range asks (as some servers do), so clients that
        # read in place with range requests must download instead.
        self.ranges = True
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MediaServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"media_server": self})
        server_class = _QuietServer6 if ":" in self.host else _QuietServer
        httpd = server_class((self.host, 0), handler)
        # Daemon threads, so a test that forgets stop() cannot hang the interpreter at exit.
        httpd.daemon_threads = True
        self._httpd = httpd
        # A short poll interval makes stop() quick: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"MediaServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("MediaServer is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- programmable routes ---------------------------------------------------------------

    def add_redirect(self, path: str, location: str, code: int = 302) -> str:
        """Answer ``path`` with a redirect; returns the full URL of ``path``."""
        self._set_route(path, _Redirect(location, code))
        return self.url(path)

    def add_page(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self._set_route(path, _Page(data, content_type))
        return self.url(path)

    def add_file(
        self, path: str, file: Path, content_type: str | None = None, *, content_length: bool = True
    ) -> str:
        """Serve ``file`` at ``path``, e.g. an audio file under a video name.

        ``content_length=False`` sends the body without Content-Length (and without Range
        support), then closes the connection, as some servers and streams do: clients cannot
        know the size in advance.
        """
        route = _File(Path(file), content_type or content_type_for(Path(file)), content_length)
        self._set_route(path, route)
        return self.url(path)

    def add_fault(self, path: str, file: Path, kind: str, *, drip_interval_s: float = 1.0) -> str:
        """Serve ``file`` at ``path`` the wrong way, as broken or hostile servers do:

        - ``drip``: the whole file's Content-Length, then one byte every ``drip_interval_s``
          (never a silence long enough for a socket timeout);
        - ``cut``: the right Content-Length, half the body, then the connection closes;
        - ``reset``: the same, but the connection is reset (TCP RST) instead of closed;
        - ``length_short``: a Content-Length of half the file, then the whole body;
        - ``length_long``: a Content-Length larger than the file, the body, then a close.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        self._set_route(path, _Fault(Path(file), content_type_for(Path(file)), kind, drip_interval_s))
        return self.url(path)

    def _set_route(self, path: str, route: _Redirect | _Page | _File | _Fault) -> None:
        with self._lock:
            self._routes["/" + path.lstrip("/")] = route

    def _route(self, path: str) -> _Redirect | _Page | _File | _Fault | None:
        with self._lock:
            return self._routes.get(path)

    # -- what happened ---------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def bytes_served(self, path: str) -> int:
        """How many body bytes of the file at ``path`` were sent, over all requests."""
        with self._lock:
            return self._bytes.get(path if path.startswith("/") else "/" + path, 0)

    def _count(self, path: str, n: int) -> None:
        with self._lock:
            self._bytes[path] = self._bytes.get(path, 0) + n

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))

    def _file_for(self, path: str) -> Path | None:
        if self.root is None:
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        # Never serve outside root, whatever the request path says ("/../../etc/passwd").
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate


def second_loopback_server(root: Path) -> MediaServer | None:
    """A started server on 127.0.0.2 (another host than 127.0.0.1 to the client), or None where
    the machine has no such address (macOS has only 127.0.0.1 unless configured)."""
    try:
        return MediaServer(root, host="127.0.0.2").start()
    except OSError as exc:
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EINVAL):
            return None
        raise


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # socketserver prints tracebacks to stderr; clients hanging up are normal here, and
        # anything else goes to the log where a failing test can show it.
        logger.debug("MediaServer: error while serving %s", client_address, exc_info=True)


class _QuietServer6(_QuietServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    media_server: MediaServer
    protocol_version = "HTTP/1.1"
    server_version = "InspireTestServer/1.0"

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: pytest output is for failures, not access logs.
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path) or "/"
        self.media_server._record(self.command, path)
        try:
            route = self.media_server._route(path)
            if isinstance(route, _Redirect):
                self._send_bytes(
                    b"", "text/plain", head=head, status=route.code, extra={"Location": route.location}
                )
            elif isinstance(route, _Page):
                self._send_bytes(route.body, route.content_type, head=head)
            elif isinstance(route, _Fault):
                self._send_fault(route, path, head=head)
            elif isinstance(route, _File) and not route.content_length:
                self._send_unsized(route.path, route.content_type, head=head)
            elif isinstance(route, _File):
                self._send_file(route.path, route.content_type, head=head)
            elif (file := self.media_server._file_for(path)) is not None:
                self._send_file(file, content_type_for(file), head=head)
            else:
                self._send_bytes(b"Not found\n", "text/plain; charset=utf-8", head=head, status=404)
        except (BrokenPipeError, ConnectionResetError):
            # Downloaders hang up mid-body on purpose (size limits, cancelled jobs).
            self.close_connection = True

    def _send_bytes(
        self,
        body: bytes,
        content_type: str,
        *,
        head: bool,
        status: int = 200,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_file(self, file: Path, content_type: str, *, head: bool) -> None:
        size = file.stat().st_size
        start, end = 0, size - 1
        status = HTTPStatus.OK
        requested = self.headers.get("Range") if self.media_server.ranges else None
        match = _RANGE.match(requested.strip()) if requested else None
        # Anything but a single "bytes=a-b" range (several ranges, other units) gets the whole
        # file, which RFC 9110 allows and every client handles.
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            else:
                start, end = max(0, size - int(last)), size - 1
            if start >= size or start > end:
                self._send_bytes(
                    b"", "text/plain", head=head, status=416, extra={"Content-Range": f"bytes */{size}"}
                )
                return
            status = HTTPStatus.PARTIAL_CONTENT
        length = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes" if self.media_server.ranges else "none")
        self.send_header("Last-Modified", formatdate(file.stat().st_mtime, usegmt=True))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head or not length:
            return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with file.open("rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0:
                rate = self.media_server.throttle_bps
                chunk = fh.read(min(_CHUNK if rate is None else max(1024, int(rate / 10)), remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.media_server._count(path, len(chunk))
                remaining -= len(chunk)
                if rate is not None:
                    time.sleep(len(chunk) / rate)

    def _send_fault(self, fault: _Fault, path: str, *, head: bool) -> None:
        body = fault.path.read_bytes()
        declared = {"length_short": len(body) // 2, "length_long": len(body) * 2}.get(fault.kind, len(body))
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", fault.content_type)
        self.send_header("Content-Length", str(declared))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if head:
            return
        if fault.kind == "drip":
            # Bounded, so that no test leaves a server thread dripping for long.
            stop_at = time.monotonic() + 120
            for i in range(len(body)):
                if time.monotonic() > stop_at:
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                self.media_server._count(path, 1)
                time.sleep(fault.drip_interval_s)
            return
        sent = body[: len(body) // 2] if fault.kind in ("cut", "reset") else body
        self.wfile.write(sent)
        self.wfile.flush()
        self.media_server._count(path, len(sent))
        if fault.kind == "reset":
            time.sleep(0.2)  # let the client read what was sent before the reset
            # Linger on, timeout 0: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _send_unsized(self, file: Path, content_type: str, *, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if head:
            return
        with file.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                self.wfile.write(chunk)


def html_playlist(title: str, urls: list[str]) -> str:
    """An HTML page with one <video src> per URL: yt-dlp's generic extractor reads it as a playlist."""
    videos = "\n".join(
        f'    <figure><video controls src="{html.escape(u)}"></video>'
        f"<figcaption>Clip {i}</figcaption></figure>"
        for i, u in enumerate(urls, 1)
    )
    return (
        "<!doctype html>\n<html lang='en'>\n<head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n  <h1>{html.escape(title)}</h1>\n"
        f"{videos}\n</body>\n</html>\n"
    )


def html_page(title: str, body_html: str = "<p>Nothing to watch here.</p>") -> str:
    """A plain HTML page, e.g. one without any video."""
    return (
        "<!doctype html>\n<html lang='en'>\n<head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body_html}\n</body>\n</html>\n"
    )


def jsonld_video_page(
    title: str,
    video_url: str,
    *,
    duration_s: float | None = None,
    size_bytes: int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> str:
    """An HTML page describing one video with schema.org VideoObject JSON-LD, as many sites do.

    yt-dlp's generic extractor reads the duration and size from it, so limits can be checked
    before any video byte is fetched.
    """
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": title,
        "contentUrl": video_url,
    }
    if duration_s is not None:
        data["duration"] = f"PT{duration_s:g}S"
    if size_bytes is not None:
        data["contentSize"] = str(size_bytes)
    if width is not None and height is not None:
        data["width"], data["height"] = width, height
    # "</" must not appear inside a <script> element; JSON allows "<\/" for it.
    payload = json.dumps(data).replace("</", "<\\/")
    return html_page(
        title, f'<script type="application/ld+json">{payload}</script>\n<h1>{html.escape(title)}</h1>'
    )


def rss_playlist(title: str, urls: list[str], *, link: str = "http://example.invalid/") -> str:
    """An RSS 2.0 feed with one <item><enclosure type="video/mp4"> per URL (a yt-dlp playlist)."""
    items = "\n".join(
        "    <item>\n"
        f"      <title>{xml_escape(f'{title} episode {i}')}</title>\n"
        f"      <guid isPermaLink='false'>{xml_escape(u)}</guid>\n"
        f'      <enclosure url={quoteattr(u)} type="video/mp4" length="0"/>\n'
        "    </item>"
        for i, u in enumerate(urls, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n  <channel>\n'
        f"    <title>{xml_escape(title)}</title>\n    <link>{xml_escape(link)}</link>\n"
        f"    <description>{xml_escape(title)}</description>\n{items}\n  </channel>\n</rss>\n"
    )
