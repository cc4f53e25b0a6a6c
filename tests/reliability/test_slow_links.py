"""Slow links cannot hold the queue: a minimum speed, and one running job per user."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from gallery.models import Video
from jobs import services
from jobs.models import Job
from tests.cluster import run_cluster, wait_for
from tests.reliability.conftest import job, users
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]

TOO_SLOW = "The site sent the video too slowly."


def test_it_runs_another_users_normal_link_while_one_user_has_two_slow_ones(
    transactional_db, media_server
) -> None:
    slow_file = make_video(media_server.root / "slow.mp4", seconds=4)
    make_video(media_server.root / "normal.mp4", seconds=8)
    ada, bob = users(2)
    slow = [
        services.job_start(user=ada, url=media_server.add_fault(f"/slow{i}.mp4", slow_file, "drip")).job
        for i in (1, 2)
    ]
    # Ada's second link is not even handed to the cluster while her first one runs.
    assert [job(j.pk).held for j in slow] == [False, True]
    assert job(slow[1].pk).message == "Waiting for your other job to finish first…"
    normal = services.job_start(user=bob, url=media_server.url("normal.mp4"), frames_requested=4).job
    # Two workers, as in production: before, the two slow links took both until Q_TIMEOUT.
    env = {"Q_WORKERS": "2", "INSPIRE_MIN_SPEED_WINDOW_S": "15"}
    # Stopped while Ada's second link still drips: no need to wait politely for it.
    with run_cluster(env, stop_timeout=2) as cluster:
        wait_for(lambda: job(normal.pk).is_finished, timeout=60, what="Bob's link", cluster=cluster)
        first, second = job(slow[0].pk), job(slow[1].pk)
        # Bob's link did not wait for Ada's: her first is still dripping, her second waits.
        assert first.status == Job.Status.RUNNING, first.message
        assert second.status == Job.Status.QUEUED and second.held
        wait_for(lambda: job(slow[0].pk).is_finished, timeout=60, what="Ada's first link", cluster=cluster)
        # Her second starts once her first has ended.
        wait_for(lambda: job(slow[1].pk).status == Job.Status.RUNNING, timeout=30, what="Ada's second")
    bobs = job(normal.pk)
    assert bobs.status == Job.Status.DONE, bobs.message
    assert bobs.message.startswith("Ready: ")
    assert 1 <= bobs.video.frames.count() <= 4
    # Ada's first link was stopped for its speed: nothing of it is kept.
    stopped = job(slow[0].pk)
    assert (stopped.status, stopped.message) == (Job.Status.FAILED, TOO_SLOW)
    assert stopped.video.status == Video.Status.FAILED and not stopped.video.frames.exists()
    assert not (Path(settings.INSPIRE_TEMP_DIR) / f"job-{stopped.pk}").exists()
    assert not job(slow[1].pk).held
