"""The library: home page, video and playlist pages, removing from one's library."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Favourite, Frame, LibraryItem, Playlist, Video
from tests import factories

_my_video = factories.video_in_library


def _my_playlist(user, n_videos: int = 2, **kwargs) -> Playlist:
    playlist = factories.PlaylistFactory(owner=user, **kwargs)
    factories.LibraryItemFactory(user=user, playlist=playlist)
    for i in range(n_videos):
        entry = factories.PlaylistEntryFactory(playlist=playlist, position=i)
        factories.FrameFactory(video=entry.video)
    return playlist


def _curated(n_videos: int = 1, **kwargs) -> Playlist:
    playlist = factories.PlaylistFactory(is_curated=True, **kwargs)
    for i in range(n_videos):
        entry = factories.PlaylistEntryFactory(playlist=playlist, position=i)
        factories.FrameFactory(video=entry.video)
    return playlist


# --- Home -----------------------------------------------------------------------------------
def test_it_shows_the_owners_videos_playlists_and_curated_playlists(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=3, title="Cozy island tour")
    _my_video(owner, n_frames=0, title="Still downloading", status=Video.Status.PROCESSING)
    _my_playlist(owner, title="My house tours")
    _curated(title="Editors' picks")
    response = owner_client.get(reverse("gallery:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cozy island tour" in html
    assert "3 frames" in html
    assert "Still downloading" in html and "Processing" in html
    assert "My house tours" in html
    assert "Editors&#x27; picks" in html and "Curated" in html
    assert video.get_absolute_url() in html
    # A few thumbnails per tile, each through the permission-checked view, with alt text.
    thumb = video.frames.order_by("timestamp_ms").first().get_thumbnail_url()
    assert f'src="{thumb}" alt="Frame of Cozy island tour at' in html
    assert 'data-testid="empty-library"' not in html


def test_it_counts_frames_and_ready_videos_of_a_playlist(owner, owner_client) -> None:
    playlist = _my_playlist(owner, n_videos=3, title="Tours")
    not_ready = playlist.videos.first()
    Video.objects.filter(pk=not_ready.pk).update(status=Video.Status.PROCESSING)
    html = owner_client.get(reverse("gallery:home")).content.decode()
    assert "3 videos · 3 frames" in html
    assert "2 of 3 ready" in html


def test_it_shows_a_new_user_where_to_start(owner, owner_client) -> None:
    _curated(title="Editors' picks")
    html = owner_client.get(reverse("gallery:home")).content.decode()
    assert 'data-testid="empty-library"' in html
    assert "Add your first video" in html
    assert reverse("jobs:add") in html
    assert "Editors&#x27; picks" in html


def test_it_keeps_each_library_to_its_owner(owner, other, other_client) -> None:
    _my_video(owner, title="Owner's secret tour")
    _my_playlist(owner, title="Owner's playlist")
    html = other_client.get(reverse("gallery:home")).content.decode()
    assert "secret tour" not in html
    assert "Owner&#x27;s playlist" not in html
    assert 'data-testid="empty-library"' in html


def test_it_shows_anonymous_visitors_the_landing_page_not_a_library(owner, anon_client) -> None:
    factories.video_in_library(owner, title="Owner's private tour")
    response = anon_client.get(reverse("gallery:home"))
    assert response.status_code == 200
    assert response.templates[0].name == "gallery/landing.html"
    assert "Owner&#x27;s private tour" not in response.content.decode()


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_home_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    for _ in range(rows):
        _my_video(owner, n_frames=2)
        _my_playlist(owner, n_videos=2)
        _curated(n_videos=2)
    # the user, count, videos, video previews, playlists with their counts, playlist previews
    with django_assert_num_queries(6):
        response = owner_client.get(reverse("gallery:home"))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="video-tile"') == rows
    assert response.content.decode().count('data-testid="playlist-tile"') == 2 * rows


def test_it_paginates_the_videos(owner, owner_client) -> None:
    for i in range(30):
        _my_video(owner, n_frames=0, title=f"Tour number {i:02d}")
    first = owner_client.get(reverse("gallery:home")).content.decode()
    second = owner_client.get(reverse("gallery:home") + "?page=2").content.decode()
    assert first.count('data-testid="video-tile"') == 24
    assert second.count('data-testid="video-tile"') == 6
    assert "Page 2 of 2" in second
    # Newest first: the last one added opens the first page.
    assert "Tour number 29" in first and "Tour number 29" not in second


# --- Video page -----------------------------------------------------------------------------
def test_it_shows_a_video_with_its_frames_to_its_owner(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=3, title="Harbour walk")
    hidden = factories.FrameFactory(video=video, is_hidden=True)
    response = owner_client.get(video.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Harbour walk" in html
    assert "3 frames" in html
    assert html.count('data-testid="frame-tile"') == 3
    assert hidden.get_thumbnail_url() not in html
    assert f"{reverse('gallery:inspire')}?video={video.pk}" in html
    assert reverse("jobs:more_frames", args=[video.pk]) in html
    assert reverse("gallery:video_remove", args=[video.pk]) in html


def test_it_links_the_source_of_a_video_only_if_it_is_a_web_address(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=1, source_url="https://videos.example.com/a.mp4")
    html = owner_client.get(video.get_absolute_url()).content.decode()
    assert (
        '<a href="https://videos.example.com/a.mp4" rel="noopener noreferrer" target="_blank">Source</a>'
        in html
    )
    # A row stored before sources were checked, or written around video_register.
    Video.objects.filter(pk=video.pk).update(source_url="javascript:alert(document.cookie)")
    html = owner_client.get(video.get_absolute_url()).content.decode()
    assert "javascript:" not in html and ">Source</a>" not in html
    frame = video.frames.get()
    assert "javascript:" not in owner_client.get(frame.get_absolute_url()).content.decode()


def test_it_links_the_source_of_a_playlist_only_if_it_is_a_web_address(owner, owner_client) -> None:
    playlist = _my_playlist(owner)
    Playlist.objects.filter(pk=playlist.pk).update(source_url="javascript:alert(1)")
    html = owner_client.get(playlist.get_absolute_url()).content.decode()
    assert "javascript:" not in html and ">Source</a>" not in html


def test_it_explains_why_a_video_failed(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=0, status=Video.Status.FAILED)
    Video.objects.filter(pk=video.pk).update(error="This video is private.")
    html = owner_client.get(video.get_absolute_url()).content.decode()
    assert "This video is private." in html
    assert "Inspire me from this" not in html


def test_it_offers_to_remove_a_failed_video_from_its_tile_on_home(owner, owner_client) -> None:
    failed = _my_video(owner, n_frames=0, status=Video.Status.FAILED, title="Broken link")
    Video.objects.filter(pk=failed.pk).update(error="The site sent the video too slowly.")
    ready = _my_video(owner, n_frames=2, title="Fine one")
    html = owner_client.get(reverse("gallery:home")).content.decode()
    assert html.count("Remove from my library") == 1  # only the failed one's tile
    assert f'action="{reverse("gallery:video_remove", args=[failed.pk])}"' in html
    assert "The site sent the video too slowly." in html
    assert reverse("gallery:video_remove", args=[ready.pk]) not in html
    response = owner_client.post(reverse("gallery:video_remove", args=[failed.pk]))
    assert response.status_code == 302
    assert not LibraryItem.objects.filter(user=owner, video=failed).exists()
    home = owner_client.get(reverse("gallery:home")).content.decode()  # its message shown once
    assert "“Broken link” was removed from your library." in home
    assert "Remove from my library" not in home


def test_it_hides_another_users_video(owner, other_client) -> None:
    video = _my_video(owner)
    assert other_client.get(video.get_absolute_url()).status_code == 404


def test_it_shows_curated_videos_to_everyone_without_a_remove_button(other_client) -> None:
    video = _curated(n_videos=1).videos.get()
    response = other_client.get(video.get_absolute_url())
    assert response.status_code == 200
    assert reverse("gallery:video_remove", args=[video.pk]) not in response.content.decode()


def test_it_sends_anonymous_visitors_from_a_video_to_log_in(owner, anon_client) -> None:
    response = anon_client.get(_my_video(owner).get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_the_video_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    video = _my_video(owner, n_frames=rows)
    # the user, video, count, frames, in library, the boards of "Save to board"
    with django_assert_num_queries(6):
        response = owner_client.get(video.get_absolute_url())
    assert response.content.decode().count('data-testid="frame-tile"') == rows


# --- Playlist page --------------------------------------------------------------------------
def test_it_shows_a_playlist_with_its_videos_to_its_owner(owner, owner_client) -> None:
    playlist = _my_playlist(owner, n_videos=3, title="Island tours")
    response = owner_client.get(playlist.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Island tours" in html
    assert html.count('data-testid="video-tile"') == 3
    assert "3 frames" in html
    assert f"{reverse('gallery:inspire')}?playlist={playlist.pk}" in html
    assert reverse("jobs:playlist_more_frames", args=[playlist.pk]) in html
    assert reverse("gallery:playlist_remove", args=[playlist.pk]) in html


def test_it_hides_another_users_private_playlist(owner, other_client) -> None:
    assert other_client.get(_my_playlist(owner).get_absolute_url()).status_code == 404


def test_it_shows_curated_playlists_to_everyone(other_client) -> None:
    playlist = _curated(n_videos=2, title="For everyone")
    response = other_client.get(playlist.get_absolute_url())
    assert response.status_code == 200
    assert "For everyone" in response.content.decode()
    assert reverse("gallery:playlist_remove", args=[playlist.pk]) not in response.content.decode()


def test_it_sends_anonymous_visitors_from_a_playlist_to_log_in(anon_client) -> None:
    response = anon_client.get(_curated().get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_the_playlist_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    playlist = _my_playlist(owner, n_videos=rows)
    # the user, playlist, videos, previews, in library
    with django_assert_num_queries(5):
        response = owner_client.get(playlist.get_absolute_url())
    assert response.content.decode().count('data-testid="video-tile"') == rows


# --- Removing from one's library ------------------------------------------------------------
def test_it_removes_a_video_from_one_library_only(owner, other, owner_client) -> None:
    video = _my_video(owner, n_frames=2)
    factories.LibraryItemFactory(user=other, video=video)
    favourite = factories.FavouriteFactory(user=owner, frame=video.frames.first())
    response = owner_client.post(reverse("gallery:video_remove", args=[video.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:home")
    assert not LibraryItem.objects.filter(user=owner, video=video).exists()
    assert LibraryItem.objects.filter(user=other, video=video).exists()
    assert Frame.objects.filter(video=video).count() == 2
    assert Favourite.objects.filter(pk=favourite.pk).exists()
    assert "removed from your library" in owner_client.get(reverse("gallery:home")).content.decode()


def test_it_does_not_let_another_user_remove_a_video(owner, other_client) -> None:
    video = _my_video(owner)
    assert other_client.post(reverse("gallery:video_remove", args=[video.pk])).status_code == 404
    assert LibraryItem.objects.filter(user=owner, video=video).exists()


def test_it_removes_a_playlist_from_one_library_only(owner, other, owner_client) -> None:
    playlist = _my_playlist(owner)
    factories.LibraryItemFactory(user=other, playlist=playlist)
    response = owner_client.post(reverse("gallery:playlist_remove", args=[playlist.pk]))
    assert response.status_code == 302
    assert not LibraryItem.objects.filter(user=owner, playlist=playlist).exists()
    assert LibraryItem.objects.filter(user=other, playlist=playlist).exists()
    assert Playlist.objects.filter(pk=playlist.pk).exists()
    assert owner_client.get(playlist.get_absolute_url()).status_code == 404


def test_it_does_not_let_another_user_remove_a_playlist(owner, other_client) -> None:
    playlist = _my_playlist(owner)
    assert other_client.post(reverse("gallery:playlist_remove", args=[playlist.pk])).status_code == 404
    assert LibraryItem.objects.filter(user=owner, playlist=playlist).exists()


def test_it_cannot_remove_a_curated_playlist_nobody_added(other_client) -> None:
    playlist = _curated()
    assert other_client.post(reverse("gallery:playlist_remove", args=[playlist.pk])).status_code == 404


@pytest.mark.parametrize("name", ["gallery:video_remove", "gallery:playlist_remove"])
def test_it_removes_only_on_post(owner, owner_client, name) -> None:
    target = _my_video(owner) if name == "gallery:video_remove" else _my_playlist(owner)
    assert owner_client.get(reverse(name, args=[target.pk])).status_code == 405
    assert LibraryItem.objects.filter(user=owner).count() == 1


@pytest.mark.parametrize("name", ["gallery:video_remove", "gallery:playlist_remove"])
def test_it_refuses_a_removal_without_csrf_token(owner, name) -> None:
    target = _my_video(owner) if name == "gallery:video_remove" else _my_playlist(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse(name, args=[target.pk])).status_code == 403
    assert LibraryItem.objects.filter(user=owner).count() == 1


@pytest.mark.parametrize("name", ["gallery:video_remove", "gallery:playlist_remove"])
def test_it_sends_anonymous_removals_to_log_in(owner, anon_client, name) -> None:
    target = _my_video(owner) if name == "gallery:video_remove" else _my_playlist(owner)
    response = anon_client.post(reverse(name, args=[target.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert LibraryItem.objects.filter(user=owner).count() == 1
