"""Previous and next on a frame's and a favourite's page, and the grid tiles the lightbox opens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import Favourite
from tests import factories

pytestmark = pytest.mark.django_db


def _links(html: str) -> tuple[str | None, str | None]:
    prev = re.search(r'<a id="prev-link" href="([^"]+)" rel="prev">', html)
    following = re.search(r'<a id="next-link" href="([^"]+)" rel="next">', html)
    return (prev.group(1) if prev else None, following.group(1) if following else None)


def test_it_links_a_frame_to_the_frames_before_and_after_it_on_its_video(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=0)
    late, early, middle, hidden = (
        factories.FrameFactory(video=video, timestamp_ms=ms) for ms in (30_000, 10_000, 20_000, 25_000)
    )
    hidden.is_hidden = True
    hidden.save()
    factories.video_in_library(owner, n_frames=3)  # another video's frames are not neighbours
    get = lambda f: _links(owner_client.get(f.get_absolute_url()).content.decode())  # noqa: E731
    assert get(early) == (None, middle.get_absolute_url())
    assert get(middle) == (early.get_absolute_url(), late.get_absolute_url())
    assert get(late) == (middle.get_absolute_url(), None)


def test_it_links_a_favourite_to_the_newer_and_older_ones(owner, other, owner_client) -> None:
    now = timezone.now()
    saved = []
    for age in (3, 2, 1):  # oldest first
        favourite = factories.FavouriteFactory(user=owner)
        Favourite.objects.filter(pk=favourite.pk).update(created_at=now - dt.timedelta(hours=age))
        saved.append(favourite)
    factories.FavouriteFactory(user=other)  # someone else's favourite is nobody's neighbour
    oldest, middle, newest = saved
    html = owner_client.get(middle.get_absolute_url()).content.decode()
    assert _links(html) == (newest.get_absolute_url(), oldest.get_absolute_url())
    assert "← Newer" in html and "Older →" in html
    assert _links(owner_client.get(newest.get_absolute_url()).content.decode()) == (
        None,
        middle.get_absolute_url(),
    )


def test_it_counts_no_neighbour_of_another_users_favourite(owner, other, other_client) -> None:
    factories.FavouriteFactory(user=other)
    favourite = factories.FavouriteFactory(user=owner)
    assert other_client.get(favourite.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("rows", [3, 12])
def test_it_builds_a_frame_page_with_its_neighbours_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    video = factories.video_in_library(owner, n_frames=rows)
    frame = video.frames.order_by("timestamp_ms")[rows // 2]
    # the user, the frame with its video, its favourite (none), the previous and the next one,
    # the boards of "Save to board"
    with django_assert_num_queries(6):
        response = owner_client.get(frame.get_absolute_url())
    assert all(_links(response.content.decode()))


def test_it_shows_tiles_at_the_frames_own_aspect_ratio_with_their_actions(owner, owner_client) -> None:
    video = factories.video_in_library(owner, n_frames=0)
    tall = factories.FrameFactory(video=video, width=480, height=854)
    favourite = factories.FavouriteFactory(
        user=owner, frame=factories.FrameFactory(video=video, width=640, height=480)
    )
    html = owner_client.get(video.get_absolute_url()).content.decode()
    assert 'class="frames"' in html and 'id="lightbox"' in html
    assert f'<a class="tile-link" href="{tall.get_absolute_url()}" data-lightbox>' in html
    assert 'width="480" height="854"' in html
    assert reverse("gallery:frame_save", args=[tall.pk]) in html
    assert 'class="palette compact"' in html  # the colours, linked by the colour search
    gallery = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert f'<a class="tile-link" href="{favourite.get_absolute_url()}" data-lightbox>' in gallery
    assert 'width="640" height="480"' in gallery and "/static/js/lightbox.js" in gallery
