"""The favourites gallery and one favourite's page (note, remove, download, jump-to-moment)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.models import Favourite, LibraryItem, Video
from tests import factories


def _saved(user, video: Video | None = None, note: str = "", **frame_kwargs) -> Favourite:
    if video is None:
        video = factories.VideoFactory()
        factories.LibraryItemFactory(user=user, video=video)
    frame = factories.FrameFactory(video=video, **frame_kwargs)
    return factories.FavouriteFactory(user=user, frame=frame, note=note)


def _tiles(response) -> int:
    return response.content.decode().count('data-testid="favourite-tile"')


# --- The gallery ----------------------------------------------------------------------------
def test_it_shows_the_owners_favourites_newest_first(owner, owner_client) -> None:
    old = _saved(owner, note="the red roofs")
    new = _saved(owner)
    Favourite.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    response = owner_client.get(reverse("gallery:favourites"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _tiles(response) == 2
    assert html.index(new.get_absolute_url()) < html.index(old.get_absolute_url())
    assert "the red roofs" in html
    assert f'src="{old.frame.get_thumbnail_url()}" alt="Saved frame of {old.frame.video} at' in html
    assert 'loading="lazy"' in html


def test_it_escapes_what_people_wrote_on_the_tiles(owner, owner_client) -> None:
    video = factories.VideoFactory(title='Rock & "roll" <tour>')
    factories.LibraryItemFactory(user=owner, video=video)
    _saved(owner, video=video, note="<script>alert(1)</script> & more")
    html = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert "<script>alert" not in html and "<tour>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert 'alt="Saved frame of Rock &amp; &quot;roll&quot; &lt;tour&gt; at' in html


def test_it_cuts_a_long_note_on_its_tile(owner, owner_client) -> None:
    _saved(owner, note="x" * 100)
    html = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert "x" * 39 + "…" in html and "x" * 41 not in html


def test_it_shows_a_first_step_when_nothing_is_saved(owner_client) -> None:
    html = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert 'data-testid="favourites-empty"' in html
    assert reverse("gallery:inspire") in html


def test_it_never_shows_another_users_favourites(owner, other_client) -> None:
    _saved(owner)
    response = other_client.get(reverse("gallery:favourites"))
    assert _tiles(response) == 0


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', html)
    return found and found.group(1).replace("&amp;", "&")


def test_it_paginates_the_favourites(owner, owner_client) -> None:
    video = factories.VideoFactory()
    saved = [_saved(owner, video=video) for _ in range(30)][::-1]  # newest first
    url = reverse("gallery:favourites")
    first = owner_client.get(url).content.decode()
    assert [f for f in saved if f.get_absolute_url() in first] == saved[:24]
    assert _link(first, "prev") is None and _link(first, "next") == f"?before={saved[23].pk}"
    second = owner_client.get(url + _link(first, "next")).content.decode()
    assert [f for f in saved if f.get_absolute_url() in second] == saved[24:]
    assert _link(second, "next") is None and _link(second, "prev") == f"?after={saved[24].pk}"
    back = owner_client.get(url + _link(second, "prev")).content.decode()
    assert [f for f in saved if f.get_absolute_url() in back] == saved[:24]
    assert _link(back, "prev") is None and _link(back, "next") == f"?before={saved[23].pk}"


def test_it_pages_newer_from_deep_in_the_gallery(owner, owner_client) -> None:
    video = factories.VideoFactory()
    saved = [_saved(owner, video=video) for _ in range(60)][::-1]
    html = owner_client.get(reverse("gallery:favourites"), {"after": saved[50].pk}).content.decode()
    assert [f for f in saved if f.get_absolute_url() in html] == saved[26:50]  # the nearest 24
    assert (
        _link(html, "prev") == f"?after={saved[26].pk}" and _link(html, "next") == f"?before={saved[49].pk}"
    )


def test_it_says_so_past_the_last_page(owner, owner_client) -> None:
    oldest = _saved(owner)
    response = owner_client.get(reverse("gallery:favourites"), {"before": oldest.pk})
    assert response.status_code == 200
    assert _tiles(response) == 0
    assert "No favourites past this point" in response.content.decode()


def test_it_starts_pages_only_from_the_users_own_favourites(owner, other, owner_client) -> None:
    mine = _saved(owner)
    theirs = _saved(other)  # saved later: the owner's favourite is older than it
    response = owner_client.get(reverse("gallery:favourites"), {"before": theirs.pk})
    assert _tiles(response) == 0 and mine.get_absolute_url() not in response.content.decode()


@pytest.mark.parametrize(
    "query", [{"before": "abc"}, {"after": "-1"}, {"before": "9" * 30}, {"before": "²"}, {"page": "3"}]
)
def test_it_shows_the_newest_for_a_page_it_cannot_read(owner, owner_client, query) -> None:
    favourite = _saved(owner)
    response = owner_client.get(reverse("gallery:favourites"), query)
    assert response.status_code == 200
    assert favourite.get_absolute_url() in response.content.decode()


def test_it_filters_a_big_library_by_words_of_the_title(owner, owner_client, monkeypatch) -> None:
    from gallery import forms

    monkeypatch.setattr(forms, "VIDEO_CHOICES_MAX", 2)
    harbour = factories.VideoFactory(title="Harbour at dusk")
    factories.LibraryItemFactory(user=owner, video=harbour)
    in_harbour = _saved(owner, video=harbour)
    others = [_saved(owner) for _ in range(3)]  # three more videos: past the list's limit
    page = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert '<label for="id_title">Video title</label>' in page
    assert 'name="video"' not in page  # no list of every video
    found = owner_client.get(reverse("gallery:favourites") + "?title=dusk+HARBOUR")
    assert _tiles(found) == 1
    assert in_harbour.get_absolute_url() in found.content.decode()
    assert not any(f.get_absolute_url() in found.content.decode() for f in others)
    # A link to one video still filters by it, and shows which.
    by_link = owner_client.get(reverse("gallery:favourites") + f"?video={harbour.pk}").content.decode()
    assert f'<option value="{harbour.pk}" selected>Harbour at dusk</option>' in by_link


def test_it_filters_by_video_and_by_playlist(owner, owner_client) -> None:
    a = factories.VideoFactory(title="Alpha tour")
    factories.LibraryItemFactory(user=owner, video=a)
    b = factories.VideoFactory(title="Beta tour")  # only through the playlist
    playlist = factories.PlaylistFactory(owner=owner, title="Only B")
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    factories.PlaylistEntryFactory(playlist=playlist, video=b)
    in_a = [_saved(owner, video=a) for _ in range(2)]
    in_b = _saved(owner, video=b)
    by_video = owner_client.get(reverse("gallery:favourites") + f"?video={a.pk}")
    assert _tiles(by_video) == 2
    assert all(f.get_absolute_url() in by_video.content.decode() for f in in_a)
    by_playlist = owner_client.get(reverse("gallery:favourites") + f"?playlist={playlist.pk}")
    assert _tiles(by_playlist) == 1
    assert in_b.get_absolute_url() in by_playlist.content.decode()
    # Labelled selects of the user's playlists and library videos.
    html = by_playlist.content.decode()
    assert '<label for="id_playlist">Playlist</label>' in html
    assert '<label for="id_video">Video</label>' in html
    assert f'<option value="{playlist.pk}" selected>Only B</option>' in html
    assert f'<option value="{a.pk}">Alpha tour</option>' in html
    assert f'<option value="{b.pk}"' not in html
    # A video outside the library (e.g. linked from its page) still filters, and shows as chosen.
    by_other_video = owner_client.get(reverse("gallery:favourites") + f"?video={b.pk}")
    assert _tiles(by_other_video) == 1
    assert f'<option value="{b.pk}" selected>Beta tour</option>' in by_other_video.content.decode()


def test_it_says_so_when_no_favourite_matches(owner, owner_client) -> None:
    _saved(owner)
    empty = factories.VideoFactory()
    factories.LibraryItemFactory(user=owner, video=empty)
    response = owner_client.get(reverse("gallery:favourites") + f"?video={empty.pk}")
    assert response.status_code == 200
    assert _tiles(response) == 0
    assert "No favourites match" in response.content.decode()


def test_it_does_not_filter_by_another_users_private_video(owner, other, other_client) -> None:
    video = _saved(owner).frame.video
    response = other_client.get(reverse("gallery:favourites") + f"?video={video.pk}")
    assert response.status_code == 400
    assert str(video) not in response.content.decode()


def test_it_pages_in_the_order_of_saving(owner, owner_client) -> None:
    video = factories.VideoFactory()
    saved = [_saved(owner, video=video) for _ in range(30)]
    for i, favourite in enumerate(saved):  # saved[0] the newest, whatever the ids say
        Favourite.objects.filter(pk=favourite.pk).update(created_at=timezone.now() - dt.timedelta(minutes=i))
    first = owner_client.get(reverse("gallery:favourites")).content.decode()
    assert _link(first, "next") == f"?before={saved[23].pk}"
    html = owner_client.get(reverse("gallery:favourites") + _link(first, "next")).content.decode()
    shown = [f for f in saved if f.get_absolute_url() in html]
    assert shown == saved[24:]
    assert html.index(saved[24].get_absolute_url()) < html.index(saved[29].get_absolute_url())


def test_it_keeps_the_filter_across_pages(owner, owner_client) -> None:
    video = factories.VideoFactory()
    saved = [_saved(owner, video=video) for _ in range(30)]
    _saved(owner)  # another video's, newer than all of them
    html = owner_client.get(reverse("gallery:favourites"), {"video": video.pk}).content.decode()
    assert _link(html, "next") == f"?video={video.pk}&before={saved[6].pk}"
    older = owner_client.get(reverse("gallery:favourites") + _link(html, "next"))
    assert _tiles(older) == 6


@pytest.mark.parametrize("query", ["?video=abc", "?playlist=999999", "?video=²", f"?video={'9' * 30}"])
def test_it_explains_a_bad_filter_next_to_the_field(owner, owner_client, query) -> None:
    _saved(owner)
    response = owner_client.get(reverse("gallery:favourites") + query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "is not one of yours; choose another." in html


def test_it_does_not_offer_another_users_playlist_as_a_filter(owner, other, other_client) -> None:
    playlist = factories.PlaylistFactory(owner=owner)
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    video = factories.PlaylistEntryFactory(playlist=playlist).video
    _saved(owner, video=video)
    _saved(other, video=video)  # other saved a frame of it, but cannot see the playlist
    response = other_client.get(reverse("gallery:favourites") + f"?playlist={playlist.pk}")
    assert response.status_code == 400


def test_it_sends_anonymous_visitors_from_favourites_to_log_in(anon_client) -> None:
    response = anon_client.get(reverse("gallery:favourites"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [2, 15])
@pytest.mark.parametrize(
    "filter_by", ["", "video", "playlist", "title", "video outside the list", "older", "playlist, newer"]
)
def test_it_builds_the_gallery_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, monkeypatch, rows, filter_by
) -> None:
    from gallery import forms

    monkeypatch.setattr(forms, "VIDEO_CHOICES_MAX", 3)  # 2 videos are listed, 15 searched by title
    playlist = factories.PlaylistFactory(owner=owner)
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    videos = [
        factories.PlaylistEntryFactory(playlist=playlist, position=i, video__title=f"Harbour {i}").video
        for i in range(rows)
    ]
    for video in videos:
        factories.LibraryItemFactory(user=owner, video=video)
        _saved(owner, video=video)
    outside = _saved(owner).frame.video  # saved, then removed from the library
    LibraryItem.objects.filter(video=outside).delete()
    query = {
        "": "",
        "video": f"?video={videos[0].pk}",
        "playlist": f"?playlist={playlist.pk}",
        "title": "?title=HARBOUR",
        "video outside the list": f"?video={outside.pk}",
        "older": f"?before={Favourite.objects.filter(user=owner).order_by('created_at', 'id')[1].pk}",
        "playlist, newer": f"?playlist={playlist.pk}&after=0",
    }[filter_by]
    # the user (the session comes from the cache), the filters' choices, the page (a filter is
    # checked against the choices, no lookup of its own), the boards of "Add to board"
    with django_assert_num_queries(4):
        response = owner_client.get(reverse("gallery:favourites") + query)
    assert response.status_code == 200
    # A small library has no title field: the title is ignored there.
    title = rows if rows > forms.VIDEO_CHOICES_MAX else rows + 1
    expected = {
        "": rows + 1,
        "video": 1,
        "playlist": rows,
        "title": title,
        "video outside the list": 1,
        "older": 1,
        "playlist, newer": 0,  # no favourite 0 to start from
    }
    assert _tiles(response) == expected[filter_by]


TITLES = ("100% off_season", "100 percent offseason")


def test_it_matches_title_words_literally(owner, owner_client, monkeypatch) -> None:
    from gallery import forms

    monkeypatch.setattr(forms, "VIDEO_CHOICES_MAX", 1)  # two videos: searched by title
    sale, plain = (_saved(owner, video=factories.VideoFactory(title=title)) for title in TITLES)
    for favourite in (sale, plain):
        factories.LibraryItemFactory(user=owner, video=favourite.frame.video)
    for words, expected in (("100%", {sale}), ("off_", {sale}), ("OFF", {sale, plain}), ("%", {sale})):
        html = owner_client.get(reverse("gallery:favourites"), {"title": words}).content.decode()
        assert {f for f in (sale, plain) if f.get_absolute_url() in html} == expected, words


# --- One favourite --------------------------------------------------------------------------
def test_it_shows_a_favourite_with_everything_to_act_on_it(owner, owner_client) -> None:
    video = factories.VideoFactory(provider="youtube", provider_id="abcdefghijk", title="Night market")
    factories.LibraryItemFactory(user=owner, video=video)
    favourite = _saved(owner, video=video, note="lanterns", timestamp_ms=125_000)
    response = owner_client.get(favourite.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    frame = favourite.frame
    assert f'src="{frame.get_image_url()}" alt="Saved frame of Night market at 2:05"' in html
    assert "https://www.youtube.com/watch?v=abcdefghijk&amp;t=125s" in html
    assert reverse("gallery:frame_file", args=[frame.pk, "download"]) in html
    assert reverse("gallery:frame_unsave", args=[frame.pk]) in html
    assert '<label for="id_note">Note</label>' in html
    assert "lanterns</textarea>" in html


def test_it_edits_the_note(owner, owner_client) -> None:
    favourite = _saved(owner)
    response = owner_client.post(favourite.get_absolute_url(), {"note": "warm light on the pier"})
    assert response.status_code == 302
    favourite.refresh_from_db()
    assert favourite.note == "warm light on the pier"
    assert "Note saved." in owner_client.get(favourite.get_absolute_url()).content.decode()


def test_it_refuses_a_note_that_is_too_long(owner, owner_client) -> None:
    favourite = _saved(owner, note="short")
    response = owner_client.post(favourite.get_absolute_url(), {"note": "x" * 2001})
    assert response.status_code == 400
    assert "at most 2000 characters" in response.content.decode()
    favourite.refresh_from_db()
    assert favourite.note == "short"


def test_it_removes_a_favourite(owner, owner_client) -> None:
    favourite = _saved(owner)
    response = owner_client.post(
        reverse("gallery:frame_unsave", args=[favourite.frame_id]), {"next": reverse("gallery:favourites")}
    )
    assert response["Location"] == reverse("gallery:favourites")
    assert not Favourite.objects.filter(pk=favourite.pk).exists()
    assert owner_client.get(favourite.get_absolute_url()).status_code == 404


def test_it_hides_another_users_favourite(owner, other_client) -> None:
    favourite = _saved(owner, note="mine")
    assert other_client.get(favourite.get_absolute_url()).status_code == 404
    assert other_client.post(favourite.get_absolute_url(), {"note": "hijacked"}).status_code == 404
    favourite.refresh_from_db()
    assert favourite.note == "mine"


def test_it_refuses_a_note_edit_without_csrf_token(owner) -> None:
    favourite = _saved(owner, note="mine")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(favourite.get_absolute_url(), {"note": "changed"}).status_code == 403
    favourite.refresh_from_db()
    assert favourite.note == "mine"


def test_it_sends_anonymous_visitors_from_a_favourite_to_log_in(owner, anon_client) -> None:
    response = anon_client.get(_saved(owner).get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("rows", [5, 15])
def test_it_builds_a_favourite_page_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows
) -> None:
    video = factories.VideoFactory()
    favourites = [_saved(owner, video=video) for _ in range(rows)]
    # the user, the favourite with its frame and video, the newer and the older one (the pager),
    # the boards of "Save to board"
    with django_assert_num_queries(5):
        response = owner_client.get(favourites[len(favourites) // 2].get_absolute_url())
    assert response.status_code == 200
