"""The yt-dlp adapter: the only code that imports ``yt_dlp``.

- ``policy``: which links we fetch (``check_url``, address rules); no yt-dlp in it.
- ``guard``: the socket guard, the only code touching yt-dlp's private networking modules.
- ``messages``: what users read, and ``readable_error`` for yt-dlp's exceptions.
- ``client``: yt-dlp's options, ``inspect`` (what a link is) and ``download`` (one video).
- ``stream``: ``RangeReader``, a seekable file over HTTP range requests, through the guard.

Security model: users paste arbitrary links, and the worker runs inside our network. The policy
refuses anything but http(s) links to public hosts; the guard checks the address of every
connection yt-dlp opens, on every redirect hop and after DNS; no external downloader runs.
"""

from .client import (
    Download,
    Entry,
    Source,
    Stream,
    Watchdog,
    build_options,
    deno_path,
    download,
    format_spec,
    inspect,
    quick_match,
    stream_format_spec,
    warm_up,
)
from .messages import MSG_STORAGE_FULL, MSG_TRUNCATED, SourceError, readable_error
from .policy import check_url, is_web_url
from .stream import Limits, RangeReader, RangesRefused

__all__ = [
    "MSG_STORAGE_FULL",
    "MSG_TRUNCATED",
    "Download",
    "Entry",
    "Limits",
    "RangeReader",
    "RangesRefused",
    "Source",
    "SourceError",
    "Stream",
    "Watchdog",
    "build_options",
    "check_url",
    "deno_path",
    "download",
    "format_spec",
    "inspect",
    "is_web_url",
    "quick_match",
    "readable_error",
    "stream_format_spec",
    "warm_up",
]
