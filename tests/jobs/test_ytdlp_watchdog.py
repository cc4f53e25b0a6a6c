"""The download watchdog: an overall deadline and a minimum speed, even against a server that
keeps the connection alive with a trickle; and plain messages for a full disk."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from yt_dlp.utils import DownloadError

from jobs import ytdlp
from jobs.ytdlp.client import Watchdog
from jobs.ytdlp.messages import MSG_STORAGE_FULL, MSG_TOO_SLOW
from tests.videos import make_video


def _download(url: str, dest: Path, **limits):
    return ytdlp.download(
        url,
        dest_dir=dest,
        max_filesize=10**9,
        max_duration=3600,
        allow_private=True,
        socket_timeout=5,
        **limits,
    )


def test_it_stops_a_download_that_drips_below_the_minimum_speed(media_server, dest) -> None:
    video = make_video(media_server.root / "v.mp4", seconds=2)
    url = media_server.add_fault("/drip.mp4", video, "drip", drip_interval_s=0.2)
    with pytest.raises(ytdlp.SourceError) as stopped:
        _download(url, dest, min_speed_bps=50_000, speed_window_s=2)
    assert stopped.value.message == MSG_TOO_SLOW
    assert list(dest.iterdir()) == []
    # The server saw the connection go: a handful of bytes, not the file.
    assert media_server.bytes_served("/drip.mp4") < 100


def test_it_stops_a_download_at_its_deadline_however_fast_it_goes(media_server, dest) -> None:
    make_video(media_server.root / "v.mp4", seconds=6)
    media_server.throttle_bps = 100_000  # ten seconds for the whole file
    with pytest.raises(ytdlp.SourceError) as stopped:
        _download(media_server.url("v.mp4"), dest, deadline_s=2, min_speed_bps=50_000, speed_window_s=60)
    assert stopped.value.message == "The download took longer than the 2 s limit."
    assert list(dest.iterdir()) == []


def test_it_lets_a_normal_download_through(media_server, dest) -> None:
    video = make_video(media_server.root / "v.mp4", seconds=2)
    got = _download(media_server.url("v.mp4"), dest, deadline_s=60, min_speed_bps=50_000, speed_window_s=1)
    assert got.filesize == video.stat().st_size


def test_it_measures_the_speed_over_the_window_only() -> None:
    watch = Watchdog(deadline_s=None, min_bytes_per_s=1000, window_s=10)
    watch.media_started()
    start = watch._media_start
    assert watch.verdict(start + 5) is None  # not a whole window yet
    watch.bytes_so_far(20_000)
    assert watch.verdict(start + 10) is None  # 20 kB in 10 s: fast enough
    assert watch.verdict(start + 30) == MSG_TOO_SLOW  # nothing for the last 10 s
    watch.bytes_so_far(5_000)  # a retry counts from 0 again: 5 kB more, not 15 kB less
    assert watch._received == 25_000


def test_it_says_the_storage_is_full_when_the_temporary_folder_is() -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    wrapped = DownloadError(
        "ERROR: unable to write data: [Errno 28] No space left on device", (OSError, full, None)
    )
    assert ytdlp.readable_error(wrapped) == MSG_STORAGE_FULL
    assert ytdlp.readable_error(
        DownloadError("ERROR: unable to write data: [Errno 28] No space left on device")
    ) == (MSG_STORAGE_FULL)
