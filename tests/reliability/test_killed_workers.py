"""A worker SIGKILLed in the middle of a download, and another in the middle of extraction from
a stream read in place: the broker hands each task out again, and each job ends once, with its
frames stored once."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from gallery.models import Frame
from jobs import maintenance, services
from jobs.models import Job
from tests.cluster import process_using, run_cluster, wait_for
from tests.httpserver import MediaServer
from tests.reliability.conftest import job, users
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]


@pytest.fixture
def stack():
    with contextlib.ExitStack() as stack:
        yield stack


def test_it_finishes_jobs_whose_worker_was_killed_mid_download_and_mid_extraction(
    transactional_db, media_server, stack
) -> None:
    make_video(media_server.root / "slow.mp4", seconds=10, size=(640, 360), keyint_s=1)
    make_video(media_server.root / "long.mp4", seconds=12, size=(640, 360), keyint_s=1)
    media_server.throttle_bps = 400_000  # the slow one takes about 9 s to download
    # A server that ignores Range: the slow one cannot be read in place, so it is downloaded.
    media_server.ranges = False
    fast = stack.enter_context(MediaServer(media_server.root))  # the long one at full speed, in place
    ada, bob = users(2)
    downloading = services.job_start(user=ada, url=media_server.url("slow.mp4"), frames_requested=4).job
    extracting = services.job_start(user=bob, url=fast.url("long.mp4"), frames_requested=12).job
    temp = Path(settings.INSPIRE_TEMP_DIR)
    # retry > timeout as in production, but short, so the broker hands the tasks out again soon;
    # the timeout leaves room for a loaded machine (the second attempts must finish within it).
    env = {"Q_WORKERS": "2", "Q_TIMEOUT": "40", "Q_RETRY": "42"}
    killed = set()

    def worker_of(job_id: int) -> int | None:
        """The pid of the cluster's worker running the job (Job.worker ends with it): reading a
        stream in place, it has no file open in the job's folder."""
        pid = int(job(job_id).worker.rpartition("/")[2] or 0)
        try:
            return pid if pid and os.getpgid(pid) == cluster.pid else None
        except ProcessLookupError:
            return None

    def kill_when(job_id: int, moment: str) -> bool:
        # "Downloading" while bytes arrive into the job's folder (the worker has the file open);
        # "Finding good frames" while the stream is read and decoded.
        if job_id in killed or not job(job_id).message.startswith(moment):
            return job_id in killed
        pid = process_using(cluster, temp / f"job-{job_id}") if moment == "Downloading" else worker_of(job_id)
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        killed.add(job_id)
        return True

    with run_cluster(env) as cluster:
        wait_for(
            lambda: (
                kill_when(downloading.pk, "Downloading") and kill_when(extracting.pk, "Finding good frames")
            ),
            timeout=60,
            what="both workers at work",
            cluster=cluster,
        )
        media_server.throttle_bps = None
        wait_for(
            lambda: job(downloading.pk).is_finished and job(extracting.pk).is_finished,
            timeout=120,
            what="the tasks handed out again",
            cluster=cluster,
        )
    for started, asked, path in ((downloading, 4, "Downloaded "), (extracting, 12, "Read ")):
        done = job(started.pk)
        assert done.status == Job.Status.DONE, done.message
        assert done.attempts == 2
        assert done.result.get("source_note", "").startswith(path), done.result  # the path it took
        stamps = list(done.video.frames.values_list("timestamp_ms", flat=True))
        assert 1 <= len(stamps) <= asked and len(set(stamps)) == len(stamps)
        assert not (temp / f"job-{done.pk}").exists()
    # Every frame's files are there, and once no row points at a file, the cleanup removes it.
    for frame in Frame.objects.all():
        assert Path(frame.image.path).is_file() and Path(frame.thumbnail.path).is_file()
    maintenance.media_prune(grace_s=0)
    media = Path(settings.MEDIA_ROOT)
    on_disk = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}
    assert on_disk == {n for pair in Frame.objects.values_list("image", "thumbnail") for n in pair}
