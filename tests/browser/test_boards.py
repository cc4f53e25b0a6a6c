"""Boards in a real browser: create one, save to it from "Inspire me", share it and open the
link as a stranger, revoke it, remove frames in bulk and undo, download the board's zip."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gallery.models import Board, Favourite, Frame
from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-passw0rd"
PHONE = {"width": 390, "height": 844}
_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
_MISSING_ALT = "() => [...document.images].filter(i => !i.getAttribute('alt')).map(i => i.src)"
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit'].includes(e.type) && !e.labels.length && !e.getAttribute('aria-label'))
  .map(e => e.name)"""
# The gap between each card and a card just before it.
_CARD_GAPS = """() => [...document.querySelectorAll('main .card')]
  .filter(c => c.previousElementSibling && c.previousElementSibling.classList.contains('card'))
  .map(c => c.getBoundingClientRect().top - c.previousElementSibling.getBoundingClientRect().bottom)"""
_ALL_SHOWN = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
_INLINE_SCRIPT = """() => [...document.scripts].filter(s => !s.src).length
  + [...document.querySelectorAll('*')]
    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length"""


def _check_page(page) -> None:
    assert page.evaluate(_MISSING_ALT) == [], page.url
    assert page.evaluate(_UNLABELLED) == [], page.url
    assert page.evaluate(_INLINE_SCRIPT) == 0, page.url


def _images_shown(page) -> None:
    """Every image of the page decodes (lazy ones are scrolled to first)."""
    images = page.locator("img")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(_ALL_SHOWN)


def _log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("username")).to_have_text(username)


def test_it_keeps_shares_and_exports_a_board(page, browser, live_server, screenshot, tmp_path: Path) -> None:
    user = factories.UserFactory(username="ada")
    factories.video_in_library(user, n_frames=6, title="Harbour walk")
    _log_in(page, "ada")

    # Create a board.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Boards").click()
    _check_page(page)
    page.get_by_label("Name").fill("Blue hour")
    page.get_by_label("Description").fill("Harbours at dusk")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_test_id("board-name")).to_have_text("Blue hour")
    expect(page.get_by_test_id("board-empty")).to_be_visible()

    # Save two frames from "Inspire me" into it, without leaving the page.
    page.goto("/inspire/")
    _check_page(page)
    saved = []
    for _ in range(2):
        inspire = page.locator("#inspire")
        frame_id = inspire.get_attribute("data-frame-id")
        expect(page.get_by_label("Board", exact=True)).to_have_value(str(Board.objects.get().pk))
        page.get_by_role("button", name="Save to board").click()
        expect(page.locator(".board-status")).to_have_text("Saved to “Blue hour”.")
        expect(page.locator("#save-button")).to_have_text("Saved ✓")
        saved.append(int(frame_id))
        page.locator("#another").click()
        expect(page.locator("#inspire")).not_to_have_attribute("data-frame-id", frame_id)
    screenshot(page, "boards-inspire")
    board = Board.objects.get()
    assert sorted(board.items.values_list("favourite__frame_id", flat=True)) == sorted(saved)

    # The board page shows both, in the order they were saved.
    page.goto(board.get_absolute_url())
    _check_page(page)
    tiles = page.get_by_test_id("board-items").locator("li")
    expect(tiles).to_have_count(2)
    _images_shown(page)
    screenshot(page, "boards-board")
    # Its cards one after another do not touch, and the heading opening one sits at its padding.
    gaps = page.evaluate(_CARD_GAPS)
    assert gaps and min(gaps) >= 8, gaps
    share = page.get_by_test_id("share")
    gap = share.locator("h2").bounding_box()["y"] - share.bounding_box()["y"]
    assert gap <= 30, gap  # the card's padding (22 px), not that plus a heading's margin
    # Drag the second frame before the first: the new order is saved without a reload.
    with page.expect_response(re.compile(r"/order$")) as saving:
        tiles.nth(1).drag_to(tiles.nth(0))
    assert saving.value.ok
    page.reload()
    expect(tiles.nth(0).locator("input.pick")).to_have_attribute("value", str(saved[1]))
    saved.reverse()
    page.set_viewport_size(PHONE)
    assert page.evaluate(_OVERFLOW) <= 0, "the board page scrolls sideways on a phone"
    screenshot(page, "boards-board-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Share it; a stranger with the link sees the frames and nothing of the owner.
    page.get_by_role("button", name="Share with a link").click()
    link = page.get_by_test_id("share-link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/s/[A-Za-z0-9_-]{{43}}/", link)
    stranger = browser.new_context()
    try:
        visit = stranger.new_page()
        response = visit.goto(link)
        assert response.status == 200
        expect(visit.get_by_test_id("board-name")).to_have_text("Blue hour")
        expect(visit.get_by_test_id("shared-tile")).to_have_count(2)
        _images_shown(visit)
        assert "ada" not in visit.content() and visit.get_by_role("link", name="Log in").is_visible()
        screenshot(visit, "boards-shared")

        # Revoke it: the same link is now a 404, and so are its images.
        image = visit.locator("img").first.get_attribute("src")
        page.get_by_role("button", name="Stop sharing").click()
        expect(page.get_by_text("its link no longer works")).to_be_visible()
        assert visit.goto(link).status == 404
        assert visit.request.get(live_server.url + image).status == 404
    finally:
        stranger.close()

    # Bulk remove from the gallery, with the keyboard; then Undo.
    page.goto("/favourites/")
    _check_page(page)
    boxes = page.locator("input.pick")
    expect(boxes).to_have_count(2)
    for i in range(2):
        boxes.nth(i).focus()
        page.keyboard.press("Space")
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected:")
    page.get_by_role("button", name="Remove from favourites").click()
    expect(page.get_by_text("Removed 2 frames from your favourites.")).to_be_visible()
    expect(page.get_by_test_id("favourites-empty")).to_be_visible()
    assert not Favourite.objects.exists()
    screenshot(page, "boards-undo")
    expect(page.get_by_test_id("undo")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Restored 2 frames.")).to_be_visible()
    expect(page.get_by_test_id("favourite-tile")).to_have_count(2)
    assert board.items.count() == 2

    # Download the board: a zip of both full images and their CSV.
    page.goto(board.get_absolute_url())
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the board (zip)").click()
    path = tmp_path / "board.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("favourites.csv").decode())))
        assert [row["title"] for row in rows] == ["Harbour walk", "Harbour walk"]
        assert [row["timestamp"] for row in rows] == [
            Frame.objects.get(pk=pk).timestamp_label for pk in saved
        ]
        assert all(archive.read(row["file"]) == factories.TINY_JPEG for row in rows)
        assert len(archive.namelist()) == 3
    assert page.problems == []
