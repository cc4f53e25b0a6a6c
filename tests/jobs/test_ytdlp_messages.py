"""jobs.ytdlp.messages: what users read when yt-dlp fails, in plain words."""

from __future__ import annotations

import socket
import urllib.error

import pytest
from yt_dlp.networking.exceptions import HTTPError
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError

from jobs.ytdlp import messages


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (ExtractorError("Private video. Sign in if you've been granted access to this video"), "private"),
        (ExtractorError("Sign in to confirm your age. This video may be inappropriate"), "age-restricted"),
        # YouTube writes "you\u2019re" with a typographic apostrophe.
        (
            ExtractorError("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser"),
            "not a robot",
        ),
        (ExtractorError("This video is available to this channel's members-only content"), "signed-in"),
        (GeoRestrictedError("The uploader has not made this video available in your country."), "region"),
        (ExtractorError("Video unavailable. This video has been removed by the uploader"), "unavailable"),
        (ExtractorError("This live event will begin in 3 hours."), "not been published"),
        (ExtractorError("Unable to download", cause=TimeoutError("timed out")), "too long to answer"),
        (
            ExtractorError("Unable to download", cause=socket.gaierror(-2, "Name or service not known")),
            "find",
        ),
        (ExtractorError("Unable to download", cause=ConnectionRefusedError(111, "refused")), "connect"),
        (ExtractorError("Something new and strange"), "We could not read a video from this link."),
    ],
)
def test_it_turns_yt_dlp_errors_into_plain_words(exc: Exception, message: str) -> None:
    wrapped = DownloadError(f"ERROR: {exc}", (type(exc), exc, None))

    text = messages.readable_error(wrapped)

    assert message in text
    assert "ERROR" not in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (404, "The page or video was not found (HTTP 404)."),
        (410, "The page or video was not found (HTTP 410)."),
        (403, "The site refused access to this video (HTTP 403)."),
        (429, "The site is limiting requests right now; please try again later."),
        (503, "The site had an error (HTTP 503); please try again later."),
        (302, "The site redirected to a link we cannot follow."),
        (418, "The site answered with an error (HTTP 418)."),
    ],
)
def test_it_names_http_errors(code: int, message: str) -> None:
    error = urllib.error.HTTPError("https://example.com/", code, "status", None, None)  # type: ignore[arg-type]
    wrapped = DownloadError("ERROR: HTTP Error", (type(error), error, None))

    assert messages.readable_error(wrapped) == message


def test_it_passes_our_own_messages_through() -> None:
    for exc in (messages.Refusal("This video is too big."), messages.SourceError("This video is too big.")):
        wrapped = DownloadError("ERROR: stopped", (type(exc), exc, None))
        assert messages.readable_error(wrapped) == "This video is too big."


def test_it_calls_a_blocked_connection_a_private_address() -> None:
    blocked = messages.BlockedAddressError("refused to connect to non-public address 127.0.0.1")
    wrapped = DownloadError("ERROR: Unable to download", (type(blocked), blocked, None))

    assert messages.readable_error(wrapped) == messages.MSG_PRIVATE


def test_it_knows_yt_dlps_own_http_error() -> None:
    class _Response:
        status, reason, headers, url = 404, "Not Found", {}, "https://example.com/"

        def read(self) -> bytes:
            return b""

        def close(self) -> None:
            pass

    error = HTTPError(_Response())  # type: ignore[arg-type]
    assert messages.readable_error(DownloadError("ERROR", (type(error), error, None))) == (
        "The page or video was not found (HTTP 404)."
    )


def test_it_keeps_socket_errors_readable() -> None:
    dns = socket.gaierror(-2, "Name or service not known")
    assert messages.readable_error(dns) == messages.MSG_HOST_NOT_FOUND_ANY
