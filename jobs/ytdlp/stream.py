"""A seekable, read-only file over HTTP range requests, for PyAV to open (``av.open(reader)``).

Why: the frames need the index and a few keyframes, 1-3% of a long video, so reading the
stream in place beats downloading it whole (issue 14). Why here, next to guard.py: every
connection it opens goes through the guard's connect-time address check
(``guard.guarded_connection``), as every connection yt-dlp opens does; PyAV only ever sees
this Python object, never a URL, so FFmpeg opens no connection of its own.

How it reads: in blocks of ``block_size`` kept in a small LRU cache (the demuxer reads the
index twice, probe then select, and a keyframe often straddles two reads). A read that
continues where the last one ended doubles the read-ahead (up to ``max_readahead``), a seek
elsewhere drops it back to one block: the index is read in few requests, a keyframe in one or
two. A request is never larger than ``max_request`` (yt-dlp's ``http_chunk_size``: googlevideo
refuses or throttles larger ranges).

What it honours: 206 with a Content-Range that starts where asked; a 200 means the server
ignores ranges, and raises ``RangesRefused`` for the caller to fall back to a download;
403/410 after the first request means the stream URL expired, and ``refresh`` (the pipeline
resolves the link again) is asked once for a new URL. Broken connections and short bodies
are retried a few times, then raise a SourceError with a message users can read, as do a
deadline and a minimum speed (a slow-drip server).
"""

from __future__ import annotations

import collections
import http.client
import io
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import guard, policy
from .messages import (
    MSG_BAD_REDIRECT,
    MSG_EMPTY,
    MSG_PRIVATE,
    MSG_STREAM_BROKEN,
    MSG_TIMEOUT,
    MSG_TOO_SLOW,
    BlockedAddressError,
    SourceError,
    _http_message,
)

logger = logging.getLogger(__name__)

KB = 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_CONTENT_RANGE_UNSATISFIED = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_EXPIRED = frozenset({403, 410})
# Read ahead this fraction of what was read in sequence so far: at most that much is wasted
# when the reading stops (a GOP decoded to the frame wanted), and a long sequential read (an
# index) still takes few requests.
READAHEAD = 1.0
_READ = 64 * KB  # one socket read: small enough to check the speed of a slow drip often


class RangesRefused(Exception):
    """The server does not serve byte ranges (or stopped doing so): download the file instead."""


class _Expired(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Broken(Exception):
    """A response that ended early or did not start where asked: worth another try."""


@dataclass(frozen=True)
class Limits:
    """When to give up on a slow site (the settings INSPIRE_DOWNLOAD_DEADLINE_S,
    INSPIRE_MIN_SPEED_KBPS and INSPIRE_MIN_SPEED_WINDOW_S, as for yt-dlp's downloads)."""

    deadline_s: float | None = None
    min_speed_bps: float = 0.0
    window_s: float = 60.0


Refresh = Callable[[], tuple[str, Mapping[str, str]]]


class RangeReader(io.RawIOBase):
    """A read-only, seekable binary file over ``url``; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_private: bool = False,
        timeout: float = 20.0,
        block_size: int = 64 * KB,
        cache_size: int = 24 * 1024 * KB,
        max_readahead: int = 2048 * KB,
        max_request: int | None = None,
        retries: int = 3,
        limits: Limits | None = None,
        refresh: Refresh | None = None,
        max_redirects: int = 5,
    ) -> None:
        super().__init__()
        self.url = policy.normalise_url(url)
        self._headers = dict(headers or {})
        self._allow_private = allow_private
        self._timeout = timeout
        self._block = block_size
        self._cache_blocks = max(2, cache_size // block_size)
        limit = max(block_size, max_readahead)
        if max_request:
            limit = min(limit, max(block_size, int(max_request)))
        self._max_run = max(1, limit // block_size)
        self._retries = retries
        self._limits = limits or Limits()
        self._refresh = refresh
        self._max_redirects = max_redirects
        self._cache: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._pos = 0
        self._next_block = -1
        self._run = 1
        self._streak = 0
        self._started = time.monotonic()
        self._net_s = 0.0
        self._samples: collections.deque[tuple[float, int]] = collections.deque([(0.0, 0)])
        self.size: int | None = None
        self.bytes_read = 0
        self.requests = 0
        self.refreshed = False
        # The first error, kept: PyAV may take a failed read for the end of the file.
        self.error: SourceError | RangesRefused | None = None

    # -- io.RawIOBase ------------------------------------------------------------------------

    def open(self) -> RangeReader:
        """Make the first request (the first block), which learns the size; RangesRefused when
        the server answers it with the whole file."""
        if self.size is None:
            self._fetch_run(0)
        return self

    def __enter__(self) -> RangeReader:
        return self.open()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.open()
        assert self.size is not None
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._pos = target
        return self._pos

    def read(self, n: int = -1) -> bytes:
        self.open()
        assert self.size is not None
        if n is None or n < 0:
            n = self.size - self._pos
        out = bytearray()
        while n > 0 and self._pos < self.size:
            index, offset = divmod(self._pos, self._block)
            piece = self._get(index)[offset : offset + n]
            if not piece:
                break
            out += piece
            self._pos += len(piece)
            n -= len(piece)
        return bytes(out)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
        self._cache.clear()
        super().close()

    # -- blocks ------------------------------------------------------------------------------

    def _get(self, index: int) -> bytes:
        block = self._cache.get(index)
        if block is not None:
            self._cache.move_to_end(index)
            return block
        # Reading on from the last fetched run: more of the same is likely (an index, a GOP),
        # in proportion to how much came so far; a seek elsewhere starts from one block.
        self._streak = self._streak if index == self._next_block else 0
        self._run = max(1, min(self._max_run, int(self._streak * READAHEAD) // self._block))
        self._fetch_run(index)
        return self._cache.get(index, b"")

    def _fetch_run(self, first: int) -> None:
        count = self._run
        if self.size is not None:
            last_block = max(0, (self.size - 1) // self._block)
            count = max(1, min(count, last_block - first + 1))
        # Blocks already cached end the run: no byte is fetched twice while it is cached.
        for i in range(1, count):
            if first + i in self._cache:
                count = i
                break
        start = first * self._block
        data = self._fetch(start, start + count * self._block - 1)
        for i in range(0, max(1, count)):
            chunk = data[i * self._block : (i + 1) * self._block]
            if not chunk and i:
                break
            self._cache[first + i] = chunk
            self._cache.move_to_end(first + i)
        while len(self._cache) > self._cache_blocks:
            self._cache.popitem(last=False)
        self._next_block = first + count
        self._streak += len(data)

    # -- HTTP --------------------------------------------------------------------------------

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive, cut at the end of the file), retried; errors as
        SourceError with a user's message."""
        if self.error is not None:
            raise self.error
        try:
            return self._fetch_retried(start, end)
        except (SourceError, RangesRefused) as exc:
            self.error = exc
            raise

    def _fetch_retried(self, start: int, end: int) -> bytes:
        failures = 0
        while True:
            try:
                return self._request(start, end)
            except _Expired as exc:
                self._close_all()
                if self.size is None or self.refreshed or self._refresh is None:
                    raise SourceError(_http_message(exc.status)) from exc
                logger.info("Stream URL expired (HTTP %s); resolving the link again", exc.status)
                self.refreshed = True
                url, headers = self._refresh()
                self.url, self._headers = policy.normalise_url(url), dict(headers)
            except BlockedAddressError as exc:
                raise SourceError(MSG_PRIVATE) from exc
            except (OSError, http.client.HTTPException, _Broken) as exc:
                self._close_all()
                failures += 1
                if failures > self._retries:
                    logger.info("Range read of %s failed %s times: %s", self.url, failures, exc)
                    message = MSG_TIMEOUT if isinstance(exc, TimeoutError) else MSG_STREAM_BROKEN
                    raise SourceError(message) from exc
                self._check_deadline()
                time.sleep(min(2.0, 0.1 * 2**failures))

    def _request(self, start: int, end: int) -> bytes:
        if self.size is not None:
            end = min(end, self.size - 1)
        url = self.url
        for _hop in range(self._max_redirects + 1):
            self._check_deadline()
            parts = urllib.parse.urlsplit(url)
            conn = self._connection(parts)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            headers = {
                **self._headers,
                "Range": f"bytes={start}-{end}",
                "Accept-Encoding": "identity",  # byte offsets are offsets into the file itself
            }
            began = time.monotonic()
            try:
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
            finally:
                self._net_s += time.monotonic() - began
            self.requests += 1
            status = response.status
            if status in _REDIRECTS:
                location = response.getheader("Location") or ""
                self._discard(parts, response)
                try:
                    # Only http(s) onwards; the next connect checks the new host's address.
                    url = policy.normalise_url(urllib.parse.urljoin(url, location))
                except SourceError as exc:
                    raise SourceError(MSG_BAD_REDIRECT) from exc
                continue
            if status in _EXPIRED:
                self._discard(parts, response)
                raise _Expired(status)
            if status == 200:
                self._discard(parts, response, drain=False)
                raise RangesRefused(url)
            if status == 416:
                unsatisfied = _CONTENT_RANGE_UNSATISFIED.match(response.getheader("Content-Range") or "")
                self._discard(parts, response)
                if self.size is not None:
                    return b""  # read past the end
                if unsatisfied is not None and int(unsatisfied.group(1)) == 0:
                    raise SourceError(MSG_EMPTY)
            if status != 206:
                self._discard(parts, response)
                raise SourceError(_http_message(status))
            first, last, total = self._content_range(response, start)
            if self.size is None:
                self.size = total
            body = self._body(response, last - first + 1)
            if response.will_close:
                self._close(parts)
            self.url = url  # later requests go straight to where the redirects led
            return body
        raise SourceError(MSG_BAD_REDIRECT)

    def _content_range(self, response: http.client.HTTPResponse, start: int) -> tuple[int, int, int]:
        match = _CONTENT_RANGE.match(response.getheader("Content-Range") or "")
        if match is None or match.group(3) == "*":
            # A 206 we cannot place in the file: treat the server as one without ranges.
            raise RangesRefused(self.url)
        first = int(match.group(1))
        if first != start:
            raise _Broken(f"asked for bytes from {start}, got from {first}")
        return first, int(match.group(2)), int(match.group(3))

    def _body(self, response: http.client.HTTPResponse, expected: int) -> bytes:
        chunks = []
        got = 0
        while got < expected:
            began = time.monotonic()
            chunk = response.read1(min(_READ, expected - got))
            self._net_s += time.monotonic() - began
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            self.bytes_read += len(chunk)
            self._check_speed()
        if got < expected:
            raise _Broken(f"got {got} of {expected} bytes")
        # Marks the response done, so the keep-alive connection takes the next request.
        response.close()
        return b"".join(chunks)

    def _connection(self, parts: urllib.parse.SplitResult) -> http.client.HTTPConnection:
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname or "", port)
        conn = self._conns.get(key)
        if conn is None:
            # Keep-alive: a reused connection goes to an address already checked; a new socket
            # (first use, or after the server closed it) is checked again when it connects.
            conn = guard.guarded_connection(
                scheme, key[1], port, timeout=self._timeout, allow_private=self._allow_private
            )
            self._conns[key] = conn
        return conn

    def _discard(
        self, parts: urllib.parse.SplitResult, response: http.client.HTTPResponse, *, drain: bool = True
    ) -> None:
        length = response.getheader("Content-Length")
        if drain and length and length.isdigit() and int(length) <= 64 * KB:
            response.read()
            if not response.will_close:
                return
        self._close(parts)

    def _close(self, parts: urllib.parse.SplitResult) -> None:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        conn = self._conns.pop((parts.scheme, parts.hostname or "", port), None)
        if conn is not None:
            conn.close()

    def _close_all(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    # -- limits ------------------------------------------------------------------------------

    def _check_deadline(self) -> None:
        deadline = self._limits.deadline_s
        if deadline and time.monotonic() - self._started > deadline:
            raise SourceError(MSG_TOO_SLOW)

    def _check_speed(self) -> None:
        """Fail when, over the last ``window_s`` seconds spent waiting on the network (time
        spent decoding does not count), fewer than ``min_speed_bps`` bytes a second came."""
        self._check_deadline()
        limits = self._limits
        if not limits.min_speed_bps:
            return
        now = self._net_s
        self._samples.append((now, self.bytes_read))
        while len(self._samples) > 2 and self._samples[1][0] <= now - limits.window_s:
            self._samples.popleft()
        then, bytes_then = self._samples[0]
        if now - then < limits.window_s:
            return
        speed = (self.bytes_read - bytes_then) / (now - then)
        if speed < limits.min_speed_bps:
            logger.info("Stream of %s too slow: %.0f B/s", self.url, speed)
            raise SourceError(MSG_TOO_SLOW)
