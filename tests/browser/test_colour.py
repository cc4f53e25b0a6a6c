"""Colour and likeness in a real browser: copy a swatch's hex, search by a swatch's colour and by
the picker, open "more like this"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from gallery import services
from jobs import frames as frames_adapter
from tests import factories
from tests.gallery.test_similarity import _picture

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-passw0rd"
BLUE, NEAR_BLUE, RED = "#3a7bd5", "#5478c8", "#d53a3a"


def _frame(video, timestamp_ms: int, palette: list[str], picture):
    signature = frames_adapter.signature(picture)
    return factories.stored_frame(video, timestamp_ms=timestamp_ms, palette=palette, signature=signature)


@pytest.fixture
def world(db):
    ada = factories.UserFactory(username="ada")
    video = factories.VideoFactory(title="Harbour at dusk")
    factories.LibraryItemFactory(user=ada, video=video)
    blue = _frame(video, 1000, [BLUE, RED], _picture(1))
    near = _frame(video, 2000, [NEAR_BLUE], _picture(1, 4))
    red = _frame(video, 3000, [RED], _picture(30))
    # Someone else's frame of the very same colour: never shown to ada.
    stranger = factories.VideoFactory(title="Private holiday")
    factories.LibraryItemFactory(user=factories.UserFactory(username="bob"), video=stranger)
    _frame(stranger, 1000, [BLUE], _picture(1, 2))
    services.favourite_add(user=ada, frame=red)
    return {"blue": blue, "near": near, "red": red}


def _log_in(page) -> None:
    page.goto(reverse("login"))
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("username")).to_have_text("ada")


def _tiles(page) -> list[str]:
    return page.get_by_test_id("match-tile").evaluate_all("tiles => tiles.map(t => t.dataset.frameId)")


def test_it_copies_a_swatch_and_searches_by_its_colour(page, live_server, world, screenshot) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    _log_in(page)
    page.goto(world["blue"].get_absolute_url())
    swatch = page.get_by_role("button", name=f"Copy {BLUE}")
    expect(swatch).to_contain_text(BLUE)
    swatch.click()
    expect(page.locator(".swatch-status")).to_have_text(f"Copied {BLUE}.")
    assert page.evaluate("() => navigator.clipboard.readText()") == BLUE
    screenshot(page, "swatches")

    page.get_by_role("link", name=f"Frames with the colour {BLUE}").click()
    expect(page).to_have_url(re.compile(r"/colour/\?colour=%23" + BLUE[1:]))
    expect(page.get_by_test_id("colour-results")).to_be_visible()
    # The exact colour first, then the near blue; not the red frame, not bob's blue one.
    assert _tiles(page) == [str(world["blue"].pk), str(world["near"].pk)]
    expect(page.get_by_test_id("match-tile").first).to_contain_text("ΔE 0.0")
    screenshot(page, "colour-results")

    # The gallery's picker searches the favourites: the red favourite, found by a red.
    page.goto(reverse("gallery:favourites"))
    page.get_by_label("Frames with the colour", exact=True).fill("#d03c3c")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"scope=favourites"))
    assert _tiles(page) == [str(world["red"].pk)]
    assert page.problems == []


def test_it_opens_more_like_this_from_a_frame(page, world, screenshot) -> None:
    _log_in(page)
    page.goto(world["blue"].get_absolute_url())
    page.get_by_role("link", name="More like this").click()
    expect(page).to_have_url(re.compile(rf"/frames/{world['blue'].pk}/similar$"))
    expect(page.get_by_test_id("similar-results")).to_be_visible()
    tiles = _tiles(page)
    assert tiles[0] == str(world["near"].pk)  # the same picture panned a little
    assert str(world["blue"].pk) not in tiles
    assert len(tiles) <= 2  # ada sees three frames; bob's is never among them
    screenshot(page, "more-like-this")
    page.get_by_test_id("match-tile").first.click()
    expect(page).to_have_url(world["near"].get_absolute_url())
    assert page.problems == []
