"""Frames with this colour: the colour index, the ranking by ΔE, who sees what, the swatches."""

from __future__ import annotations

import math

import pytest
from django.urls import reverse

from gallery import colour, queries, services
from gallery.models import FrameColour
from tests import factories

TARGET = "#3a7bd5"
# Closer to TARGET in RGB (12 against 29 steps) but farther by eye: ΔE76 11.2 against 7.0.
NEAR_IN_RGB, NEAR_BY_EYE = "#3771db", "#5478c8"
FAR = "#d53a3a"  # a red, far outside the radius


def _frame(video, *palette: str):
    moment = 1000 * (video.frames.count() + 1)
    return factories.stored_frame(video, timestamp_ms=moment, palette=list(palette))


def _my_video(user, **kwargs):
    video = factories.VideoFactory(**kwargs)
    factories.LibraryItemFactory(user=user, video=video)
    return video


def _search(client, hex_colour: str = TARGET, scope: str = "all"):
    return client.get(reverse("gallery:colour"), {"colour": hex_colour, "scope": scope})


def _found(response) -> list[int]:
    return [match.frame.pk for match in response.context["matches"]]


# --- The index ------------------------------------------------------------------------------
def test_it_indexes_each_distinct_palette_colour_in_lab(owner) -> None:
    frame = _frame(_my_video(owner), TARGET, FAR, FAR, "not a colour")
    rows = list(FrameColour.objects.filter(frame=frame).order_by("position"))
    assert [(r.position, r.video_id) for r in rows] == [(0, frame.video_id), (1, frame.video_id)]
    lightness, a, b = colour.lab(TARGET)
    assert (rows[0].l, rows[0].a, rows[0].b) == pytest.approx((lightness, a, b))
    assert rows[0].bin == colour.bin_of((lightness, a, b))


def test_it_finds_every_bin_a_radius_touches_and_no_other() -> None:
    point = colour.lab(TARGET)
    bins = set(colour.bins_within(point, colour.SEARCH_RADIUS))
    # Points on a grid around the target: within the radius, their bin is searched.
    step = colour.SEARCH_RADIUS / 4
    for i in range(-4, 5):
        for j in range(-4, 5):
            for k in range(-4, 5):
                p = (point[0] + i * step, point[1] + j * step, point[2] + k * step)
                if math.dist(p, point) <= colour.SEARCH_RADIUS:
                    assert colour.bin_of(p) in bins
    assert colour.bin_of((point[0] + 40, point[1], point[2])) not in bins


# --- Ranking ---------------------------------------------------------------------------------
def test_it_ranks_the_exact_colour_first_then_by_delta_e_not_rgb(owner, owner_client) -> None:
    video = _my_video(owner)
    by_eye = _frame(video, FAR, NEAR_BY_EYE)
    in_rgb = _frame(video, NEAR_IN_RGB)
    exact = _frame(video, FAR, "#ffffff", TARGET)
    _frame(video, FAR)
    response = _search(owner_client)
    assert response.status_code == 200
    assert _found(response) == [exact.pk, by_eye.pk, in_rgb.pk]
    matches = response.context["matches"]
    assert [m.swatch for m in matches] == [TARGET, NEAR_BY_EYE, NEAR_IN_RGB]
    assert matches[0].delta_e == 0
    assert matches[1].delta_e == pytest.approx(colour.delta_e(TARGET, NEAR_BY_EYE))
    assert matches[1].delta_e < matches[2].delta_e  # while RGB says the opposite
    html = response.content.decode()
    assert "ΔE 7.0" in html and "ΔE 11.2" in html


def test_it_ranks_in_the_database_as_coloraide_does(owner) -> None:
    video = _my_video(owner)
    channels = (
        (55, 120, 212),
        (62, 118, 208),
        (50, 128, 215),
        (45, 115, 220),
        (70, 125, 205),
        (58, 123, 213),
    )
    shades = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in channels]
    for shade in shades:
        _frame(video, shade)
    assert all(colour.delta_e(TARGET, s) < colour.SEARCH_RADIUS for s in shades)
    found = [m.swatch for m in queries.colour_search(owner, hex_colour=TARGET)]
    assert found == sorted(shades, key=lambda s: colour.delta_e(TARGET, s))


def test_it_leaves_out_colours_past_the_radius(owner) -> None:
    video = _my_video(owner)
    _frame(video, FAR)
    assert queries.colour_search(owner, hex_colour=TARGET) == []
    assert queries.colour_search(owner, hex_colour=FAR)[0].delta_e == 0


# --- Who sees what ---------------------------------------------------------------------------
def test_it_never_shows_another_users_frames(owner, other, owner_client, other_client) -> None:
    mine = _frame(_my_video(owner), TARGET)
    theirs = _frame(_my_video(other), TARGET)
    assert _found(_search(owner_client)) == [mine.pk]
    assert _found(_search(other_client)) == [theirs.pk]
    assert reverse("gallery:frame", args=[theirs.pk]) not in _search(owner_client).content.decode()


def test_it_shows_the_frames_of_curated_playlists_to_everyone(owner, other_client) -> None:
    curated = factories.PlaylistFactory(is_curated=True)
    video = factories.PlaylistEntryFactory(playlist=curated).video
    frame = _frame(video, TARGET)
    assert _found(_search(other_client)) == [frame.pk]


def test_it_searches_the_favourites_only_when_asked(owner, owner_client) -> None:
    video = _my_video(owner)
    saved, unsaved = _frame(video, TARGET), _frame(video, TARGET)
    services.favourite_add(user=owner, frame=saved)
    assert set(_found(_search(owner_client))) == {saved.pk, unsaved.pk}
    assert _found(_search(owner_client, scope="favourites")) == [saved.pk]


def test_it_keeps_a_saved_frame_findable_in_favourites_after_its_video_left(owner, owner_client) -> None:
    video = _my_video(owner)
    frame = _frame(video, TARGET)
    services.favourite_add(user=owner, frame=frame)
    services.library_remove(user=owner, video=video)
    assert _found(_search(owner_client)) == []
    assert _found(_search(owner_client, scope="favourites")) == [frame.pk]


def test_it_sends_anonymous_visitors_to_log_in(anon_client) -> None:
    response = _search(anon_client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"colour": "red"}, "six hex digits"),
        ({"colour": "#12345g"}, "six hex digits"),
        ({"colour": TARGET, "scope": "everyone"}, "Search in everything"),
        ({"scope": "all"}, "Choose a colour"),
    ],
)
def test_it_explains_a_bad_search(owner_client, query, message) -> None:
    response = owner_client.get(reverse("gallery:colour"), query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_it_accepts_a_colour_without_its_hash_in_any_case(owner, owner_client) -> None:
    frame = _frame(_my_video(owner), TARGET)
    assert _found(_search(owner_client, hex_colour="3A7BD5")) == [frame.pk]


def test_it_shows_the_picker_alone_before_a_search(owner_client) -> None:
    response = owner_client.get(reverse("gallery:colour"))
    assert response.status_code == 200
    assert 'type="color"' in response.content.decode()


# --- Query counts ----------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [3, 12])
@pytest.mark.parametrize("scope", ["all", "favourites"])
def test_it_searches_in_a_fixed_number_of_queries(
    owner, owner_client, django_assert_num_queries, rows, scope
) -> None:
    playlist = factories.PlaylistFactory(owner=owner)
    factories.LibraryItemFactory(user=owner, playlist=playlist)
    for i in range(rows):
        video = _my_video(owner) if i % 2 else factories.PlaylistEntryFactory(playlist=playlist).video
        frame = _frame(video, TARGET, NEAR_BY_EYE, FAR)
        services.favourite_add(user=owner, frame=frame)
    # the session's user, the colour index (ranked), the frames with their videos
    with django_assert_num_queries(3):
        response = _search(owner_client, scope=scope)
    assert len(response.context["matches"]) == rows


# --- Swatches --------------------------------------------------------------------------------
def test_it_shows_each_swatch_with_its_hex_a_copy_button_and_a_search_link(owner, owner_client) -> None:
    frame = _frame(_my_video(owner), TARGET, FAR)
    html = owner_client.get(frame.get_absolute_url()).content.decode()
    for hex_colour in (TARGET, FAR):
        assert f'data-copy="{hex_colour}"' in html
        assert f"<code>{hex_colour}</code>" in html
        assert f'href="{reverse("gallery:colour")}?colour=%23{hex_colour[1:]}"' in html
        assert f'fill="{hex_colour}"' in html
    assert "style=" not in html.split('class="palette"')[1].split("</ul>")[0]  # CSP-safe: no inline style
    assert " onclick" not in html


def test_it_offers_the_colour_picker_on_the_gallery_and_on_inspire(owner, owner_client) -> None:
    frame = _frame(_my_video(owner), TARGET)
    services.favourite_add(user=owner, frame=frame)
    gallery = owner_client.get(reverse("gallery:favourites")).content.decode()
    inspire = owner_client.get(reverse("gallery:inspire")).content.decode()
    for html, scope in ((gallery, "favourites"), (inspire, "all")):
        assert f'action="{reverse("gallery:colour")}"' in html
        assert 'type="color"' in html
        assert f'name="scope" value="{scope}"' in html
