"""Beyond one machine: a web host and two worker hosts that share only the database (also the
broker, or Redis) and an S3 bucket (moto's server), each its own process group, folders and
loopback address (tests/deploy/multihost.py). The README's "Running on several hosts" follows
these steps.

The scenario: sign up over HTTP, add a playlist of six videos, see both worker hosts take jobs,
SIGKILL one worker host in the middle of reading a video (in place, with range requests, as
links are read), then
- ORM broker: the killed host's tasks are handed out again after Q_RETRY and finish once on
  the other host, with as many frames as untouched copies of the same video, none twice;
- Redis broker: the tasks are gone with the host (the one it ran and those its cluster had
  taken ahead); the reaper fails them ("running" past Q_TIMEOUT, or "queued" but in no queue),
  the playlist settles, and the user's retry finishes them on the other host.
Then frames and thumbnails through the web host (signed-URL redirects to the bucket), and the
bucket and the rows agree: every object has a row, every row's file is there.
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from django_q.models import Task

from gallery.models import Frame, Video
from jobs.models import Job
from jobs.pipeline import LOST_MESSAGE, timeout_message
from tests.deploy.helpers import Site, database_env
from tests.deploy.multihost import BUCKET, MEDIA_ADDRESS, Topology
from tests.httpserver import MediaServer, html_playlist
from tests.videos import make_video

pytestmark = [
    pytest.mark.cluster,
    # Rows the hosts commit must be visible here; serialized_rollback restores the schedules.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

Q_TIMEOUT_S = 30
Q_RETRY_S = 40  # the ORM broker hands a killed host's task out again this long after taking it
Q_LIMIT = 1  # tasks a cluster of Q_WORKERS=1 takes ahead (django-q2's queue_limit, workers²)
REAP_GRACE_S = 5  # the reaper fails a job still running Q_TIMEOUT + this after its attempt began
FRAMES = 4
VIDEOS = 6
PASSWORD = "a-Long-pass-phrase-42"
READING = ("Reading the video's index", "Finding good frames (0 of")  # the stream path's messages


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    """Six videos, copies of two sources: a copy processed untouched is what the killed one
    must end up with (same frames, no duplicates)."""
    served = tmp_path / "served"
    served.mkdir()
    sources = [make_video(tmp_path / "a.mp4", seconds=4), make_video(tmp_path / "b.mp4", seconds=5)]
    for i in range(VIDEOS):
        shutil.copyfile(sources[i % 2], served / f"clip-{i}.mp4")
    return served


@pytest.fixture
def topology(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Topology]:
    broker = request.param
    topo = Topology(
        tmp_path / "hosts",
        database=database_env(),
        broker=broker,
        q_timeout_s=Q_TIMEOUT_S,
        q_retry_s=Q_RETRY_S,
        extra_env={
            "INSPIRE_REAP_GRACE_S": str(REAP_GRACE_S),
            # Both hosts may work for the one user of the test at once (by default a user has
            # one job running at a time, whatever the number of hosts).
            "INSPIRE_USER_RUNNING_JOBS": str(VIDEOS),
        },
    )
    try:
        topo.start_bucket()
        if broker == "redis":
            topo.start_redis()
        yield topo
    finally:
        topo.close()


def _signed_up(base_url: str, username: str) -> Site:
    site = Site(base_url)
    status, _, _, url = site.post_form(
        "/accounts/signup/",
        {"username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert status == 200 and urllib.parse.urlsplit(url).path == "/", (status, url)
    return site


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _get_without_following(site: Site, path: str) -> tuple[int, str]:
    """The web host's own answer (the redirect), not where it points."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(site.jar), NoRedirect)
    try:
        with opener.open(site.base_url + path, timeout=30) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def _children(parent_id: int) -> list[Job]:
    return list(Job.objects.filter(parent_id=parent_id).select_related("video").order_by("pk"))


def _host_of(job: Job) -> str:
    return job.worker.split("@", 1)[0]


@pytest.mark.timeout(420)
@pytest.mark.parametrize("topology", ["orm", "redis"], indirect=True)
def test_it_runs_one_web_and_two_worker_hosts_on_a_bucket(topology: Topology, videos: Path) -> None:
    topo = topology
    topo.prepare()
    web = topo.start_web()
    workers = {"worker-a": topo.start_worker(0), "worker-b": topo.start_worker(1)}

    with MediaServer(videos, host=MEDIA_ADDRESS) as media:
        # Slow enough to catch a video being read in the middle (about 3 s a video), fast enough
        # overall.
        media.throttle_bps = (videos / "clip-0.mp4").stat().st_size / 3
        playlist_url = media.add_page(
            "/list.html", html_playlist("Six clips", [media.url(f"clip-{i}.mp4") for i in range(VIDEOS)])
        )

        # --- 1. sign up over HTTP; 2. add the playlist ------------------------------------------
        site = _signed_up(topo.web_url, "traveller")
        status, _, body, url = site.post_form("/jobs/add/", {"url": playlist_url, "frames": str(FRAMES)})
        match = re.fullmatch(r"/jobs/(\d+)/", urllib.parse.urlsplit(url).path)
        assert status == 200 and match, (status, url, body[:2000])
        parent_id = int(match.group(1))

        # --- both hosts take jobs; SIGKILL worker-b in the middle of reading a video ------------
        # The stream path says "Reading the video's index…" while it opens the video and
        # "Finding good frames (0 of N)…" while it decodes it; frames are stored only once all
        # are chosen (all or nothing), so either moment is before any frame is written.
        seen: dict[int, set[str]] = defaultdict(set)  # job -> the hosts that took it
        deadline = time.monotonic() + 120
        victim = None
        while victim is None:
            assert time.monotonic() < deadline, f"no video read to interrupt on worker-b\n{topo.logs()}"
            for child in _children(parent_id):
                if child.worker:
                    seen[child.pk].add(_host_of(child))
                took_a = any("worker-a" in hosts for hosts in seen.values())
                reading = child.status == Job.Status.RUNNING and child.message.startswith(READING)
                if took_a and reading and _host_of(child) == "worker-b":
                    victim = child
                    break
            time.sleep(0.1)
        workers["worker-b"].kill()
        assert not workers["worker-b"].group_alive()
        victim.refresh_from_db()
        assert victim.status == Job.Status.RUNNING and victim.attempts == 1, victim
        assert not victim.video.frames.exists(), "killed too late: frames were being written"

        if topo.broker == "orm":
            parent = _wait_finished(topo, parent_id, timeout_s=Q_RETRY_S + 120)
        else:
            parent = _redis_reap_and_retry(topo, site, parent_id, victim)
        assert workers["worker-a"].alive(), workers["worker-a"].log()

    # --- the killed job finished exactly once, on the other host -----------------------------
    assert parent.status == Job.Status.DONE, parent
    assert parent.message == f"{VIDEOS} of {VIDEOS} videos ready.", parent
    children = _children(parent_id)
    for child in children:
        seen[child.pk].add(_host_of(child))
    assert {"worker-a", "worker-b"} <= set().union(*seen.values()), seen
    victim.refresh_from_db()
    assert victim.status == Job.Status.DONE, victim
    assert _host_of(victim) == "worker-a" and seen[victim.pk] == {"worker-a", "worker-b"}
    assert victim.attempts == (2 if topo.broker == "orm" else 1), victim  # a retry starts again at 1
    # Read in place on the other host too, as users' links are (not downloaded whole).
    assert victim.result.get("source_note", "").startswith("Read "), victim.result
    # One finished task: the killed attempt never finished (the retry is a task of its own).
    assert Task.objects.filter(name=f"job-{victim.pk}", success=True).count() == 1

    # No frame twice: each video has its frames once (the selection of a copy may differ in
    # its moments, not in how many), the killed one as many as the copies of its source.
    counts = defaultdict(set)
    for child in children:
        index = int(re.search(r"clip-(\d+)\.mp4", child.video.source_url).group(1))
        stamps = list(child.video.frames.values_list("timestamp_ms", flat=True))
        hashes = list(child.video.frames.values_list("dhash", flat=True))
        assert 1 <= len(stamps) <= FRAMES, (child, stamps)
        assert len(set(stamps)) == len(stamps) and len(set(hashes)) == len(hashes), (child, stamps, hashes)
        counts[index % 2].add(len(stamps))
    assert all(len(n) == 1 for n in counts.values()), counts

    # --- 4. frames and thumbnails through the web host: redirects to signed bucket URLs ------
    frames = list(Frame.objects.filter(video__in=[c.video for c in children]))
    assert len(frames) >= VIDEOS
    bucket_origin = topo.bucket_env["AWS_S3_ENDPOINT_URL"]
    s3 = topo.s3()
    for frame in frames:
        for variant, name in (("image", frame.image.name), ("thumb", frame.thumbnail.name)):
            status, location = _get_without_following(site, f"/frames/{frame.pk}/{variant}")
            assert status == 302 and location.startswith(bucket_origin + "/"), (status, location)
            with urllib.request.urlopen(location, timeout=30) as response:
                assert response.headers["Content-Type"].startswith("image/")
                assert response.read() == s3.get_object(Bucket=BUCKET, Key=name)["Body"].read()
    stranger = _signed_up(topo.web_url, "stranger")
    status, location = _get_without_following(stranger, f"/frames/{frames[0].pk}/image")
    assert status == 404 and not location

    # --- 5. the bucket and the rows agree -------------------------------------------------------
    keys = topo.bucket_keys()
    rows = {name for f in Frame.objects.all() for name in (f.image.name, f.thumbnail.name)}
    rows |= set(Video.objects.exclude(file="").values_list("file", flat=True))
    assert keys == rows, {"objects without a row": keys - rows, "rows without an object": rows - keys}
    # Media only through the bucket; a surviving host leaves no downloads behind.
    for host in topo.hosts.values():
        assert not Path(host.env["MEDIA_ROOT"]).exists(), host.name
    assert not any(Path(workers["worker-a"].env["INSPIRE_TEMP_DIR"]).glob("job-*"))

    # --- the rest stop gracefully ---------------------------------------------------------------
    assert workers["worker-a"].stop() == 0, workers["worker-a"].log()
    assert web.stop() == 0, web.log()


def _wait_finished(topo: Topology, parent_id: int, *, timeout_s: float) -> Job:
    deadline = time.monotonic() + timeout_s
    while True:
        parent = Job.objects.get(pk=parent_id)
        if parent.is_finished:
            return parent
        assert time.monotonic() < deadline, f"playlist not finished: {parent}\n{topo.logs()}"
        time.sleep(0.5)


def _redis_reap_and_retry(topo: Topology, site: Site, parent_id: int, victim: Job) -> Job:
    """Redis: what the dead host held is gone with it: the task it ran, and the tasks its
    cluster had taken ahead (queue_limit). Everything else finishes on worker-a; the killed job
    stays "running" and those taken ahead "queued", until the reaper (every minute, on
    worker-a) fails them; the user retries them, and worker-a finishes them."""
    deadline = time.monotonic() + (Q_LIMIT + 2) * Q_TIMEOUT_S + REAP_GRACE_S + 120
    while True:
        victim.refresh_from_db()
        children = _children(parent_id)
        if victim.status == Job.Status.RUNNING:
            # Not handed out again: still the dead host's first attempt.
            assert victim.attempts == 1 and victim.worker.startswith("worker-b"), victim
        if all(c.is_finished for c in children):
            break
        assert time.monotonic() < deadline, f"not every job ended: {children}\n{topo.logs()}"
        time.sleep(0.5)
    # A clear state: failed with a message that says why, the videos let go, the playlist settled.
    failed = [c for c in children if c.status == Job.Status.FAILED]
    with override_settings(Q_TIMEOUT=Q_TIMEOUT_S):  # the hosts' Q_TIMEOUT, not this process's
        reaped_message = timeout_message()
    assert victim in failed and victim.message == reaped_message, victim
    assert all(c.message == LOST_MESSAGE for c in failed if c != victim), failed
    assert not any(c.holds_video for c in children)
    parent = Job.objects.get(pk=parent_id)
    assert parent.status == Job.Status.DONE, parent
    assert parent.message == f"{VIDEOS - len(failed)} of {VIDEOS} videos ready. {len(failed)} failed.", parent

    for job in failed:
        status, _, _, url = site.post_form(f"/jobs/{job.pk}/retry", {}, form_page="/jobs/add/")
        assert status == 200 and urllib.parse.urlsplit(url).path == f"/jobs/{job.pk}/", (status, url)
    return _wait_finished(topo, parent_id, timeout_s=120)
