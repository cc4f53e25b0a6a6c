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
two. Reading on past a prefetched range counts from where that read began, not from the reads
before it elsewhere. A request is never larger than ``max_request`` (yt-dlp's
``http_chunk_size``: googlevideo refuses or throttles larger ranges).

Prefetch: when the caller knows which bytes it will read (the frames know the keyframes'
offsets from the container's index once it is read), ``prefetch`` fetches those ranges
several at once, each on its own guarded keep-alive connection, and keeps them exactly (not in
whole blocks) until they are read: the round trips overlap instead of adding up, and only the
bytes asked for come. Ranges close together are merged into one request. No byte is fetched
twice while it is held: a prefetch asks only for what held ranges leave out, and a read that
runs on into a held range (decoding on through a short video) stops its read-ahead there.

What it honours: 206 with a Content-Range that starts where asked; a 200 means the server
ignores ranges, and raises ``RangesRefused`` for the caller to fall back to a download;
403/410 after the first request means the stream URL expired, and ``refresh`` (the pipeline
resolves the link again) is asked once for a new URL. Broken connections and short bodies
are retried a few times, then raise a SourceError with a message users can read, as do a
deadline and a minimum speed (a slow-drip server).
"""

from __future__ import annotations

import bisect
import collections
import http.client
import io
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
# Prefetched ranges at most this far apart go in one request: at 2.5 MB/s, 32 KB more cost
# less than one more round trip on a CDN (30 ms).
MERGE_GAP = 32 * KB
_Conns = dict[tuple[str, str, int], http.client.HTTPConnection]


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
        parallel: int = 6,
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
        self._conns: _Conns = {}
        # Prefetch: at most `parallel` requests at once, each on a connection set of its own
        # (kept for the next prefetch); the ranges fetched, by start, oldest first.
        self._parallel = max(1, parallel)
        self._spare: list[_Conns] = []
        self._extents: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self._extent_starts: list[int] = []
        self._extent_bytes = 0
        self._cache_bytes = cache_size
        self._lock = threading.Lock()  # counters, speed samples, extents, spare connections
        self._refresh_lock = threading.Lock()
        self._batch_started: float | None = None
        self._pos = 0
        self._next_block = -1
        self._extent_end = -1  # where the last read from a prefetched range ended
        self._read_end = -1  # where the last read ended, from whichever source
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
        after_extent = False
        while n > 0 and self._pos < self.size:
            extent = self._extent_at(self._pos)
            if extent is not None:
                start, data = extent
                piece = data[self._pos - start : self._pos - start + n]
                after_extent = True
                # What was read in sequence counts from here, if this is not reading on: a
                # keyframe prefetched far from the last read starts a run of its own, or the
                # read-ahead past it would grow with every keyframe read anywhere before it (up
                # to 2 MB a still, on a 10-minute stream).
                self._streak = (self._streak if self._pos == self._read_end else 0) + len(piece)
                self._extent_end = self._pos + len(piece)
            else:
                if after_extent and self._pos // self._block not in self._cache:
                    # Just past a prefetched range: a short read, for FFmpeg may not want more
                    # (it asks for a whole buffer however small the packet it reads).
                    break
                index, offset = divmod(self._pos, self._block)
                piece = self._get(index)[offset : offset + n]
            if not piece:
                break
            out += piece
            self._pos += len(piece)
            self._read_end = self._pos
            n -= len(piece)
        return bytes(out)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._close_all(self._conns)
        for conns in self._spare:
            self._close_all(conns)
        self._spare.clear()
        self._cache.clear()
        self._extents.clear()
        self._extent_starts.clear()
        super().close()

    # -- prefetch ----------------------------------------------------------------------------

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> int:
        """Fetch the byte ranges (start, end inclusive) now, up to ``parallel`` requests at
        once, and keep them for the reads to come; returns the requests made. Ranges already
        held are skipped, near ones merged, and no more than the cache size is kept in all.
        Errors are those of a read (SourceError, RangesRefused), raised here."""
        self.open()
        spans = self._plan(ranges)
        if not spans:
            return 0
        if self.error is not None:
            raise self.error
        started = time.monotonic()
        self._batch_started = started
        pool = ThreadPoolExecutor(max_workers=min(self._parallel, len(spans)), thread_name_prefix="range")
        try:
            futures = [pool.submit(self._prefetch_one, start, end) for start, end in spans]
            for future in futures:
                future.result()
        except (SourceError, RangesRefused) as exc:
            with self._lock:
                self.error = self.error or exc
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._batch_started = None
            self._net_s += time.monotonic() - started
        return len(spans)

    def _plan(self, ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        assert self.size is not None
        wanted = sorted(
            (max(0, a), min(self.size - 1, b))
            for a, b in ranges
            if b >= a and a < self.size and not self._held(a, b)
        )
        merged: list[list[int]] = []
        for a, b in wanted:
            if merged and a <= merged[-1][1] + 1 + MERGE_GAP:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        # What prefetched ranges hold already is left out (a range that takes in one).
        missing = [piece for a, b in merged for piece in self._unheld(a, b)]
        spans: list[tuple[int, int]] = []
        budget = self._cache_bytes // 2  # the blocks keep the other half
        for a, b in missing:
            # A long range goes as a few requests at once (their round trips overlap), none
            # shorter than two blocks nor longer than max_request.
            spread = self._parallel if len(missing) < self._parallel else 1
            pieces = max(1, min(spread, (b - a + 1) // (2 * self._block)))
            limit = min(self._max_run * self._block, -(-(b - a + 1) // pieces))
            while a <= b and budget > 0:
                end = min(b, a + limit - 1, a + budget - 1)
                spans.append((a, end))
                budget -= end - a + 1
                a = end + 1
        return spans

    def _unheld(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of start..end that no prefetched range holds."""
        out = []
        with self._lock:
            i = max(0, bisect.bisect_right(self._extent_starts, start) - 1)
            for held in self._extent_starts[i:]:
                if held > end:
                    break
                last = held + len(self._extents[held]) - 1
                if last < start:
                    continue
                if held > start:
                    out.append((start, held - 1))
                start = last + 1
        if start <= end:
            out.append((start, end))
        return out

    def _held(self, start: int, end: int) -> bool:
        extent = self._extent_at(start)
        if extent is not None and extent[0] + len(extent[1]) > end:
            return True
        return all(i in self._cache for i in range(start // self._block, end // self._block + 1))

    def _prefetch_one(self, start: int, end: int) -> None:
        with self._lock:
            conns = self._spare.pop() if self._spare else {}
        try:
            data = self._fetch_retried(start, end, conns)
        except BaseException:
            self._close_all(conns)
            raise
        with self._lock:
            self._spare.append(conns)
            self._extents[start] = data
            bisect.insort(self._extent_starts, start)
            self._extent_bytes += len(data)
            while self._extent_bytes > self._cache_bytes // 2 and len(self._extents) > 1:
                old, dropped = self._extents.popitem(last=False)
                self._extent_starts.remove(old)
                self._extent_bytes -= len(dropped)

    def _extent_at(self, pos: int) -> tuple[int, bytes] | None:
        if not self._extent_starts:
            return None
        with self._lock:
            i = bisect.bisect_right(self._extent_starts, pos) - 1
            if i < 0:
                return None
            start = self._extent_starts[i]
            data = self._extents[start]
        return (start, data) if pos < start + len(data) else None

    # -- blocks ------------------------------------------------------------------------------

    def _get(self, index: int) -> bytes:
        block = self._cache.get(index)
        if block is not None:
            self._cache.move_to_end(index)
            return block
        # Reading on from the last fetched run: more of the same is likely (an index, a GOP),
        # in proportion to how much came so far; a seek elsewhere starts from one block.
        # Reading on past a prefetched range is reading on too: the run goes on growing.
        sequential = index == self._next_block or self._pos == self._extent_end
        self._streak = self._streak if sequential else 0
        self._run = max(1, min(self._max_run, int(self._streak * READAHEAD) // self._block))
        self._fetch_run(index)
        return self._cache.get(index, b"")

    def _fetch_run(self, first: int) -> None:
        count = self._run
        if self.size is not None:
            last_block = max(0, (self.size - 1) // self._block)
            count = max(1, min(count, last_block - first + 1))
        # Blocks already cached end the run, and so does a prefetched range (all but the block
        # it starts in): no byte is fetched twice while it is held, as a decoding that reads on
        # through ranges prefetched along its way would otherwise (a short video's GOPs).
        for i in range(1, count):
            if first + i in self._cache:
                count = i
                break
        with self._lock:
            later = bisect.bisect_right(self._extent_starts, self._pos)
            if later < len(self._extent_starts):
                count = max(1, min(count, self._extent_starts[later] // self._block - first))
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
            return self._fetch_retried(start, end, self._conns)
        except (SourceError, RangesRefused) as exc:
            self.error = exc
            raise

    def _fetch_retried(self, start: int, end: int, conns: _Conns) -> bytes:
        failures = 0
        while True:
            url = self.url
            try:
                return self._request(start, end, conns)
            except _Expired as exc:
                self._close_all(conns)
                with self._refresh_lock:  # once, whichever request (of a prefetch) saw it first
                    if self.url != url:
                        continue  # another request refreshed it meanwhile
                    if self.size is None or self.refreshed or self._refresh is None:
                        raise SourceError(_http_message(exc.status)) from exc
                    logger.info("Stream URL expired (HTTP %s); resolving the link again", exc.status)
                    self.refreshed = True
                    url, headers = self._refresh()
                    self.url, self._headers = policy.normalise_url(url), dict(headers)
            except BlockedAddressError as exc:
                raise SourceError(MSG_PRIVATE) from exc
            except (OSError, http.client.HTTPException, _Broken) as exc:
                self._close_all(conns)
                failures += 1
                if failures > self._retries:
                    logger.info("Range read of %s failed %s times: %s", self.url, failures, exc)
                    message = MSG_TIMEOUT if isinstance(exc, TimeoutError) else MSG_STREAM_BROKEN
                    raise SourceError(message) from exc
                self._check_deadline()
                time.sleep(min(2.0, 0.1 * 2**failures))

    def _request(self, start: int, end: int, conns: _Conns) -> bytes:
        if self.size is not None:
            end = min(end, self.size - 1)
        url = first_url = self.url
        for _hop in range(self._max_redirects + 1):
            self._check_deadline()
            parts = urllib.parse.urlsplit(url)
            conn = self._connection(parts, conns)
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
                self._waited(time.monotonic() - began)
            with self._lock:
                self.requests += 1
            status = response.status
            if status in _REDIRECTS:
                location = response.getheader("Location") or ""
                self._discard(parts, conns, response)
                try:
                    # Only http(s) onwards; the next connect checks the new host's address.
                    url = policy.normalise_url(urllib.parse.urljoin(url, location))
                except SourceError as exc:
                    raise SourceError(MSG_BAD_REDIRECT) from exc
                continue
            if status in _EXPIRED:
                self._discard(parts, conns, response)
                raise _Expired(status)
            if status == 200:
                self._discard(parts, conns, response, drain=False)
                raise RangesRefused(url)
            if status == 416:
                unsatisfied = _CONTENT_RANGE_UNSATISFIED.match(response.getheader("Content-Range") or "")
                self._discard(parts, conns, response)
                if self.size is not None:
                    return b""  # read past the end
                if unsatisfied is not None and int(unsatisfied.group(1)) == 0:
                    raise SourceError(MSG_EMPTY)
            if status != 206:
                self._discard(parts, conns, response)
                raise SourceError(_http_message(status))
            first, last, total = self._content_range(response, start)
            if self.size is None:
                self.size = total
            body = self._body(response, last - first + 1)
            if response.will_close:
                self._close(parts, conns)
            with self._lock:
                if self.url == first_url:  # unless a refresh (by another request) replaced it
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
            self._waited(time.monotonic() - began)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            with self._lock:
                self.bytes_read += len(chunk)
            self._check_speed()
        if got < expected:
            raise _Broken(f"got {got} of {expected} bytes")
        # Marks the response done, so the keep-alive connection takes the next request.
        response.close()
        return b"".join(chunks)

    def _connection(self, parts: urllib.parse.SplitResult, conns: _Conns) -> http.client.HTTPConnection:
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname or "", port)
        conn = conns.get(key)
        if conn is None:
            # Keep-alive: a reused connection goes to an address already checked; a new socket
            # (first use, or after the server closed it) is checked again when it connects.
            conn = guard.guarded_connection(
                scheme, key[1], port, timeout=self._timeout, allow_private=self._allow_private
            )
            conns[key] = conn
        return conn

    def _discard(
        self,
        parts: urllib.parse.SplitResult,
        conns: _Conns,
        response: http.client.HTTPResponse,
        *,
        drain: bool = True,
    ) -> None:
        length = response.getheader("Content-Length")
        if drain and length and length.isdigit() and int(length) <= 64 * KB:
            response.read()
            if not response.will_close:
                return
        self._close(parts, conns)

    @staticmethod
    def _close(parts: urllib.parse.SplitResult, conns: _Conns) -> None:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        conn = conns.pop((parts.scheme, parts.hostname or "", port), None)
        if conn is not None:
            conn.close()

    @staticmethod
    def _close_all(conns: _Conns) -> None:
        for conn in conns.values():
            conn.close()
        conns.clear()

    # -- limits ------------------------------------------------------------------------------

    def _check_deadline(self) -> None:
        deadline = self._limits.deadline_s
        if deadline and time.monotonic() - self._started > deadline:
            raise SourceError(MSG_TOO_SLOW)

    def _waited(self, seconds: float) -> None:
        # During a prefetch its wall time counts once (added at its end), not each request's.
        if self._batch_started is None:
            self._net_s += seconds

    def _check_speed(self) -> None:
        """Fail when, over the last ``window_s`` seconds spent waiting on the network (time
        spent decoding does not count), fewer than ``min_speed_bps`` bytes a second came."""
        self._check_deadline()
        limits = self._limits
        if not limits.min_speed_bps:
            return
        with self._lock:
            batch = self._batch_started
            now = self._net_s + (time.monotonic() - batch if batch is not None else 0.0)
            self._samples.append((now, self.bytes_read))
            while len(self._samples) > 2 and self._samples[1][0] <= now - limits.window_s:
                self._samples.popleft()
            then, bytes_then = self._samples[0]
            got = self.bytes_read - bytes_then
        if now - then < limits.window_s:
            return
        speed = got / (now - then)
        if speed < limits.min_speed_bps:
            logger.info("Stream of %s too slow: %.0f B/s", self.url, speed)
            raise SourceError(MSG_TOO_SLOW)
