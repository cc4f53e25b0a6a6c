"""Inspire me: one random frame from everything the user sees, one playlist or one video."""

from __future__ import annotations

import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse

from gallery import queries, views
from gallery.models import Video
from tests import factories

_my_video = factories.video_in_library


def _random(client, query: str = "") -> dict:
    response = client.get(reverse("gallery:random_frame") + query)
    assert response.status_code == 200, response.content
    return response.json()["frame"]


# --- The page -------------------------------------------------------------------------------
def test_it_shows_one_large_frame_with_everything_to_act_on_it(owner, owner_client) -> None:
    video = factories.VideoFactory(provider="youtube", provider_id="dQw4w9WgXcQ", title="Island at dusk")
    factories.LibraryItemFactory(user=owner, video=video)
    frame = factories.FrameFactory(video=video, timestamp_ms=83_500, palette=["#102030", "#405060"])
    response = owner_client.get(reverse("gallery:inspire"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="{frame.get_image_url()}" alt="Frame of Island at dusk at 1:23"' in html
    assert "Island at dusk" in html and "1:23" in html
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ&amp;t=83s" in html
    assert reverse("gallery:frame_file", args=[frame.pk, "download"]) in html
    assert reverse("gallery:frame_save", args=[frame.pk]) in html
    assert 'aria-label="Copy #102030"' in html
    assert 'id="another"' in html
    # What the page's script needs to save this frame and the next ones.
    assert f'data-frame-id="{frame.pk}"' in html
    assert f'data-save-url="{reverse("gallery:frame_save", args=[frame.pk])}"' in html
    assert f'data-unsave-url="{reverse("gallery:frame_unsave", args=[frame.pk])}"' in html
    assert 'data-saved="false"' in html


def test_it_escapes_what_people_wrote_on_the_frame(owner, owner_client) -> None:
    hostile = '"><script>alert(1)</script>&'
    video = _my_video(owner, n_frames=0, title=hostile, source_url="")
    factories.FrameFactory(video=video, palette=["#102030", "red;background:url(x)"])
    html = owner_client.get(reverse("gallery:inspire")).content.decode()
    assert "<script>alert" not in html and "url(x)" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in html
    assert 'id="source-link"' not in html  # no source, no link
    assert 'name="csrfmiddlewaretoken" value="' in html


def test_it_sends_the_next_frame_as_the_same_markup(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=1, title="Harbour")
    frame = video.frames.get()
    response = owner_client.get(reverse("gallery:inspire") + f"?video={video.pk}&partial=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'data-frame-id="{frame.pk}"' in html
    assert f'src="{frame.get_image_url()}" alt="Frame of Harbour at' in html
    # The buttons come back to the page, not to the fragment.
    assert f'id="another" href="{reverse("gallery:inspire")}?video={video.pk}"' in html
    assert f'name="next" value="{reverse("gallery:inspire")}?video={video.pk}"' in html
    page = owner_client.get(reverse("gallery:inspire") + f"?video={video.pk}").content.decode()
    assert _without_token(html).strip() in _without_token(page)  # the page's frame, from one template


def _without_token(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", html)


def test_it_says_so_when_there_is_no_next_frame(owner_client) -> None:
    response = owner_client.get(reverse("gallery:inspire") + "?partial=1")
    assert response.status_code == 404
    assert response.content.decode() == "No frames here yet."


def test_it_shows_a_saved_frame_as_saved(owner, owner_client) -> None:
    frame = _my_video(owner, n_frames=1).frames.get()
    factories.FavouriteFactory(user=owner, frame=frame)
    html = owner_client.get(reverse("gallery:inspire")).content.decode()
    assert "Saved ✓" in html
    assert reverse("gallery:frame_unsave", args=[frame.pk]) in html


def test_it_offers_a_first_step_when_there_is_nothing_to_show(owner, owner_client) -> None:
    response = owner_client.get(reverse("gallery:inspire"))
    assert response.status_code == 200
    assert 'data-testid="inspire-empty"' in response.content.decode()
    assert reverse("jobs:add") in response.content.decode()


def test_it_draws_only_from_what_the_user_can_see(owner, other, owner_client) -> None:
    mine = set(_my_video(owner, n_frames=3).frames.values_list("pk", flat=True))
    _my_video(other, n_frames=5)  # not visible to owner
    curated = factories.PlaylistFactory(is_curated=True)
    entry = factories.PlaylistEntryFactory(playlist=curated)
    shared = factories.FrameFactory(video=entry.video).pk
    hidden = factories.FrameFactory(video=Video.objects.get(pk=entry.video_id), is_hidden=True).pk
    seen = {_random(owner_client)["id"] for _ in range(60)}
    assert seen <= mine | {shared}
    assert hidden not in seen
    assert len(seen) >= 3  # random, not always the same frame


def test_it_keeps_the_scope_of_one_video(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=3, title="Only this one")
    _my_video(owner, n_frames=3)
    html = owner_client.get(reverse("gallery:inspire") + f"?video={video.pk}").content.decode()
    assert "Only this one" in html
    # "Another one" (script and plain link) keeps drawing from the same video.
    assert f'data-partial-url="{reverse("gallery:inspire")}?video={video.pk}&amp;partial=1"' in html
    assert f'id="another" href="{reverse("gallery:inspire")}?video={video.pk}"' in html
    ids = set(video.frames.values_list("pk", flat=True))
    assert {_random(owner_client, f"?video={video.pk}")["id"] for _ in range(30)} <= ids


def test_it_keeps_the_scope_of_one_playlist(owner, owner_client) -> None:
    playlist = factories.PlaylistFactory(owner=owner, title="Tours")
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    ids = set()
    for i in range(2):
        video = factories.PlaylistEntryFactory(playlist=playlist, position=i).video
        ids |= {factories.FrameFactory(video=video).pk for _ in range(2)}
    _my_video(owner, n_frames=4)
    html = owner_client.get(reverse("gallery:inspire") + f"?playlist={playlist.pk}").content.decode()
    assert "Tours" in html
    assert f'data-partial-url="{reverse("gallery:inspire")}?playlist={playlist.pk}&amp;partial=1"' in html
    assert {_random(owner_client, f"?playlist={playlist.pk}")["id"] for _ in range(30)} <= ids


@pytest.mark.parametrize("param", ["video", "playlist"])
def test_it_hides_another_users_scope(owner, other_client, param) -> None:
    video = _my_video(owner)
    playlist = factories.PlaylistFactory(owner=owner)
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    factories.PlaylistEntryFactory(playlist=playlist, video=video)
    target = video if param == "video" else playlist
    assert other_client.get(reverse("gallery:inspire") + f"?{param}={target.pk}").status_code == 404
    assert other_client.get(reverse("gallery:random_frame") + f"?{param}={target.pk}").status_code == 404


@pytest.mark.parametrize("query", ["?video=abc", "?playlist=1.5", "?video=999999"])
def test_it_answers_404_to_a_bad_scope(owner, owner_client, query) -> None:
    _my_video(owner)
    assert owner_client.get(reverse("gallery:inspire") + query).status_code == 404
    assert owner_client.get(reverse("gallery:random_frame") + query).status_code == 404


@pytest.mark.parametrize("name", ["gallery:inspire", "gallery:random_frame"])
def test_it_sends_anonymous_visitors_from_inspire_to_log_in(anon_client, name) -> None:
    response = anon_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- The JSON endpoint ----------------------------------------------------------------------
def test_it_returns_a_random_frame_as_json(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=1, title="Harbour")
    frame = video.frames.get()
    data = _random(owner_client)
    assert data["id"] == frame.pk
    assert data["image_url"] == frame.get_image_url()
    assert data["video_title"] == "Harbour"
    assert data["video_url"] == video.get_absolute_url()
    assert data["timestamp_label"] == frame.timestamp_label
    assert data["source_link"] == video.url_at(frame.timestamp_ms)
    assert data["palette"] == frame.palette
    assert data["saved"] is False
    factories.FavouriteFactory(user=owner, frame=frame)
    assert _random(owner_client)["saved"] is True


def test_it_answers_404_with_a_message_when_there_are_no_frames(owner_client) -> None:
    response = owner_client.get(reverse("gallery:random_frame"))
    assert response.status_code == 404
    assert response.json() == {"frame": None, "message": "No frames here yet."}


def test_it_only_answers_get_on_the_json_endpoint(owner, owner_client) -> None:
    _my_video(owner)
    assert owner_client.post(reverse("gallery:random_frame")).status_code == 405


# --- "Another one" ---------------------------------------------------------------------------
def test_it_never_shows_the_same_frame_twice_in_a_row(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=2)
    shown = [_random(owner_client)["id"] for _ in range(10)]
    assert all(a != b for a, b in itertools.pairwise(shown))
    assert set(shown) == set(video.frames.values_list("pk", flat=True))


def test_it_keeps_away_from_the_last_20_frames_shown_to_this_user(owner, owner_client) -> None:
    _my_video(owner, n_frames=25)
    # The page, its "Another one" fragment and the JSON endpoint share one memory, in the session.
    shown = [_random(owner_client)["id"] for _ in range(30)]
    for _ in range(5):
        html = owner_client.get(reverse("gallery:inspire") + "?partial=1").content.decode()
        shown.append(int(re.search(r'data-frame-id="(\d+)"', html)[1]))
    assert all(len(set(shown[i : i + 21])) == 21 for i in range(len(shown) - 20))
    assert owner_client.session["inspire_recent"] == shown[::-1][:20]


def test_it_remembers_the_frames_shown_in_each_session(owner, owner_client) -> None:
    video = _my_video(owner, n_frames=2)
    first = _random(owner_client)["id"]
    assert _random(owner_client)["id"] != first
    # A new session has shown nothing yet: either frame may come first.
    firsts = set()
    for _ in range(20):
        client = Client()
        client.force_login(owner)
        firsts.add(_random(client)["id"])
    assert firsts == set(video.frames.values_list("pk", flat=True))


# --- Query counts ---------------------------------------------------------------------------
def _frames(owner, rows: int) -> Video:
    """`rows` videos of two frames each in the owner's library."""
    video = None
    for _ in range(rows):
        video = _my_video(owner, n_frames=2)
    return video


# What every pick costs: the user; the ids of the scope's frames (up to 1001, one query; a
# larger scope adds its window along `rand`: frame_pick); the frame with its video and saved
# state; saving the frames shown lately to the session (an UPDATE, inside a savepoint in tests).
_PICK_QUERIES = 1 + 2 + 3


@pytest.mark.parametrize("rows", [5, 15])
@pytest.mark.parametrize("scoped", [False, True])
def test_it_builds_inspire_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows, scoped
) -> None:
    video = _frames(owner, rows)
    query = f"?video={video.pk}" if scoped else ""
    # and for one video, that video first; the page offers the boards of "Save to board"
    with django_assert_num_queries(_PICK_QUERIES + scoped + 1):
        response = owner_client.get(reverse("gallery:inspire") + query)
    assert 'id="frame-image"' in response.content.decode()


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_the_random_json_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    _frames(owner, rows)
    with django_assert_num_queries(_PICK_QUERIES):
        response = owner_client.get(reverse("gallery:random_frame"))
    assert response.json()["frame"]["id"]


def test_it_picks_from_a_large_scope_in_one_query_more(
    owner, owner_client, django_assert_num_queries, monkeypatch
) -> None:
    _frames(owner, 5)
    monkeypatch.setattr(queries, "PICK_ALL", 3)
    monkeypatch.setattr(queries, "PICK_WINDOW", 3)
    monkeypatch.setattr(queries.random, "random", lambda: 0.0)  # no wrap-around past the last key
    with django_assert_num_queries(_PICK_QUERIES + 1):  # the window along `rand`
        response = owner_client.get(reverse("gallery:random_frame"))
    assert response.json()["frame"]["id"]
    # The session now knows the scope is large: the next picks skip reading its ids, until the
    # size is read again (every views._LARGE_RECHECK picks).
    for _ in range(views._LARGE_RECHECK):
        with django_assert_num_queries(_PICK_QUERIES):
            assert owner_client.get(reverse("gallery:random_frame")).json()["frame"]["id"]
    with django_assert_num_queries(_PICK_QUERIES + 1):
        assert owner_client.get(reverse("gallery:random_frame")).json()["frame"]["id"]


def test_it_reads_a_scope_whole_again_once_it_is_small(owner, owner_client, monkeypatch) -> None:
    # A library that shrank below PICK_ALL: the next size check finds it small, and the exact
    # pick (every frame read) takes over again.
    _frames(owner, 5)  # 10 frames
    monkeypatch.setattr(queries, "PICK_ALL", 3)
    monkeypatch.setattr(queries, "PICK_WINDOW", 3)
    owner_client.get(reverse("gallery:random_frame"))
    assert owner_client.session["inspire_large"] == {"": 0}
    monkeypatch.setattr(queries, "PICK_ALL", 10)
    for _ in range(views._LARGE_RECHECK + 1):
        owner_client.get(reverse("gallery:random_frame"))
    assert owner_client.session["inspire_large"] == {}
