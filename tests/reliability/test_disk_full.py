"""A full disk, on a real small tmpfs: a plain message, nothing half-written, and the operator
sees it in /healthz and `inspire_status`."""

from __future__ import annotations

import html
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from gallery.models import Frame, Video
from jobs import maintenance, services
from jobs.models import Job
from tests.cluster import run_cluster, wait_for
from tests.reliability.conftest import fill, job, users
from tests.videos import make_video

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("allow_private")]

FULL = "The server's storage is full; nothing was saved."


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "ballast.bin"]


def test_it_fails_jobs_plainly_when_media_or_the_temporary_folder_fill(
    transactional_db, media_server, tmpfs, settings
) -> None:
    media = tmpfs(Path(settings.MEDIA_ROOT), "2m")
    temp = tmpfs(Path(settings.INSPIRE_TEMP_DIR), "3m")
    fill(media, leave_bytes=120_000)  # room for a few frames, not for twelve
    small = make_video(media_server.root / "small.mp4", seconds=6)  # 1.1 MB: fits the temp folder
    big = make_video(media_server.root / "big.mp4", seconds=10, size=(640, 360), keyint_s=1)  # 3.7 MB
    assert small.stat().st_size < 3_000_000 < big.stat().st_size
    ada, bob = users(2)
    frames_job = services.job_start(user=ada, url=media_server.url("small.mp4"), frames_requested=12).job
    download_job = services.job_start(user=bob, url=media_server.url("big.mp4"), frames_requested=4).job
    with run_cluster({"Q_WORKERS": "1"}) as cluster:
        wait_for(
            lambda: job(frames_job.pk).is_finished and job(download_job.pk).is_finished,
            timeout=120,
            what="both jobs",
            cluster=cluster,
        )
    # The frames did not all fit: none was kept, no truncated file is left, and the video is not
    # READY behind a failed job.
    frames_done = job(frames_job.pk)
    assert (frames_done.status, frames_done.message) == (Job.Status.FAILED, FULL)
    assert frames_done.video.status == Video.Status.FAILED
    assert not Frame.objects.exists()
    assert _files(media) == []
    # A full temporary folder during a download says so (before: "We could not read a video").
    download_done = job(download_job.pk)
    assert (download_done.status, download_done.message) == (Job.Status.FAILED, FULL)
    assert _files(temp) == []

    # The operator sees it.
    settings.INSPIRE_STORAGE_MIN_FREE_MB = 1
    health = maintenance.health_measure()
    assert health.storage == "full" and health.media_free_mb == 0
    with pytest.raises(CommandError) as raised:
        call_command("inspire_status")
    assert raised.value.returncode == 4
    assert "storage is full" in str(raised.value)


def test_it_refuses_an_upload_that_does_not_fit_and_keeps_nothing_of_it(
    transactional_db, owner_client, tmp_path, tmpfs, settings
) -> None:
    media = tmpfs(Path(settings.MEDIA_ROOT), "2m")
    fill(media, leave_bytes=300_000)
    video = make_video(tmp_path / "mine.mp4", seconds=6)  # 1.1 MB
    upload = SimpleUploadedFile("mine.mp4", video.read_bytes(), content_type="video/mp4")
    response = owner_client.post(reverse("jobs:add"), {"upload": upload, "frames": 4})
    assert response.status_code == 400  # before: 500, with the partial file left in uploads/
    assert FULL in html.unescape(response.content.decode())
    assert not Job.objects.exists()
    assert _files(media) == []
    settings.INSPIRE_STORAGE_MIN_FREE_MB = 1
    data = owner_client.get("/healthz").json()
    assert data["storage"] == "full"


def test_it_says_so_when_the_upload_temporary_folder_fills_while_receiving(
    transactional_db, owner_client, tmp_path, tmpfs, settings
) -> None:
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE Django streams the request's file to FILE_UPLOAD_TEMP_DIR.
    settings.FILE_UPLOAD_TEMP_DIR = str(tmpfs(tmp_path / "upload-temp", "1m"))
    body = os.urandom(settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1_000_000)
    upload = SimpleUploadedFile("big.mp4", body, content_type="video/mp4")
    response = owner_client.post(reverse("jobs:add"), {"upload": upload, "frames": 4})
    assert response.status_code == 507
    assert FULL in html.unescape(response.content.decode())
    assert not Job.objects.exists()
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
