"""Pull N more frames from a video, or from every ready video of a playlist."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Playlist, Video
from jobs.models import Job
from tests import factories


def _my_video(user) -> Video:
    return factories.video_in_library(user, n_frames=0)


def _my_playlist(
    user, statuses=(Video.Status.READY, Video.Status.READY, Video.Status.PROCESSING)
) -> Playlist:
    playlist = factories.PlaylistFactory(owner=user)
    factories.LibraryItemFactory(user=user, playlist=playlist)
    for i, status in enumerate(statuses):
        factories.PlaylistEntryFactory(playlist=playlist, position=i, video__status=status)
    return playlist


# --- One video ------------------------------------------------------------------------------
def test_it_queues_more_frames_of_a_video(owner, owner_client, django_capture_on_commit_callbacks) -> None:
    video = _my_video(owner)
    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.post(reverse("jobs:more_frames", args=[video.pk]), {"frames": 8})
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert (job.user, job.kind, job.video, job.frames_requested) == (owner, Job.Kind.FRAMES, video, 8)
    assert len(queued) == 1


def test_it_queues_more_frames_of_a_curated_video(other, other_client) -> None:
    entry = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(is_curated=True))
    response = other_client.post(reverse("jobs:more_frames", args=[entry.video_id]), {"frames": 3})
    assert response.status_code == 302
    assert Job.objects.get().user == other


@pytest.mark.parametrize("frames", ["0", "61", "lots", ""])
def test_it_refuses_a_wrong_number_of_more_frames(owner, owner_client, settings, frames) -> None:
    settings.INSPIRE_FRAMES_MAX = 60
    video = _my_video(owner)
    response = owner_client.post(
        reverse("jobs:more_frames", args=[video.pk]), {"frames": frames}, follow=True
    )
    html = response.content.decode()
    assert "Choose between 1 and 60 frames." in html or "Enter a whole number of frames." in html
    assert response.redirect_chain[-1][0] == video.get_absolute_url()
    assert not Job.objects.exists()


def test_it_does_not_pull_frames_of_another_users_video(owner, other_client) -> None:
    video = _my_video(owner)
    assert other_client.post(reverse("jobs:more_frames", args=[video.pk]), {"frames": 3}).status_code == 404
    assert not Job.objects.exists()


def test_it_pulls_more_frames_only_on_post_with_a_csrf_token(owner, owner_client) -> None:
    video = _my_video(owner)
    assert owner_client.get(reverse("jobs:more_frames", args=[video.pk])).status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("jobs:more_frames", args=[video.pk]), {"frames": 3}).status_code == 403
    assert not Job.objects.exists()


def test_it_sends_anonymous_requests_for_frames_to_log_in(owner, anon_client) -> None:
    video = _my_video(owner)
    response = anon_client.post(reverse("jobs:more_frames", args=[video.pk]), {"frames": 3})
    assert response["Location"].startswith(reverse("login"))
    assert not Job.objects.exists()


# --- A whole playlist -----------------------------------------------------------------------
def test_it_queues_more_frames_of_every_ready_video_of_a_playlist(
    owner, owner_client, django_capture_on_commit_callbacks
) -> None:
    playlist = _my_playlist(owner)
    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.post(reverse("jobs:playlist_more_frames", args=[playlist.pk]), {"frames": 4})
    assert response["Location"] == reverse("jobs:list")
    jobs = Job.objects.all()
    assert len(jobs) == 2
    assert {j.video for j in jobs} == set(playlist.videos.filter(status=Video.Status.READY))
    assert all(j.kind == Job.Kind.FRAMES and j.frames_requested == 4 and j.user == owner for j in jobs)
    # One runs at a time per user (INSPIRE_USER_RUNNING_JOBS): the second waits its turn.
    assert len(queued) == 1
    assert sorted(j.held for j in jobs) == [False, True]
    assert (
        "Pulling 4 more frames from each of 2 videos"
        in owner_client.get(reverse("jobs:list")).content.decode()
    )


def test_it_says_so_when_no_video_of_the_playlist_is_ready(owner, owner_client) -> None:
    playlist = _my_playlist(owner, statuses=(Video.Status.PROCESSING,))
    url = reverse("jobs:playlist_more_frames", args=[playlist.pk])
    response = owner_client.post(url, {"frames": 4}, follow=True)
    assert "No video of this playlist is ready yet" in response.content.decode()
    assert not Job.objects.exists()


def test_it_refuses_a_wrong_number_of_frames_for_a_playlist(owner, owner_client) -> None:
    playlist = _my_playlist(owner)
    url = reverse("jobs:playlist_more_frames", args=[playlist.pk])
    response = owner_client.post(url, {"frames": "0"}, follow=True)
    assert "Choose between 1 and" in response.content.decode()
    assert not Job.objects.exists()


def test_it_does_not_pull_frames_of_another_users_playlist(owner, other_client) -> None:
    playlist = _my_playlist(owner)
    url = reverse("jobs:playlist_more_frames", args=[playlist.pk])
    assert other_client.post(url, {"frames": 4}).status_code == 404
    assert not Job.objects.exists()


def test_it_pulls_playlist_frames_only_on_post_with_a_csrf_token(owner, owner_client, anon_client) -> None:
    playlist = _my_playlist(owner)
    url = reverse("jobs:playlist_more_frames", args=[playlist.pk])
    assert owner_client.get(url).status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url, {"frames": 4}).status_code == 403
    assert anon_client.post(url, {"frames": 4})["Location"].startswith(reverse("login"))
    assert not Job.objects.exists()
