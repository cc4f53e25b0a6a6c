"""The Add page: paste a link or upload a file, choose how many frames, land on the job."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from gallery.models import LibraryItem, Video
from jobs.models import Job
from tests import factories
from tests.videos import make_video

# A link on the loopback address: no network needed, and refused unless private URLs are allowed.
LOCAL_URL = "http://127.0.0.1:9/tour.mp4"


@pytest.fixture
def mp4(tmp_path: Path) -> bytes:
    return make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()


def _add(client, **data):
    data.setdefault("frames", 6)
    return client.post(reverse("jobs:add"), data)


def _field_error(response, field: str) -> str:
    """The text of the error shown under one field (the page puts it next to the field)."""
    html = response.content.decode()
    start = html.index(f'id="id_{field}-error"')
    return html[start : html.index("</div>", start)]


def test_it_shows_the_form_with_labels_and_limits(owner_client, settings) -> None:
    settings.INSPIRE_FRAMES_MAX = 40
    settings.INSPIRE_FRAMES_DEFAULT = 9
    settings.INSPIRE_MAX_UPLOAD_MB = 123
    response = owner_client.get(reverse("jobs:add"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_url">YouTube video or playlist link</label>' in html
    assert '<label for="id_upload">…or upload a video file</label>' in html
    assert '<label for="id_frames">How many frames</label>' in html
    assert 'max="40"' in html and 'value="9"' in html
    assert "up to 123 MB" in html
    assert 'enctype="multipart/form-data"' in html


def test_it_sends_anonymous_visitors_from_add_to_log_in(anon_client) -> None:
    response = anon_client.get(reverse("jobs:add"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert _add(anon_client, url=LOCAL_URL).status_code == 302
    assert not Job.objects.exists()


def test_it_queues_a_link_and_goes_to_its_job(
    owner, owner_client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    with django_capture_on_commit_callbacks() as queued:
        response = _add(owner_client, url=LOCAL_URL, frames=7)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert (job.user, job.kind, job.source_url, job.frames_requested) == (owner, Job.Kind.VIDEO, LOCAL_URL, 7)
    assert job.status == Job.Status.QUEUED
    assert len(queued) == 1  # handed to the cluster when the request commits


def test_it_goes_straight_to_a_video_already_in_the_catalogue(owner, owner_client, settings) -> None:
    # Private URLs allowed only so the check does not resolve youtube.com (no internet in tests).
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    video = factories.VideoFactory(provider="youtube", provider_id="dQw4w9WgXcQ", status=Video.Status.READY)
    response = _add(owner_client, url="https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert response.status_code == 302
    assert response["Location"] == video.get_absolute_url()
    assert not Job.objects.exists()
    assert LibraryItem.objects.filter(user=owner, video=video).exists()
    assert "already in the catalogue" in owner_client.get(video.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a link", "That address is not a web link."),
        ("ftp://example.com/video.mp4", "Only http:// and https:// links are supported."),
        (LOCAL_URL, "private or local network address"),
        ("http://10.0.0.5/video.mp4", "private or local network address"),
    ],
)
def test_it_refuses_a_bad_link_next_to_the_field(owner_client, settings, url, message) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = False
    response = _add(owner_client, url=url)
    assert response.status_code == 400
    assert message in _field_error(response, "url")
    assert f'value="{url}"' in response.content.decode()  # what the user typed stays
    assert not Job.objects.exists()


@pytest.mark.parametrize("frames", ["61", "0", "-3", "many", ""])
def test_it_refuses_a_wrong_number_of_frames(owner_client, settings, frames) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    settings.INSPIRE_FRAMES_MAX = 60
    response = _add(owner_client, url=LOCAL_URL, frames=frames)
    assert response.status_code == 400
    error = _field_error(response, "frames")
    assert "Choose between 1 and 60 frames." in error or "whole number" in error
    assert not Job.objects.exists()


def test_it_asks_for_a_link_or_a_file(owner_client) -> None:
    response = _add(owner_client)
    assert response.status_code == 400
    assert "Paste a link to a video or playlist, or choose a file" in _field_error(response, "url")


def test_it_refuses_a_link_and_a_file_together(owner_client, settings, mp4) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    upload = SimpleUploadedFile("clip.mp4", mp4, content_type="video/mp4")
    response = _add(owner_client, url=LOCAL_URL, upload=upload)
    assert response.status_code == 400
    assert "Paste a link or choose a file, not both." in response.content.decode()
    assert not Job.objects.exists()


def test_it_queues_an_upload_and_goes_to_its_job(
    owner, owner_client, mp4, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        response = _add(owner_client, upload=SimpleUploadedFile("My Tour.mp4", mp4, content_type="video/mp4"))
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert (job.user, job.kind, job.upload_name) == (owner, Job.Kind.UPLOAD, "My Tour.mp4")
    assert job.upload.read() == mp4
    assert len(queued) == 1


def test_it_refuses_an_empty_upload(owner_client) -> None:
    response = _add(owner_client, upload=SimpleUploadedFile("empty.mp4", b"", content_type="video/mp4"))
    assert response.status_code == 400
    assert "The file is empty." in _field_error(response, "upload")
    assert not Job.objects.exists()


def test_it_refuses_an_upload_over_the_limit(owner_client, settings, mp4) -> None:
    settings.INSPIRE_MAX_UPLOAD_MB = 1
    big = mp4 + b"\0" * (1024 * 1024)
    response = _add(owner_client, upload=SimpleUploadedFile("big.mp4", big, content_type="video/mp4"))
    assert response.status_code == 400
    assert "larger than the 1 MB upload limit" in _field_error(response, "upload")
    assert not Job.objects.exists()


def test_it_refuses_a_file_that_is_not_a_video(owner_client) -> None:
    upload = SimpleUploadedFile("notes.mp4", b"just some text, whatever the name says\n" * 10)
    response = _add(owner_client, upload=upload)
    assert response.status_code == 400
    assert "not a video we can read" in _field_error(response, "upload")
    assert not Job.objects.exists()


def test_it_refuses_to_add_without_csrf_token(owner, settings) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert _add(client, url=LOCAL_URL).status_code == 403
    assert not Job.objects.exists()


def test_it_builds_the_add_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries
) -> None:
    for _ in range(5):
        factories.JobFactory(user=owner)
    # the user (ModelBackend) only: the form needs nothing from the database, the session is cached
    with django_assert_num_queries(1):
        assert owner_client.get(reverse("jobs:add")).status_code == 200
