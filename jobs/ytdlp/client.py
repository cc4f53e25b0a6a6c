"""The yt-dlp client: options, flat inspection and single-video download.

It knows nothing about Django: every limit is a parameter, so the services pass values from
settings and tests pass small ones. Every request goes through the socket guard (guard.py), and
users' text never becomes a file name (yt-dlp writes ``video.<ext>`` in a private work
directory). Whether a download really is a video is for ``jobs.frames.probe`` to say: the one
probe, through PyAV.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import logging
import math
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.utils import YoutubeDLError, extract_attributes, unsmuggle_url

from jobs.units import duration_text, size_text

from .guard import GuardedYoutubeDL, watch_sockets
from .messages import (
    MSG_AUDIO_ONLY,
    MSG_DEADLINE,
    MSG_DOWNLOAD_FAILED,
    MSG_EMPTY,
    MSG_EMPTY_PLAYLIST,
    MSG_LIVE,
    MSG_NO_VIDEO,
    MSG_NOT_VIDEO,
    MSG_PLAYLIST_FOR_DOWNLOAD,
    MSG_TOO_BIG,
    MSG_TOO_LONG,
    MSG_TOO_MANY,
    MSG_TOO_SLOW,
    MSG_UPCOMING,
    Refusal,
    SourceError,
    source_error,
)
from .policy import check_url, is_web_url, normalise_url

logger = logging.getLogger(__name__)

# Extractors whose ids come from a URL's last path segment ("video" for .../video.mp4), so they
# collide across sites: their results are named by a hash of the URL instead.
_URL_HASHED_EXTRACTORS = frozenset({"generic", "html5mediaembed"})

_VIDEO_EXTS = frozenset(
    {"mp4", "m4v", "mov", "3gp", "3g2", "webm", "mkv", "flv", "avi", "ts", "mpg", "mpeg", "ogv", "ogg"}
)
# Ogg is left out on purpose: it carries Theora video as often as Vorbis audio.
_AUDIO_EXTS = frozenset({"m4a", "mp3", "aac", "opus", "oga", "wav", "flac", "weba", "wma"})
# What yt-dlp names a file whose link and headers name no type (a bare link, a text file):
# kept for jobs.frames.probe to judge from its bytes, as a video sent as octet-stream may be.
_UNKNOWN_EXT = "unknown_video"
_FINAL_NAME = re.compile(rf"video\.(?:[a-z0-9]{{1,5}}|{_UNKNOWN_EXT})")
_PROGRESS_STEP = 0.01  # report at most every whole per cent...
_PROGRESS_UNKNOWN_EVERY_S = 1.0  # ...or once a second when the size is unknown


@dataclass(frozen=True)
class Entry:
    provider: str  # extractor key lowercased: 'youtube', 'generic', ...
    provider_id: str
    url: str  # URL to download this one video later
    title: str
    duration: float | None  # seconds


@dataclass(frozen=True)
class Stream:
    """The format yt-dlp chose for a video, to read in place (jobs/ytdlp/stream.py)."""

    url: str
    headers: dict[str, str]
    protocol: str
    ext: str
    filesize: int | None
    chunk_size: int | None  # yt-dlp's http_chunk_size: googlevideo wants ranges no larger
    duration: float | None = None  # seconds, as the site says

    @property
    def single_file(self) -> bool:
        """One file at one URL, which range requests can read; not HLS, DASH segments or a
        progressive MPEG-TS (which has no index to seek by)."""
        return self.protocol in ("http", "https") and self.ext not in _UNINDEXED_EXTS


_UNINDEXED_EXTS = frozenset({"ts", "mpg", "mpeg", "m3u8", "flv", "avi"})


@dataclass(frozen=True)
class Source:
    kind: str  # 'video' or 'playlist'
    provider: str
    provider_id: str
    url: str  # canonical webpage URL
    title: str
    duration: float | None
    entries: tuple[Entry, ...]  # for a video: exactly one entry (itself)
    # Links of playlist entries refused because they are not http(s) (javascript:, data:, ...).
    skipped: tuple[str, ...] = ()
    # For a video inspected with a stream_format: the format chosen and where to read it.
    stream: Stream | None = None


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


def stream_format_spec(max_height: int, max_filesize: int | None = None) -> str:
    """``format_spec``, single-file formats first: a plain https URL (YouTube's DASH video-only
    formats, a direct link) can be read with range requests; DASH segments and HLS cannot."""
    single = "[protocol!*=dash][protocol!*=m3u8]"
    preferred = [f"{alt}{single}" for alt in format_spec(max_height, max_filesize).split("/")]
    return "/".join([*preferred, format_spec(max_height, max_filesize)])


def _stream_of(info: dict[str, Any]) -> Stream | None:
    url = info.get("url")
    if not isinstance(url, str) or info.get("requested_formats") or not is_web_url(url):
        return None
    headers = {str(k): str(v) for k, v in (info.get("http_headers") or {}).items()}
    options = info.get("downloader_options") or {}
    chunk = options.get("http_chunk_size")
    size = info.get("filesize") or info.get("filesize_approx")
    return Stream(
        url=url,
        headers=headers,
        protocol=str(info.get("protocol") or ""),
        ext=str(info.get("ext") or "").lower(),
        filesize=int(size) if isinstance(size, (int, float)) else None,
        chunk_size=int(chunk) if isinstance(chunk, (int, float)) and chunk > 0 else None,
        duration=_seconds(info.get("duration")),
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
        canonical = normalise_url(url)
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
        normalised = normalise_url(url)
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


def warm_up() -> None:
    """Compile every extractor's URL pattern now: the first ``quick_match`` (and the first
    ``inspect``) of a process matches a URL against all 1,800 of them, 0.8 s of compiling that
    the process then keeps. For a web or worker process to call at start, in a thread."""
    started = time.monotonic()
    quick_match("https://warm-up.invalid/nothing")
    logger.debug("yt-dlp extractor patterns compiled in %.2f s", time.monotonic() - started)


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
        url = normalise_url(url)
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


# The videos of an HTML page (yt-dlp's html5 extraction) are all titled after the page:
# "Tours (1)", "Tours (2)". Their own names are the <video> tags' titles, or their files'.
_HTML5_EXTRACTOR = "html5mediaembed"
_PAGE_MAX_BYTES = 2_000_000
_MEDIA_TAG = re.compile(r"(?is)<video\b[^>]*>(?:.*?</video>)?")
_SOURCE_TAG = re.compile(r"(?is)<source\b[^>]*>")


def _html5_titles(ydl: GuardedYoutubeDL, info: Any) -> dict[str, str] | None:
    """For a page whose videos yt-dlp found in its <video> tags: the title each tag gives its
    video (title or aria-label), by the absolute URL of each of its sources; None for any other
    result. The page is read again (through the same guard): yt-dlp keeps none of those
    attributes. Reading it is best effort: if it fails the videos keep their file names."""
    if not isinstance(info, dict) or info.get("_type") not in ("playlist", "multi_video"):
        return None
    entries = [e for e in (info.get("entries") or []) if isinstance(e, dict)]
    if not any(str(e.get("extractor_key") or "").lower() == _HTML5_EXTRACTOR for e in entries):
        return None
    page_url = str(info.get("webpage_url") or "")
    titles: dict[str, str] = {}
    try:
        with ydl.urlopen(page_url) as response:
            page = response.read(_PAGE_MAX_BYTES).decode("utf-8", "replace")
    except Exception as exc:
        logger.info("could not read %s again for its video titles: %s", page_url, exc)
        return titles
    for tag in _MEDIA_TAG.finditer(page):
        attributes = extract_attributes(tag.group(0)[: tag.group(0).find(">") + 1])
        title = (attributes.get("title") or attributes.get("aria-label") or "").strip()
        if not title:
            continue
        sources = [attributes.get(a) for a in ("src", "data-src", "data-video-src")]
        sources += [extract_attributes(s).get("src") for s in _SOURCE_TAG.findall(tag.group(0))]
        for src in filter(None, sources):
            url = urljoin(page_url, src.strip())
            with contextlib.suppress(SourceError):
                url = normalise_url(url)  # as _entry_from writes the entries' URLs
            titles.setdefault(url, title)
    return titles


def _named_by_their_own(entries: list[Entry], titles: dict[str, str]) -> list[Entry]:
    """Entries of an HTML page named by their <video> title, else by their file's name when the
    file's name is its own (not a "video.mp4" the page has several of), else as yt-dlp named it."""
    stems = [_file_stem(entry.url) for entry in entries]
    shared = {stem for stem in stems if stems.count(stem) > 1}
    named = []
    for entry, stem in zip(entries, stems, strict=True):
        title = titles.get(entry.url) or (stem if stem not in shared else "") or entry.title
        named.append(replace(entry, title=title[:500]))
    return named


def _file_stem(url: str) -> str:
    """'beach house' for .../beach-house.mp4: a file's name as people read it."""
    stem = PurePosixPath(unquote(urlsplit(url).path)).stem
    return " ".join(re.split(r"[-_\s.]+", stem)).strip()


def _seconds(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


# -- limits ----------------------------------------------------------------------------------


def _check_limits(info: dict[str, Any], *, max_duration: float, max_filesize: int) -> None:
    """Refuse, before any media byte is fetched, what the metadata already says is too much."""
    live_status = info.get("live_status")
    if info.get("is_live") or live_status in ("is_live", "post_live"):
        raise SourceError(MSG_LIVE)
    if live_status == "is_upcoming":
        raise SourceError(MSG_UPCOMING)
    duration = _seconds(info.get("duration"))
    if duration is not None and duration > max_duration:
        raise SourceError(MSG_TOO_LONG.format(limit=duration_text(max_duration)))
    if info.get("vcodec") == "none" or str(info.get("ext") or "").lower() in _AUDIO_EXTS:
        raise SourceError(MSG_AUDIO_ONLY)
    size = info.get("filesize") or info.get("filesize_approx")
    if isinstance(size, (int, float)) and size > max_filesize:
        raise SourceError(MSG_TOO_BIG.format(limit=size_text(max_filesize)))


# -- progress --------------------------------------------------------------------------------


class Watchdog:
    """Stops a download that runs past ``deadline_s``, or that received less than
    ``min_bytes_per_s`` over the last ``window_s`` of its media transfer, by shutting its
    sockets from a thread of its own; the reason is then in ``reason``.

    A socket timeout cannot do this: a server that sends one byte every few seconds keeps
    every read alive, and yt-dlp's own progress hook is not called while a read waits for its
    block. Sockets come from the guard (``watch_sockets``), which also lets no new connection
    through once the download is stopped, so yt-dlp's retries end at once. Plain Python, no
    yt-dlp: an HTTP reader of our own can use it the same way.
    """

    _CHECK_EVERY_S = 0.5

    def __init__(
        self, *, deadline_s: float | None, min_bytes_per_s: float | None = None, window_s: float = 60
    ) -> None:
        self._start = time.monotonic()
        self._deadline = deadline_s
        self._min = min_bytes_per_s
        self._window = window_s
        self._media_start: float | None = None
        self._received = 0  # over every attempt (a retry starts again from 0)
        self._last_seen = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        # Weak: yt-dlp closes and drops its connections; a closed one needs no shutting.
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._run, name="download-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)

    def on_socket(self, sock: socket.socket) -> None:
        with self._lock:
            if self.reason is not None:
                raise ConnectionAbortedError(self.reason)
            self._sockets.add(sock)

    def media_started(self) -> None:
        """The transfer of the video itself begins: the speed is measured from here."""
        with self._lock:
            self._media_start = time.monotonic()
            self._samples.append((self._media_start, self._received))

    def bytes_so_far(self, downloaded: int) -> None:
        """yt-dlp's count of this attempt's bytes (it starts again from 0 on a retry)."""
        now = time.monotonic()
        with self._lock:
            self._received += downloaded - self._last_seen if downloaded >= self._last_seen else downloaded
            self._last_seen = downloaded
            self._samples.append((now, self._received))
            # Keep the last sample from before the window: the count at its start.
            while len(self._samples) > 1 and self._samples[1][0] <= now - self._window:
                self._samples.popleft()

    def verdict(self, now: float) -> str | None:
        if self._deadline and now - self._start > self._deadline:
            return MSG_DEADLINE.format(limit=duration_text(self._deadline))
        with self._lock:
            started = self._media_start
            if not self._min or started is None or now - started < self._window:
                return None
            since = now - self._window
            then = max((n for t, n in self._samples if t <= since), default=0)
            if self._received - then < self._min * self._window:
                return MSG_TOO_SLOW
        return None

    def _run(self) -> None:
        while not self._stopped.wait(self._CHECK_EVERY_S):
            reason = self.verdict(time.monotonic())
            if reason is None:
                continue
            logger.info("Stopping a download: %s", reason)
            with self._lock:
                self.reason = reason
                sockets = list(self._sockets)
            for sock in sockets:
                # shutdown, not close: the reading thread owns the socket; this wakes its read.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return


class _ProgressHook:
    """Turns yt-dlp progress dicts into progress(fraction, message) calls, throttled to whole
    per cents (the caller writes them to the database), and enforces the size limit while bytes
    arrive: yt-dlp's own max_filesize only looks at Content-Length."""

    def __init__(
        self,
        progress: Callable[[float | None, str], None] | None,
        max_filesize: int,
        watchdog: Watchdog | None = None,
    ) -> None:
        self._progress = progress
        self._max = max_filesize
        self._watchdog = watchdog
        self._last_fraction = 0.0  # download() has already said "starting" at 0
        self._last_time = 0.0

    def __call__(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        done = d.get("downloaded_bytes") or 0
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        if status == "downloading":
            if self._watchdog is not None:
                self._watchdog.bytes_so_far(done)
            if done > self._max or (d.get("total_bytes") or 0) > self._max:
                raise Refusal(MSG_TOO_BIG.format(limit=size_text(self._max)))
            if total:
                fraction = max(0.0, min(1.0, done / total))
                if fraction - self._last_fraction >= _PROGRESS_STEP:
                    self._last_fraction = fraction
                    self._emit(fraction, f"Downloading {int(fraction * 100)}%")
            elif time.monotonic() - self._last_time >= _PROGRESS_UNKNOWN_EVERY_S:
                self._last_time = time.monotonic()
                self._emit(None, f"Downloading ({size_text(done)} so far)")
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
    stream_format: str | None = None,
    deadline_s: float | None = None,
) -> Source:
    """What ``url`` is: one video or a playlist (entries listed flat). No media is downloaded.

    A playlist with more than ``max_entries`` entries is refused, never silently cut. With
    ``stream_format`` (``stream_format_spec``) a video's Source also says which format that
    selects and where to read it (``Source.stream``): the same YoutubeDL does both. Pages
    trickled out slowly stop at ``deadline_s`` (no minimum speed here: a site's pages come in
    bursts, with pauses while yt-dlp works on them).
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
        if stream_format:
            params["format"] = f"{stream_format}/{params['format']}"
        watchdog = Watchdog(deadline_s=deadline_s)
        try:
            with (
                watchdog,
                watch_sockets(watchdog.on_socket),
                GuardedYoutubeDL(params, allow_private=allow_private) as ydl,
            ):
                raw = ydl.extract_info(checked, download=False, process=False)
                skipped = _drop_unsafe_formats(raw)
                info = ydl.process_ie_result(raw, download=False)
                own_titles = _html5_titles(ydl, info)
        except (Refusal, YoutubeDLError) as exc:
            if watchdog.reason is not None:
                raise SourceError(watchdog.reason) from exc
            if isinstance(exc, Refusal):
                raise SourceError(exc.message) from exc
            raise source_error(exc, checked, "inspect") from exc
        if watchdog.reason is not None:
            raise SourceError(watchdog.reason)
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
        entries = []
        for raw_entry in raw_entries:
            entry = _entry_from(raw_entry, parent)
            if is_web_url(entry.url):
                entries.append(entry)
            else:
                skipped.append(entry.url)
        if own_titles is not None:
            entries = _named_by_their_own(entries, own_titles)
        if skipped:
            logger.info("inspect of %s skipped entries that are not web links: %s", checked, skipped)
        if not entries:
            raise SourceError(MSG_EMPTY_PLAYLIST)
        provider, provider_id, page_url = _identity(info, checked)
        return Source(
            kind="playlist",
            provider=provider,
            provider_id=provider_id,
            url=page_url,
            title=str(info.get("title") or "Untitled playlist").strip(),
            duration=None,
            entries=tuple(entries),
            skipped=tuple(skipped),
        )

    if info.get("is_live") or info.get("live_status") in ("is_live", "post_live"):
        raise SourceError(MSG_LIVE)
    if info.get("vcodec") == "none":
        raise SourceError(MSG_AUDIO_ONLY)
    provider, provider_id, page_url = _identity(info, checked)
    title = str(info.get("title") or "Untitled video").strip()
    duration = _seconds(info.get("duration"))
    entry = Entry(provider, provider_id, page_url, title, duration)
    stream = _stream_of(info) if stream_format else None
    return Source("video", provider, provider_id, page_url, title, duration, (entry,), stream=stream)


def _drop_unsafe_formats(raw: Any) -> list[str]:
    """Take the formats that are not http(s) links out of a playlist's listed entries, and the
    entries left without any; returns the links of those entries.

    A feed or page may offer ``javascript:`` or ``data:`` "videos": such a link must never become
    a video's source link (it is shown to users as one), and one bad entry must not fail the
    others in format selection. Only entries already listed are looked at: a site's lazily
    paged playlist (a generator) only ever holds its own http(s) links.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        return []
    kept, skipped = [], []
    for entry in raw["entries"]:
        formats = entry.get("formats") if isinstance(entry, dict) else None
        if isinstance(formats, list):
            entry["formats"] = [f for f in formats if is_web_url(str(f.get("url") or ""))]
            if not entry["formats"]:
                skipped.append(str(formats[0].get("url") or "") if formats else "")
                continue
        kept.append(entry)
    raw["entries"] = kept
    return skipped


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
    deadline_s: float | None = None,
    min_speed_bps: float | None = None,
    speed_window_s: float = 60,
) -> Download:
    """Download one video stream of ``url`` into ``dest_dir`` as ``video.<ext>``.

    Limits are checked on the metadata before the download and on the bytes during it; size,
    frame rate and duration are what the site said (often nothing, for a bare file).
    ``jobs.frames.probe`` is what tells a video from anything else, and measures it. On any
    failure nothing of ours is left in ``dest_dir``. ``deadline_s`` bounds the whole call, and
    ``min_speed_bps`` the speed of the transfer over ``speed_window_s`` (see ``Watchdog``).
    """
    checked = check_url(url, allow_private=allow_private)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    # yt-dlp works in a private directory inside dest_dir (same filesystem, so the final move is
    # a rename); removing it afterwards removes every .part/.ytdl/fragment file it made.
    workdir = Path(tempfile.mkdtemp(prefix=".ytdlp-", dir=dest_dir))
    watchdog = Watchdog(deadline_s=deadline_s, min_bytes_per_s=min_speed_bps, window_s=speed_window_s)
    try:
        hook = _ProgressHook(progress, max_filesize, watchdog)
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
            with (
                watchdog,
                watch_sockets(watchdog.on_socket),
                GuardedYoutubeDL(params, allow_private=allow_private) as ydl,
            ):
                raw = ydl.extract_info(checked, download=False, process=False)
                if isinstance(raw, dict) and raw.get("_type") in ("playlist", "multi_video"):
                    raise SourceError(MSG_PLAYLIST_FOR_DOWNLOAD)
                info = ydl.process_ie_result(raw, download=False)
                if not isinstance(info, dict) or info.get("_type") in ("playlist", "multi_video"):
                    raise SourceError(MSG_PLAYLIST_FOR_DOWNLOAD)
                _check_limits(info, max_duration=max_duration, max_filesize=max_filesize)
                if progress is not None:
                    progress(0.0, "Download starting")
                watchdog.media_started()
                # The path --load-info-json takes: format selection again (same result, no
                # network), then the download itself.
                info = ydl.process_ie_result(info, download=True)
        except Exception as exc:
            # Whatever yt-dlp made of its cut sockets, the watchdog's reason is the story.
            if watchdog.reason is not None:
                raise SourceError(watchdog.reason) from exc
            if isinstance(exc, SourceError):
                raise
            if isinstance(exc, Refusal):
                logger.info("download of %s stopped: %s", checked, exc.message)
                raise SourceError(exc.message) from exc
            if isinstance(exc, YoutubeDLError):
                raise source_error(exc, checked, "download") from exc
            raise
        if watchdog.reason is not None:
            raise SourceError(watchdog.reason)

        # Exactly "video.<ext>": not "video.mp4.part", "video.mp4.ytdl" or fragment leftovers.
        produced = [p for p in workdir.iterdir() if p.is_file() and _FINAL_NAME.fullmatch(p.name)]
        if not produced:
            if ytdlp_logger.too_big:
                raise SourceError(MSG_TOO_BIG.format(limit=size_text(max_filesize)))
            logger.warning("yt-dlp reported success for %s but wrote no file", checked)
            raise SourceError(MSG_DOWNLOAD_FAILED)
        result = produced[0]
        size = result.stat().st_size
        if size == 0:
            raise SourceError(MSG_EMPTY)
        if size > max_filesize:
            raise SourceError(MSG_TOO_BIG.format(limit=size_text(max_filesize)))
        ext = result.suffix.lstrip(".").lower()
        if ext in _AUDIO_EXTS:
            raise SourceError(MSG_AUDIO_ONLY)
        if ext not in _VIDEO_EXTS and ext != _UNKNOWN_EXT:
            logger.info("download of %s produced a %r file, not a video container", checked, ext)
            raise SourceError(MSG_NOT_VIDEO)

        final = dest_dir / f"video.{ext}"
        os.replace(result, final)
        provider, provider_id, page_url = _identity(info, checked)
        width, height = info.get("width"), info.get("height")
        return Download(
            path=final,
            provider=provider,
            provider_id=provider_id,
            url=page_url,
            title=str(info.get("title") or "Untitled video").strip(),
            duration=_seconds(info.get("duration")),
            width=int(width) if width else None,
            height=int(height) if height else None,
            fps=_seconds(info.get("fps")),
            filesize=size,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
