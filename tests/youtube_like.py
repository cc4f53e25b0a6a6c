"""A local server that serves video the way YouTube's CDN (googlevideo) does, and ways it fails.

Tests cannot reach YouTube, so this acts like it where the range reader (jobs/ytdlp/stream.py)
cares: byte ranges only (a GET without Range is refused, as googlevideo answers 403), stream
URLs that expire (after N requests or N seconds, then 403; all, or only the first few handed
out), and a watch page that hands out a fresh URL each time it is read, which yt-dlp's
generic extractor resolves (an HTML5 ``<video>``). Serve a DASH-style fragmented mp4 with a
``sidx`` (tests/videos.py FRAGMENTED) for the full likeness. It can also misbehave on
purpose: ignore ranges (answer 200 with the whole file), close the connection in the middle
of a body, drip bytes slowly, close every connection after one answer (so each request
connects again), and for the bench add a delay to each request and a bandwidth limit.

It listens on an ephemeral port of a loopback address, in daemon threads, and stops with the
``with`` block.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from tests.httpserver import content_type_for

logger = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_CHUNK = 64 * 1024


@dataclass
class Media:
    """How one file is served."""

    path: Path
    ranges: bool = True  # False: every GET gets 200 and the whole file, whatever it asks
    require_range: bool = False  # googlevideo: a GET without Range is refused (403)
    expire_requests: int | None = None  # a token serves this many requests, then 403
    expire_s: float | None = None  # ...or this many seconds after it was issued
    # Only the first this many URLs handed out expire (None: all). A googlevideo URL lasts
    # hours, far longer than a job, so a job that resolves the link again has one that lasts.
    expiring_urls: int | None = None
    break_after: int | None = None  # close the connection after this many body bytes...
    breaks: int = 0  # ...for this many responses (then serve normally)
    drip_bps: float | None = None  # send the body at this many bytes a second
    tokens: dict[str, tuple[float, int]] = field(default_factory=dict)  # token: (issued, used)


class StreamServer:
    """Serves ``Media`` at ``/v/<name>?token=...`` and watch pages at ``/watch/<name>``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self.media: dict[str, Media] = {}
        self.redirects: dict[str, str] = {}
        self.latency_s = 0.0  # added before each answer (a CDN's round trip)
        self.throttle_bps: float | None = None  # bandwidth of the whole server
        self.close_each = False  # "Connection: close" on every answer
        self.log: list[tuple[str, str, str | None, int]] = []  # (method, path, Range, status)
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> StreamServer:
        handler = type("_Bound", (_Handler,), {"server_state": self})
        self._httpd = _QuietServer((self.host, self._port), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def add(self, name: str, path: Path, **how: object) -> Media:
        media = Media(Path(path), **how)  # type: ignore[arg-type]
        self.media[name] = media
        return media

    def fresh_url(self, name: str) -> str:
        """A new stream URL for ``name``, as a watch page hands out."""
        token = secrets.token_hex(8)
        with self._lock:
            self.media[name].tokens[token] = (time.monotonic(), 0)
        return self.url(f"/v/{name}?token={token}")

    def watch_url(self, name: str) -> str:
        return self.url(f"/watch/{name}")

    def add_redirect(self, path: str, location: str) -> str:
        self.redirects["/" + path.lstrip("/")] = location
        return self.url(path)

    def media_requests(self, name: str) -> list[tuple[str, str, str | None, int]]:
        with self._lock:
            return [entry for entry in self.log if entry[1] == f"/v/{name}"]

    def _record(self, entry: tuple[str, str, str | None, int]) -> None:
        with self._lock:
            self.log.append(entry)

    def _use_token(self, media: Media, token: str) -> bool:
        with self._lock:
            if media.expire_requests is None and media.expire_s is None:
                return True
            issued = media.tokens.get(token)
            if issued is None:
                return False
            at, used = issued
            media.tokens[token] = (at, used + 1)
            if media.expiring_urls is not None and list(media.tokens).index(token) >= media.expiring_urls:
                return True
        if media.expire_requests is not None and used >= media.expire_requests:
            return False
        return media.expire_s is None or time.monotonic() - at < media.expire_s


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # Clients hang up mid-body on purpose (a reader that has what it needs, ffmpeg).
        logger.debug("StreamServer: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_state: StreamServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server_state
        parts = urllib.parse.urlsplit(self.path)
        requested = self.headers.get("Range")
        if state.latency_s:
            time.sleep(state.latency_s)
        try:
            if parts.path in state.redirects:
                self._answer(302, b"", {"Location": state.redirects[parts.path]}, parts.path, requested)
            elif parts.path.startswith("/watch/"):
                self._watch(parts.path.removeprefix("/watch/"), requested)
            elif parts.path.startswith("/v/") and parts.path[3:] in state.media:
                self._media(parts, requested)
            else:
                self._answer(404, b"Not found\n", {}, parts.path, requested)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _answer(
        self, status: int, body: bytes, headers: dict[str, str], path: str, requested: str | None
    ) -> None:
        self.server_state._record((self.command, path, requested, status))
        self.send_response(status)
        headers = {"Content-Type": "text/plain", "Content-Length": str(len(body)), **headers}
        if self.server_state.close_each:
            headers["Connection"] = "close"
            self.close_connection = True
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _watch(self, name: str, requested: str | None) -> None:
        if name not in self.server_state.media:
            self._answer(404, b"Not found\n", {}, f"/watch/{name}", requested)
            return
        src = self.server_state.fresh_url(name)
        page = (
            f"<!doctype html><html><head><title>{name}</title></head><body>"
            f'<video controls><source src="{src}" type="video/mp4"></video></body></html>'
        ).encode()
        self._answer(200, page, {"Content-Type": "text/html; charset=utf-8"}, f"/watch/{name}", requested)

    def _media(self, parts: urllib.parse.SplitResult, requested: str | None) -> None:
        state = self.server_state
        name = parts.path[3:]
        media = state.media[name]
        token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
        if not state._use_token(media, token):
            self._answer(403, b"Expired\n", {}, parts.path, requested)
            return
        size = media.path.stat().st_size
        match = _RANGE.match((requested or "").strip())
        if media.require_range and match is None:
            self._answer(403, b"Ranges only\n", {}, parts.path, requested)
            return
        start, end, status = 0, size - 1, 200
        if match and media.ranges:
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            if start >= size:
                self._answer(416, b"", {"Content-Range": f"bytes */{size}"}, parts.path, requested)
                return
            status = 206
        state._record((self.command, parts.path, requested, status))
        self.send_response(status)
        self.send_header("Content-Type", content_type_for(media.path))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes" if media.ranges else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if state.close_each:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._body(media, start, end - start + 1)

    def _body(self, media: Media, start: int, length: int) -> None:
        state = self.server_state
        cut = None
        with state._lock:
            if media.breaks > 0 and media.break_after is not None:
                media.breaks -= 1
                cut = media.break_after
        rate = media.drip_bps or state.throttle_bps
        sent = 0
        with media.path.open("rb") as fh:
            fh.seek(start)
            while sent < length:
                step = min(_CHUNK if rate is None else max(256, int(rate / 20)), length - sent)
                if cut is not None:
                    step = min(step, cut - sent)
                    if step <= 0:
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                chunk = fh.read(step)
                if not chunk:
                    return
                if rate is not None and state.throttle_bps and not media.drip_bps:
                    # One link for the whole server: concurrent answers share its bandwidth.
                    with state._send_lock:
                        time.sleep(len(chunk) / rate)
                elif rate is not None:
                    time.sleep(len(chunk) / rate)
                self.wfile.write(chunk)
                sent += len(chunk)
                with state._lock:
                    state.bytes_sent += len(chunk)
