"""A job's page as it was found wanting: its kind once a link turns out to be a playlist, how long
ago it started, the counts said once, and the frames of a finished job."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from jobs.units import ago_text
from tests import factories

pytestmark = pytest.mark.django_db


def _page(client, job: Job) -> str:
    return client.get(job.get_absolute_url()).content.decode()


def test_it_reports_the_kind_a_link_turned_out_to_be(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner, kind=Job.Kind.VIDEO, status=Job.Status.RUNNING)
    assert '<span id="job-kind">Video</span>' in _page(owner_client, job)
    Job.objects.filter(pk=job.pk).update(kind=Job.Kind.PLAYLIST)  # what the worker does
    data = owner_client.get(reverse("jobs:status", args=[job.pk])).json()
    assert (data["kind"], data["kind_label"]) == ("playlist", "Playlist")
    assert '<span id="job-kind">Playlist</span>' in _page(owner_client, job)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (61 * 60, "1 hour ago"),
        (3 * 86400, "3 days ago"),
    ],
)
def test_it_words_how_long_ago_a_job_started(seconds, text) -> None:
    assert ago_text(seconds) == text


def test_it_says_when_a_job_started_in_words_the_script_moves_on(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.RUNNING)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5, seconds=3))
    html = _page(owner_client, job)
    started = re.search(r'<time id="job-started" datetime="[^"]+" data-seconds="(\d+)">([^<]+)</time>', html)
    assert started and started.group(2) == "5 minutes ago" and 303 <= int(started.group(1)) < 310
    data = owner_client.get(reverse("jobs:status", args=[job.pk])).json()
    assert data["started_ago"] == "5 minutes ago" and data["started_s"] >= 303
    assert "0 minutes" not in _page(owner_client, factories.JobFactory(user=owner))


def test_it_says_a_playlists_counts_once(owner, owner_client) -> None:
    playlist = factories.PlaylistFactory(owner=owner)
    job = factories.JobFactory(
        user=owner, kind=Job.Kind.PLAYLIST, playlist=playlist, status=Job.Status.DONE, progress=1.0,
        message="2 of 2 videos ready.",
    )  # fmt: skip
    for _ in range(2):
        factories.JobFactory(user=owner, parent=job, video=factories.VideoFactory(), status=Job.Status.DONE)
    html = _page(owner_client, job)
    visible = re.sub(r"<[^>]+ hidden>[^<]*<", "<", html)  # what a browser shows
    assert visible.count("2 of 2 video") == 1
    assert "2 of 2 videos ready." in visible


def test_it_shows_a_message_when_there_are_no_counts(owner, owner_client) -> None:
    job = factories.JobFactory(user=owner, status=Job.Status.RUNNING, message="Downloading the video… 40%")
    assert '<span id="job-message" aria-live="polite">Downloading the video… 40%</span>' in _page(
        owner_client, job
    )


def test_it_shows_the_frames_of_a_done_video_job(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=3, title="Harbour")
    hidden = factories.FrameFactory(video=video, is_hidden=True)
    job = factories.JobFactory(user=owner, video=video, status=Job.Status.DONE, progress=1.0)
    html = _page(owner_client, job)
    assert 'data-testid="job-frames"' in html
    for frame in video.frames.filter(is_hidden=False):
        assert f'href="{frame.get_absolute_url()}"' in html
    assert f'href="{hidden.get_absolute_url()}"' not in html
    assert "3 of its frames" in html


def test_it_shows_the_frames_of_a_done_playlist_job_in_the_playlists_order(owner, owner_client) -> None:
    playlist = factories.PlaylistFactory(owner=owner)
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    second, first = factories.VideoFactory(title="Second"), factories.VideoFactory(title="First")
    factories.PlaylistEntryFactory(playlist=playlist, video=first, position=0)
    factories.PlaylistEntryFactory(playlist=playlist, video=second, position=1)
    frames = [factories.FrameFactory(video=v) for v in (second, first)]
    job = factories.JobFactory(user=owner, kind=Job.Kind.PLAYLIST, playlist=playlist, status=Job.Status.DONE)
    html = _page(owner_client, job)
    positions = [html.index(f'href="{f.get_absolute_url()}"') for f in (frames[1], frames[0])]
    assert positions == sorted(positions)


@pytest.mark.parametrize("status", [Job.Status.RUNNING, Job.Status.FAILED])
def test_it_shows_no_frames_before_a_job_is_done(owner, owner_client, status) -> None:
    video = factories.video_in_library(owner, n_frames=2)
    job = factories.JobFactory(user=owner, video=video, status=status)
    html = _page(owner_client, job)
    assert 'id="job-frames" class="job-frames" hidden' in html and 'data-testid="job-frames"' not in html


def test_it_shows_another_users_job_frames_to_nobody_else(owner, other_client) -> None:
    video = factories.video_in_library(owner, n_frames=2)
    job = factories.JobFactory(user=owner, video=video, status=Job.Status.DONE)
    assert other_client.get(job.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("rows", [2, 10])
def test_it_builds_a_done_job_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    video = factories.video_in_library(owner, n_frames=rows)
    job = factories.JobFactory(user=owner, video=video, status=Job.Status.DONE)
    # the user, the job with its video and playlist, its frames with their video
    with django_assert_num_queries(3):
        owner_client.get(job.get_absolute_url())
