"""Every job ends: a task past Q_TIMEOUT, and a job whose task vanished, become failed jobs
that can be retried, and release their video to the jobs waiting for it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from gallery import services as gallery_services
from gallery.models import Video
from jobs import maintenance, pipeline, services
from jobs.models import Job
from tests.cluster import run_cluster, wait_for
from tests.reliability.conftest import job, users
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]


def test_it_fails_a_task_past_its_timeout_and_starts_the_waiting_job_again(
    transactional_db, media_server, settings
) -> None:
    # Read in place with range requests, 3 kB/s a connection: the index, the tail and the
    # keyframes a selection reads (a few hundred kB, even over the reader's 6 parallel
    # connections) take far more than a 15 s Q_TIMEOUT. The speed check is off (0 KB/s), so the
    # timeout stops it, most likely while PyAV is in a read of the range reader: the job must
    # still fail with the timeout's message (not die with its worker) and release the video.
    big = make_video(media_server.root / "long.mp4", seconds=12, size=(640, 360), fps=25, keyint_s=0.5)
    assert big.stat().st_size > 600_000
    media_server.throttle_bps = 3_000
    url = media_server.url("long.mp4")
    ada, bob = users(2)
    first = services.job_start(user=ada, url=url, frames_requested=4).job
    env = {"Q_WORKERS": "2", "Q_TIMEOUT": "15", "Q_RETRY": "25", "INSPIRE_MIN_SPEED_KBPS": "0"}
    settings.Q_TIMEOUT = 15
    with run_cluster(env) as cluster:
        wait_for(lambda: job(first.pk).holds_video, timeout=30, what="the first download", cluster=cluster)
        second = services.job_start(user=bob, url=url, frames_requested=4).job
        wait_for(lambda: job(second.pk).status == Job.Status.WAITING, timeout=30, what="Bob waiting")
        wait_for(lambda: job(first.pk).is_finished, timeout=30, what="the timeout", cluster=cluster)
        media_server.throttle_bps = None  # Bob's own try goes at full speed
        timed_out = job(first.pk)
        assert timed_out.status == Job.Status.FAILED
        assert (
            timed_out.message == pipeline.timeout_message() == "This took longer than 15 s and was stopped."
        )
        assert not timed_out.holds_video
        wait_for(lambda: job(second.pk).is_finished, timeout=60, what="Bob's job", cluster=cluster)
        assert job(second.pk).status == Job.Status.DONE, job(second.pk).message
        services.job_retry(job=timed_out)  # Retry accepts it
        wait_for(lambda: job(first.pk).is_finished, timeout=30, what="the retry", cluster=cluster)
    retried = job(first.pk)
    assert retried.status == Job.Status.DONE, retried.message
    assert retried.video.status == Video.Status.READY
    assert 1 <= retried.video.frames.count() <= 4
    assert not (Path(settings.INSPIRE_TEMP_DIR) / f"job-{first.pk}").exists()


def test_it_reaps_a_job_whose_task_vanished_within_a_minute(transactional_db, media_server) -> None:
    """Its worker was killed with no redelivery to come (the task row is gone, as after a
    timeout or with Redis): the scheduled reaper fails it, and the waiting job runs."""
    make_video(media_server.root / "v.mp4", seconds=6)
    url = media_server.url("v.mp4")
    ada, bob = users(2)
    video = gallery_services.video_register(provider="generic", provider_id="lost", source_url=url)
    gallery_services.video_set_status(video=video, status=Video.Status.PROCESSING)
    lost = Job.objects.create(
        user=ada,
        kind=Job.Kind.VIDEO,
        source_url=url,
        video=video,
        status=Job.Status.RUNNING,
        holds_video=True,
        attempts=1,
        started_at=timezone.now() - timedelta(hours=1),
        message="Downloading 40%",
    )
    waiting = Job.objects.create(
        user=bob, kind=Job.Kind.VIDEO, source_url=url, video=video, status=Job.Status.WAITING
    )
    maintenance.schedules_ensure()  # the reaper is due at once
    with run_cluster({"Q_TIMEOUT": "20", "Q_RETRY": "30"}) as cluster:
        # django-q2's scheduler looks every 30 s.
        wait_for(lambda: job(lost.pk).is_finished, timeout=75, what="the reaper", cluster=cluster)
        wait_for(lambda: job(waiting.pk).is_finished, timeout=60, what="the waiting job", cluster=cluster)
        reaped = job(lost.pk)
        assert reaped.status == Job.Status.FAILED
        assert reaped.message == "This took longer than 20 s and was stopped."
        assert not reaped.holds_video
        assert job(waiting.pk).status == Job.Status.DONE, job(waiting.pk).message
        services.job_retry(job=reaped)
        wait_for(lambda: job(lost.pk).is_finished, timeout=30, what="the retry", cluster=cluster)
    assert job(lost.pk).status == Job.Status.DONE
    video.refresh_from_db()
    assert video.status == Video.Status.READY
