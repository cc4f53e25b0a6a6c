"""The pipeline reading videos in place with HTTP range requests, and falling back to a download.

The site is tests/youtube_like.py: a watch page yt-dlp's generic extractor resolves to a stream
URL that only answers range requests and expires. One test goes through the real cluster; the
others run the queue in this process (django-q2's sync mode), on real yt-dlp, HTTP and PyAV.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import pytest
from django.contrib.auth.models import User

from gallery.models import Frame
from jobs import frames, services
from jobs.models import Job
from jobs.ytdlp.messages import MSG_TOO_SLOW
from tests.cluster import run_cluster, wait_for
from tests.videos import FRAGMENTED, make_video
from tests.youtube_like import StreamServer

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture(scope="module")
def long_dash(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten minutes, long enough that its frames need a small part of it: 120 keyframes for
    the 24 candidates of 5 frames. 10 fps keeps it quick to make."""
    path = tmp_path_factory.mktemp("long") / "tour.mp4"
    return make_video(path, seconds=600, fps=10, keyint_s=5, movflags=FRAGMENTED)


@pytest.fixture(scope="module")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("short") / "short.mp4", seconds=12)


@pytest.fixture
def site() -> Iterator[StreamServer]:
    with StreamServer() as server:
        yield server


def _frame_at(path: Path, timestamp_ms: int) -> bytes:
    """The JPEG of the frame shown at ``timestamp_ms`` of a local file, decoded from its keyframe
    on, encoded as the extractor encodes its stills."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(timestamp_ms / 1000 / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if round(float(frame.pts * stream.time_base) * 1000) >= timestamp_ms:
                ok, jpeg = cv2.imencode(
                    ".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, frames.JPEG_QUALITY]
                )
                assert ok
                return jpeg.tobytes()
    raise AssertionError(f"no frame at {timestamp_ms} ms")


def _start(user: User, url: str, run_queue, count: int = 5) -> Job:
    with run_queue():
        started = services.job_start(user=user, url=url, frames_requested=count)
    return Job.objects.get(pk=started.job.pk)


@pytest.mark.cluster
def test_it_reads_a_small_part_of_a_long_video_through_the_cluster(
    transactional_db, site: StreamServer, long_dash: Path
) -> None:
    # Like googlevideo: ranges only, and the URL the job starts with expires mid-job (one
    # refresh through yt-dlp); the fresh one lasts, as googlevideo's last hours. It expires at
    # the 4th request: the probe's first 5 (the head, the end of the file, the head read on)
    # come before any parallel prefetch and before the random points, the same and one at a
    # time in every run, so exactly one is refused. A budget of 40 for every URL fell where
    # the points vary the count: on a parallel prefetch, which had up to 5 refused at once, or
    # so late that the fresh URL ran out too.
    site.add("tour.mp4", long_dash, require_range=True, expire_requests=3, expiring_urls=1)
    user = User.objects.create_user("streamer", password="x-Strong-passw0rd")
    started = services.job_start(user=user, url=site.watch_url("tour.mp4"), frames_requested=5)
    with run_cluster() as cluster:
        wait_for(
            lambda: Job.objects.get(pk=started.job.pk).is_finished,
            timeout=120,
            what="the job",
            cluster=cluster,
        )
    job = Job.objects.get(pk=started.job.pk)
    assert job.status == Job.Status.DONE, (job.message, site.media_requests("tour.mp4"))
    assert "from the stream" in job.message and "Downloaded" not in job.message

    size = long_dash.stat().st_size
    assert site.bytes_sent < 0.10 * size, f"read {site.bytes_sent} of {size} bytes"
    media = site.media_requests("tour.mp4")
    assert all(requested for _, _, requested, _ in media), "a request without Range"
    statuses = [status for *_, status in media]
    assert statuses.count(403) == 1, media  # expired once, refreshed once
    assert statuses.index(403) == 3, media  # in the probe, where no prefetch runs in parallel
    assert [path for _, path, _, _ in site.log].count("/watch/tour.mp4") == 2

    # The same pixels a full download gives at the same timestamps.
    stored = list(job.video.frames.order_by("timestamp_ms"))
    assert 3 <= len(stored) <= 5
    for frame in stored:
        with frame.image.open("rb") as fh:
            assert fh.read() == _frame_at(long_dash, frame.timestamp_ms), frame.timestamp_ms
    assert job.video.duration == pytest.approx(600, abs=0.5)


def test_it_downloads_when_the_site_ignores_ranges(
    owner, site: StreamServer, short_video: Path, run_queue
) -> None:
    site.add("plain.mp4", short_video, ranges=False)
    job = _start(owner, site.watch_url("plain.mp4"), run_queue)
    assert job.status == Job.Status.DONE, (job.message, site.media_requests("plain.mp4"))
    assert "Downloaded" in job.message
    assert job.video.frames.count() >= 3


def test_it_downloads_a_progressive_mpeg_ts(owner, media_server, run_queue) -> None:
    make_video(media_server.root / "broadcast.ts", seconds=8)
    job = _start(owner, media_server.url("broadcast.ts"), run_queue)
    assert job.status == Job.Status.DONE, job.message
    assert "Downloaded" in job.message


def test_it_stops_a_slow_drip_with_a_clear_message(
    owner, site: StreamServer, short_video: Path, run_queue, settings
) -> None:
    settings.INSPIRE_MIN_SPEED_KBPS = 50
    settings.INSPIRE_MIN_SPEED_WINDOW_S = 1
    site.add("drip.mp4", short_video, drip_bps=5_000)
    job = _start(owner, site.watch_url("drip.mp4"), run_queue)
    assert job.status == Job.Status.FAILED
    assert job.message == MSG_TOO_SLOW
    assert not Frame.objects.exists()


def test_it_resolves_the_link_again_to_pull_more_frames(
    owner, site: StreamServer, short_video: Path, run_queue
) -> None:
    site.add("tour.mp4", short_video, require_range=True)
    first = _start(owner, site.watch_url("tour.mp4"), run_queue, count=3)
    assert first.status == Job.Status.DONE, first.message
    had = first.video.frames.count()
    with run_queue():
        more = services.job_start_frames(user=owner, video=first.video, frames_requested=2)
    more.refresh_from_db()
    assert more.status == Job.Status.DONE, more.message
    assert "from the stream" in more.message
    assert first.video.frames.count() > had
    # A fresh stream URL: the one of the first job may have expired since.
    assert [path for _, path, _, _ in site.log].count("/watch/tour.mp4") == 2
