"""What users read when a link cannot be used, and ``readable_error`` for yt-dlp's exceptions.

Shown to users as they are, so: plain words, no jargon, no exception text.
"""

from __future__ import annotations

import errno
import http.client
import logging
import socket
import ssl
import urllib.error
from collections.abc import Iterator

from yt_dlp.networking.exceptions import HTTPError as YtDlpHTTPError
from yt_dlp.networking.exceptions import IncompleteRead
from yt_dlp.utils import ContentTooShortError, GeoRestrictedError

logger = logging.getLogger(__name__)

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
MSG_TOO_SLOW = "The site sent the video too slowly."
MSG_DEADLINE = "The download took longer than the {limit} limit."
MSG_TRUNCATED = "The site sent only part of the video (the download was cut short); please try again later."
MSG_DROPPED = "The site closed the connection in the middle of the download; please try again later."
MSG_STORAGE_FULL = "The server's storage is full; nothing was saved."
MSG_STREAM_BROKEN = "The connection to the site kept breaking while we read the video; try again later."


class SourceError(Exception):
    """Message is for users, plain words: 'That address is not a web link.',
    'This page has no video we can read.', 'The video is longer than the 3 h limit.' ..."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else MSG_GENERIC


class Refusal(Exception):
    """Raised from inside yt-dlp (hooks, ``dl``) to stop it; never an OSError, so yt-dlp's
    download code, which retries or wraps OSErrors, lets it through unchanged."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BlockedAddressError(OSError):
    """Raised instead of connecting to a non-public address. An OSError, so that yt-dlp's own
    address loop (create_connection) treats it like any failed address and tries the next one."""


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
    ("no space left on device", MSG_STORAGE_FULL),
    # ContentTooShortError as yt-dlp's retry loop words it, once only its text is left.
    ("bytes, expected", MSG_TRUNCATED),
    ("connection reset", MSG_DROPPED),
    ("remote end closed connection", MSG_DROPPED),
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
        if isinstance(item, Refusal):
            return item.message
        if isinstance(item, SourceError):
            return item.message
    for item in chain:
        if isinstance(item, OSError) and item.errno == errno.ENOSPC:
            return MSG_STORAGE_FULL  # our temporary folder, not the site
        if isinstance(item, ContentTooShortError):
            return MSG_TRUNCATED
        if isinstance(item, (ConnectionResetError, IncompleteRead, http.client.IncompleteRead)):
            return MSG_DROPPED
    for item in chain:
        if isinstance(item, BlockedAddressError):
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


def source_error(exc: BaseException, url: str, action: str) -> SourceError:
    """The SourceError to raise for ``exc``; an error we do not recognise is logged in full."""
    message = readable_error(exc)
    if message == MSG_GENERIC:
        # Not a case we recognise: keep the whole story for whoever improves the mapping.
        logger.warning("yt-dlp %s failed for %s: %s", action, url, exc, exc_info=exc)
    else:
        logger.info("yt-dlp %s failed for %s (%s): %s", action, url, message, exc)
        logger.debug("yt-dlp %s traceback", action, exc_info=exc)
    return SourceError(message)
