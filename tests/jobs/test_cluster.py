"""The pipeline through a real `manage.py qcluster` process on the test database.

These tests commit their data (transactional_db) so the cluster process sees it, and queue work
exactly as the site does: the service writes the Job and django-q2's ORM broker row on commit.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from gallery.models import Frame, Video
from jobs import services
from jobs.models import Job
from tests.cluster import run_cluster, wait_for
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]


def _job(pk: int) -> Job:
    return Job.objects.get(pk=pk)


def test_it_runs_a_job_through_the_real_cluster(transactional_db, served_video) -> None:
    user = User.objects.create_user("clusterfan", password="x-Strong-passw0rd")
    started = services.job_start(user=user, url=served_video, frames_requested=5)
    with run_cluster() as cluster:
        wait_for(lambda: _job(started.job.pk).is_finished, timeout=90, what="the job", cluster=cluster)
    job = _job(started.job.pk)
    assert job.status == Job.Status.DONE, job.message
    assert job.attempts == 1
    assert job.video.status == Video.Status.READY
    assert 4 <= job.video.frames.count() <= 5


def test_it_finishes_a_job_once_after_its_worker_is_killed(transactional_db, media_server, settings) -> None:
    # A 1.5+ MB video served at 150 kB/s: the download is still running when the cluster dies.
    big = make_video(media_server.root / "long.mp4", seconds=12, size=(640, 360), fps=25, keyint_s=0.5)
    assert big.stat().st_size > 600_000
    media_server.throttle_bps = 150_000
    user = User.objects.create_user("unlucky", password="x-Strong-passw0rd")
    started = services.job_start(user=user, url=media_server.url("long.mp4"), frames_requested=5)
    job_id = started.job.pk
    # retry > timeout as in production, but short, so the broker hands the task out again soon.
    env = {"Q_TIMEOUT": "20", "Q_RETRY": "25"}
    workdir = Path(settings.INSPIRE_TEMP_DIR) / f"job-{job_id}"

    with run_cluster(env) as cluster:
        wait_for(
            lambda: media_server.bytes_served("/long.mp4") > 100_000,
            timeout=60,
            what="the download",
            cluster=cluster,
        )
        os.killpg(cluster.pid, signal.SIGKILL)  # the whole cluster, workers included, mid-download
        cluster.wait(timeout=10)
    killed = _job(job_id)
    assert killed.status == Job.Status.RUNNING
    assert killed.attempts == 1
    assert not Frame.objects.exists()
    assert workdir.exists(), "a killed attempt leaves its partial download behind"

    media_server.throttle_bps = None
    with run_cluster(env) as cluster:
        wait_for(lambda: _job(job_id).is_finished, timeout=120, what="the retried job", cluster=cluster)
    job = _job(job_id)
    assert job.status == Job.Status.DONE, job.message
    assert job.attempts == 2
    frames = list(job.video.frames.values_list("timestamp_ms", flat=True))
    assert 4 <= len(frames) <= 5
    assert len(set(frames)) == len(frames)
    assert not workdir.exists(), "the retry cleaned the killed attempt's files"
    assert Job.objects.count() == 1


def test_it_downloads_a_video_once_for_two_simultaneous_requests(transactional_db, media_server) -> None:
    video_file = make_video(media_server.root / "shared.mp4", seconds=10, size=(480, 270), keyint_s=1)
    size = video_file.stat().st_size
    media_server.throttle_bps = max(100_000, size / 3)  # about three seconds of downloading
    ada = User.objects.create_user("ada", password="x-Strong-passw0rd")
    bob = User.objects.create_user("bob", password="x-Strong-passw0rd")
    url = media_server.url("shared.mp4")
    first = services.job_start(user=ada, url=url, frames_requested=4).job
    second = services.job_start(user=bob, url=url, frames_requested=4).job
    with run_cluster({"Q_WORKERS": "2"}) as cluster:
        wait_for(
            lambda: _job(first.pk).is_finished and _job(second.pk).is_finished,
            timeout=120,
            what="both jobs",
            cluster=cluster,
        )
    one, two = _job(first.pk), _job(second.pk)
    assert one.status == two.status == Job.Status.DONE, (one.message, two.message)
    assert one.video_id == two.video_id
    assert Video.objects.count() == 1
    # Each job's first look at the link reads the file's head (yt-dlp's generic extractor sniffs
    # it), a few hundred kB at most; a second download would double the total.
    assert media_server.bytes_served("/shared.mp4") < size * 1.5, "downloaded more than once"
    statuses = {one.message, two.message}
    assert all(m.startswith("Ready: ") for m in statuses)
    assert one.video.frames.count() <= 4
    assert one.video.library_items.count() == 2
