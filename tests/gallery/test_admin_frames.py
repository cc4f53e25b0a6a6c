"""Curation that shows the pictures: the frame grid of the admin's video and playlist pages, and
hiding or showing several frames at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import Frame
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def playlist():
    """A curated playlist of two videos with three frames each."""
    playlist = factories.PlaylistFactory(is_curated=True)
    for position in range(2):
        video = factories.VideoFactory()
        factories.PlaylistEntryFactory(playlist=playlist, video=video, position=position)
        factories.FrameFactory.create_batch(3, video=video)
    return playlist


def _change(model: str, pk: int) -> str:
    return reverse(f"admin:gallery_{model}_change", args=[pk])


def _grid(model: str, pk: int) -> str:
    return reverse(f"admin:gallery_{model}_frames", args=[pk])


def test_it_shows_a_videos_frames_as_thumbnails(staff_client, playlist) -> None:
    video = playlist.videos.first()
    html = staff_client.get(_change("video", video.pk)).content.decode()
    assert 'data-testid="frame-grid"' in html and f'action="{_grid("video", video.pk)}"' in html
    for frame in video.frames.all():
        assert f'<input type="checkbox" name="frame" value="{frame.pk}">' in html
        assert f'src="{frame.get_thumbnail_url()}" alt="Frame of {video} at {frame.timestamp_label}"' in html
    assert "/static/js/admin-frames.js" in html and "/static/css/admin-frames.css" in html


def test_it_shows_a_playlists_frames_in_its_order(staff_client, playlist) -> None:
    html = staff_client.get(_change("playlist", playlist.pk)).content.decode()
    expected = list(Frame.objects.in_playlist_order(playlist.pk))
    assert len(expected) == 6
    positions = [html.index(f'name="frame" value="{f.pk}"') for f in expected]
    assert positions == sorted(positions)


@pytest.mark.parametrize("model", ["video", "playlist"])
def test_it_hides_and_shows_several_frames_at_once(staff_client, playlist, model) -> None:
    target = playlist.videos.first() if model == "video" else playlist
    frames = target.frames.all() if model == "video" else Frame.objects.in_playlist_order(playlist.pk)
    ids = [f.pk for f in frames[:2]]
    response = staff_client.post(_grid(model, target.pk), {"frame": ids, "visibility": "hide", "page": "1"})
    assert response.status_code == 302 and response["Location"] == _change(model, target.pk) + "?frames=1"
    assert set(Frame.objects.filter(is_hidden=True).values_list("pk", flat=True)) == set(ids)
    page = staff_client.get(response["Location"]).content.decode()
    assert "Hid 2 frames." in page and page.count("frame-cell is-hidden") == 2

    staff_client.post(_grid(model, target.pk), {"frame": ids[:1], "visibility": "show"})
    assert list(Frame.objects.filter(is_hidden=True).values_list("pk", flat=True)) == ids[1:]


def test_it_hides_only_the_frames_of_the_page_it_was_posted_from(staff_client, playlist) -> None:
    video = playlist.videos.first()
    elsewhere = factories.FrameFactory()
    staff_client.post(_grid("video", video.pk), {"frame": [elsewhere.pk, "x"], "visibility": "hide"})
    assert not Frame.objects.filter(is_hidden=True).exists()


@pytest.mark.parametrize("data", [{"visibility": "hide"}, {"frame": ["1"], "visibility": "delete"}])
def test_it_says_what_to_do_when_nothing_is_ticked_or_the_action_is_unknown(
    staff_client, playlist, data
) -> None:
    video = playlist.videos.first()
    response = staff_client.post(_grid("video", video.pk), data, follow=True)
    assert "Tick the frames to hide or show first." in response.content.decode()
    assert not Frame.objects.filter(is_hidden=True).exists()


def test_it_refuses_the_grid_to_normal_users_and_visitors(owner_client, anon_client, playlist) -> None:
    video = playlist.videos.first()
    frame = video.frames.first()
    for client in (owner_client, anon_client):
        for url in (_change("video", video.pk), _change("playlist", playlist.pk)):
            assert client.get(url)["Location"].startswith("/admin/login/")
        response = client.post(_grid("video", video.pk), {"frame": [frame.pk], "visibility": "hide"})
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not Frame.objects.filter(is_hidden=True).exists()


def test_it_refuses_staff_without_the_right_to_change(playlist, client) -> None:
    clerk = factories.UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    video = playlist.videos.first()
    response = client.post(
        _grid("video", video.pk), {"frame": [video.frames.first().pk], "visibility": "hide"}
    )
    assert response.status_code == 403
    assert not Frame.objects.filter(is_hidden=True).exists()


def test_it_answers_only_post_on_the_grid(staff_client, playlist) -> None:
    assert staff_client.get(_grid("video", playlist.videos.first().pk)).status_code == 405


@pytest.mark.parametrize("n_frames", [2, 12])
def test_it_builds_the_grid_in_a_fixed_number_of_queries(staff_client, n_frames) -> None:
    video = factories.VideoFactory()
    factories.FrameFactory.create_batch(n_frames, video=video)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(_change("video", video.pk))
    factories.FrameFactory.create_batch(10, video=video)
    with CaptureQueriesContext(connection) as many:
        staff_client.get(_change("video", video.pk))
    assert len(many) == len(few)
