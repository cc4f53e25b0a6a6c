"""Servers that break off a download or lie about its size: a failed download, said precisely."""

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

CUT_SHORT = "The site sent only part of the video (the download was cut short); please try again later."
DROPPED = "The site closed the connection in the middle of the download; please try again later."
EXPECTED = {
    "cut": CUT_SHORT,  # closes the connection half-way through the body
    "reset": DROPPED,  # resets it (TCP RST) half-way through
    "length_long": CUT_SHORT,  # announces more bytes than it sends
    # Announces fewer bytes than the file has: the download "succeeds" with the first half,
    # which before gave 1 frame of the 4 asked for, quietly.
    "length_short": CUT_SHORT,
}


def test_it_fails_a_broken_off_or_mis_sized_download_with_a_precise_message(
    transactional_db, media_server
) -> None:
    video_file = make_video(media_server.root / "v.mp4", seconds=8, keyint_s=1)
    people = users(len(EXPECTED))  # one user each: none waits for another's turn
    jobs = {
        kind: services.job_start(
            user=person, url=media_server.add_fault(f"/{kind}.mp4", video_file, kind), frames_requested=4
        ).job
        for kind, person in zip(EXPECTED, people, strict=True)
    }
    with run_cluster({"Q_WORKERS": "2"}) as cluster:
        wait_for(
            lambda: all(job(j.pk).is_finished for j in jobs.values()),
            timeout=120,
            what="the four downloads",
            cluster=cluster,
        )
    for kind, started in jobs.items():
        done = job(started.pk)
        assert (done.status, done.message) == (Job.Status.FAILED, EXPECTED[kind]), kind
        assert done.video.status == Video.Status.FAILED, kind
        assert done.video.error == EXPECTED[kind]
        assert not done.video.frames.exists(), kind
        assert not (Path(settings.INSPIRE_TEMP_DIR) / f"job-{done.pk}").exists()
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.jpg"))
