"""jobs.services: what a submission is checked for, what it queues, and how retries go.

The worker is not run here (tests/jobs/test_pipeline.py does that): these tests look at the rows
made and at the tasks handed to django-q2 when the transaction commits.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import LibraryItem, Video
from jobs import services
from jobs.models import Job
from jobs.units import MB
from tests import factories
from tests.videos import make_audio_only, make_corrupt

pytestmark = pytest.mark.usefixtures("allow_private")

URL = "https://videos.example.com/tour.mp4"


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The tasks handed to django-q2: (dotted path, args, kwargs), in order."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        services, "async_task", lambda func, *args, **kwargs: calls.append((func, args, kwargs))
    )
    return calls


@pytest.mark.parametrize("url", ["not a link", "file:///etc/passwd", "ftp://example.com/video.mp4"])
def test_it_rejects_bad_links_before_queueing(owner, url) -> None:
    with pytest.raises(ValidationError) as info:
        services.job_start(user=owner, url=url)
    assert info.value.messages[0]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/video.mp4",
        "http://10.1.2.3/v.mp4",
        "http://[::1]/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_it_refuses_private_addresses_when_the_setting_is_off(owner, settings, url) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ValidationError) as info:
        services.job_start(user=owner, url=url)
    assert "private" in info.value.messages[0].lower()
    assert not Job.objects.exists()


def test_it_rejects_too_many_frames(owner, settings) -> None:
    with pytest.raises(ValidationError):
        services.job_start(user=owner, url=URL, frames_requested=settings.INSPIRE_FRAMES_MAX + 1)
    assert not Job.objects.exists()


def test_it_queues_a_job_by_dotted_path_once_the_transaction_commits(
    owner, queued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = services.job_start(user=owner, url=URL, frames_requested=4)
        assert queued == []  # not from inside the transaction
    for callback in callbacks:
        callback()
    job = started.job
    assert (job.kind, job.status, job.frames_requested, job.source_url) == (
        Job.Kind.VIDEO,
        Job.Status.QUEUED,
        4,
        URL,
    )
    assert queued == [("jobs.tasks.run_job", (job.pk,), {"task_name": f"job-{job.pk}"})]


def test_it_links_a_ready_video_without_a_new_job(owner, queued, django_capture_on_commit_callbacks) -> None:
    video = factories.VideoFactory(source_url=URL, status=Video.Status.READY)
    with django_capture_on_commit_callbacks(execute=True):
        started = services.job_start(user=owner, url=URL)
    assert (started.job, started.video) == (None, video)
    assert LibraryItem.objects.filter(user=owner, video=video).exists()
    assert queued == [] and not Job.objects.exists()


def test_it_queues_nothing_inside_jobs_inline(owner, queued, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True), services.jobs_inline():
        started = services.job_start(user=owner, url=URL)
    assert started.job is not None
    assert queued == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.mp4", b"", "The file is empty."),
        ("notes.mp4", b"just some text, not a video at all" * 10, "not a video we can read"),
    ],
)
def test_it_rejects_bad_uploads(owner, name, content, message) -> None:
    with pytest.raises(ValidationError) as info:
        services.job_start_upload(user=owner, upload=SimpleUploadedFile(name, content))
    assert message in info.value.messages[0]
    assert not Job.objects.exists()


def test_it_rejects_a_file_that_only_starts_like_an_mp4(owner, tmp_path) -> None:
    broken = make_corrupt(tmp_path / "broken.mp4")
    with pytest.raises(ValidationError) as info:
        services.job_start_upload(user=owner, upload=SimpleUploadedFile("broken.mp4", broken.read_bytes()))
    assert "not a video we can read" in info.value.messages[0]
    assert not Job.objects.exists()


def test_it_rejects_an_audio_file_uploaded_as_a_video(owner, tmp_path) -> None:
    song = make_audio_only(tmp_path / "song.m4a", seconds=2)
    with pytest.raises(ValidationError) as info:
        services.job_start_upload(user=owner, upload=SimpleUploadedFile("song.mp4", song.read_bytes()))
    assert "audio only" in info.value.messages[0]
    assert not Job.objects.exists()


def test_it_counts_a_megabyte_as_a_million_bytes_for_the_upload_limit(owner, settings) -> None:
    settings.INSPIRE_MAX_UPLOAD_MB = 1
    at_limit = SimpleUploadedFile("junk.mp4", b"\x00" * MB)
    with pytest.raises(ValidationError) as info:
        services.job_start_upload(user=owner, upload=at_limit)
    assert "not a video" in info.value.messages[0]  # the size passed; the content did not
    over = SimpleUploadedFile("big.mp4", b"\x00" * (MB + 1))
    with pytest.raises(ValidationError) as info:
        services.job_start_upload(user=owner, upload=over)
    assert info.value.messages == ["The file is larger than the 1 MB upload limit."]
    assert not Job.objects.exists()


def test_it_retries_only_a_failed_job(owner) -> None:
    done = factories.JobFactory(user=owner, status=Job.Status.DONE)
    with pytest.raises(ValidationError, match="Only a failed job"):
        services.job_retry(job=done)


def test_it_retries_a_failed_job_from_the_start(owner, queued, django_capture_on_commit_callbacks) -> None:
    job = factories.JobFactory(
        user=owner, status=Job.Status.FAILED, attempts=3, progress=0.4, message="Network down."
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(job=job)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress, job.finished_at) == (Job.Status.QUEUED, 0, 0.0, None)
    assert queued == [("jobs.tasks.run_job", (job.pk,), {"task_name": f"job-{job.pk}"})]


def test_it_retries_only_the_failed_videos_of_a_playlist(
    owner, queued, django_capture_on_commit_callbacks
) -> None:
    parent = factories.JobFactory(user=owner, kind=Job.Kind.PLAYLIST, status=Job.Status.FAILED)
    failed = factories.JobFactory(user=owner, parent=parent, status=Job.Status.FAILED)
    factories.JobFactory(user=owner, parent=parent, status=Job.Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(job=parent)
    parent.refresh_from_db()
    failed.refresh_from_db()
    assert (parent.status, parent.message) == (Job.Status.RUNNING, "Retrying 1 video…")
    assert failed.status == Job.Status.QUEUED
    assert [args for _, args, _ in queued] == [(failed.pk,)]


def test_it_reopens_a_settled_playlist_when_one_of_its_videos_is_retried(
    owner, queued, django_capture_on_commit_callbacks
) -> None:
    """E.g. a video whose worker host died (reaped) in a playlist that settled around it."""
    parent = factories.JobFactory(
        user=owner, kind=Job.Kind.PLAYLIST, status=Job.Status.DONE, message="1 of 2 videos ready. 1 failed."
    )
    failed = factories.JobFactory(user=owner, parent=parent, status=Job.Status.FAILED)
    factories.JobFactory(user=owner, parent=parent, status=Job.Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(job=failed)
    parent.refresh_from_db()
    assert (parent.status, parent.finished_at, parent.message) == (
        Job.Status.RUNNING,
        None,
        "Retrying 1 video…",
    )
    assert [args for _, args, _ in queued] == [(failed.pk,)]


def test_it_refuses_to_retry_an_upload_whose_file_is_gone(owner) -> None:
    kept = factories.JobFactory(user=owner, kind=Job.Kind.UPLOAD, status=Job.Status.FAILED, source_url="")
    kept.upload.save("upload", ContentFile(b"video bytes"))
    gone = factories.JobFactory(
        user=owner, kind=Job.Kind.UPLOAD, status=Job.Status.FAILED, source_url="", upload="uploads/deleted"
    )
    assert not default_storage.exists("uploads/deleted")
    services.job_retry(job=kept)
    with pytest.raises(ValidationError) as info:
        services.job_retry(job=gone)
    assert info.value.messages == ["The uploaded file is no longer kept; please upload it again."]
