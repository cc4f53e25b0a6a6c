"""The layout in a real browser, at a laptop's and a phone's size: "Inspire me" with its buttons
on screen, frames at their own aspect ratio, the lightbox driven by the keyboard, a moment
played in place (byte ranges), the landing page. Frames are real stills of generated videos
(jobs.frames.select_stills), stored as the pipeline stores them; screenshots of the main pages
go to test-output/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from gallery import services, views
from gallery.models import Frame, Video
from jobs.frames import select_stills
from tests import factories
from tests.browser.test_flow import _check_page
from tests.videos import make_video

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-passw0rd"
SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

_FITS = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""
_RATIOS = """(selector) => [...document.querySelectorAll(selector)].map(i => [
  i.getBoundingClientRect().width / i.getBoundingClientRect().height,
  Number(i.getAttribute('width')) / Number(i.getAttribute('height')),
])"""
_ALL_LOADED = (
    """(selector) => [...document.querySelectorAll(selector)].every(i => i.complete && i.naturalWidth > 0)"""
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two generated videos and their stills, made once for the module (decoding is the slow
    part): a wide one and a tall one."""
    root = tmp_path_factory.mktemp("clips")
    wide = make_video(root / "harbour.mp4", seconds=6, size=(640, 360))
    tall = make_video(root / "tower.mp4", seconds=4, size=(216, 384))
    return {
        "wide": (wide, select_stills(wide, count=5).stills),
        "tall": (tall, select_stills(tall, count=3).stills),
    }


def _stills_of(video: Video, stills: list) -> list[Frame]:
    return services.frames_add(video=video, stills=stills)


@pytest.fixture
def gallery(clips) -> dict:
    """ada's library: an upload (wide, its file kept: it plays in place) and a curated playlist
    of a tall video; two favourites. The curated frames are the landing page's."""
    wide_path, wide_stills = clips["wide"]
    user = factories.UserFactory(username="ada")
    wide = factories.VideoFactory(
        provider=Video.UPLOAD_PROVIDER, source_url="", title="Harbour at dusk", content_type="video/mp4",
        width=640, height=360,
    )  # fmt: skip
    wide.file.save("harbour.mp4", ContentFile(wide_path.read_bytes()), save=True)
    factories.LibraryItemFactory(user=user, video=wide)
    tall = factories.VideoFactory(title="Tower stairs", width=216, height=384)
    playlist = factories.PlaylistFactory(is_curated=True, title="Editors' towers")
    factories.PlaylistEntryFactory(playlist=playlist, video=tall, position=0)
    wide_frames = _stills_of(wide, wide_stills)
    tall_frames = _stills_of(tall, clips["tall"][1])
    assert len(wide_frames) >= 3 and len(tall_frames) >= 2
    for frame in (wide_frames[0], tall_frames[0]):
        services.favourite_add(user=user, frame=frame)
    return {"user": user, "wide": wide, "tall": tall, "wide_frames": wide_frames, "tall_frames": tall_frames}


def _log_in(page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("username")).to_have_text("ada")


def _shoot(page, screenshot, name: str, size: str, images: str = "main img") -> None:
    page.wait_for_function(_ALL_LOADED, arg=images)
    screenshot(page, f"layout-{name}-{size}")


def test_it_fits_inspire_me_with_its_buttons_on_screen(page, gallery, screenshot) -> None:
    _log_in(page)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto("/inspire/")
        page.wait_for_function(_ALL_LOADED, arg="#frame-image")
        for button in ("#save-button", "#another"):
            assert page.evaluate(_FITS, button), f"{button} is below the fold at {size}"
        # The stage is as high as the frame: no black box around a small picture.
        stage = page.locator("#frame-stage").bounding_box()
        image = page.locator("#frame-image").bounding_box()
        assert stage["height"] <= image["height"] + 1, (size, stage, image)
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        screenshot(page, f"layout-inspire-{size}")
    assert page.problems == []


def test_it_shows_every_frame_at_its_own_aspect_ratio(page, gallery, screenshot) -> None:
    _log_in(page)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for name, url in (("favourites", "/favourites/"), ("video", gallery["wide"].get_absolute_url())):
            page.goto(url)
            page.wait_for_function(_ALL_LOADED, arg=".tile-link img")
            ratios = page.evaluate(_RATIOS, ".tile-link img")
            assert ratios, url
            for shown, own in ratios:
                assert shown == pytest.approx(own, rel=0.03), (url, size, ratios)
            _check_page(page)  # alt text on every image, a label on every field
            _shoot(page, screenshot, name, size)
        page.goto(gallery["tall"].get_absolute_url())
        _shoot(page, screenshot, "tall-video", size)
        page.goto("/")
        _shoot(page, screenshot, "home", size)
    assert page.problems == []


def test_it_steps_through_a_grid_in_the_lightbox_with_the_keyboard(page, gallery, screenshot) -> None:
    _log_in(page)
    page.set_viewport_size(SIZES["desktop"])
    frames = sorted(gallery["wide_frames"], key=lambda f: f.timestamp_ms)
    page.goto(gallery["wide"].get_absolute_url())
    tiles = page.locator("a[data-lightbox]")
    expect(tiles).to_have_count(len(frames))
    # Hover (or focus) shows a tile's actions.
    tiles.nth(1).hover()
    expect(page.get_by_test_id("frame-tile").nth(1).locator(".tile-actions")).to_have_css("opacity", "1")
    page.mouse.move(0, 0)
    # ...and so does the keyboard: Tab from a tile reaches its actions.
    tiles.nth(2).focus()
    page.keyboard.press("Tab")
    focused = page.get_by_test_id("frame-tile").nth(2)
    expect(focused.get_by_role("link", name=re.compile("^Open"))).to_be_focused()
    expect(focused.locator(".tile-actions")).to_have_css("opacity", "1")

    tiles.first.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#lightbox")
    expect(dialog).to_be_visible()
    image = dialog.locator("#frame-image")
    # The first frame is a favourite: its page is the favourite's, shown all the same.
    expect(image).to_have_attribute("src", f"/frames/{frames[0].pk}/image")
    page.keyboard.press("ArrowRight")
    expect(image).to_have_attribute("src", f"/frames/{frames[1].pk}/image")
    page.keyboard.press("ArrowRight")
    expect(image).to_have_attribute("src", f"/frames/{frames[2].pk}/image")
    page.keyboard.press("ArrowLeft")
    expect(image).to_have_attribute("src", f"/frames/{frames[1].pk}/image")
    page.wait_for_function("() => document.querySelector('#lightbox #frame-image').naturalWidth > 0")
    screenshot(page, "layout-lightbox")
    # Playing the moment stays in the overlay, and closing it stops the player.
    dialog.get_by_role("link", name=re.compile("Play from")).click()
    expect(dialog.locator("video#frame-player")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#frame-player")).to_have_count(0)
    tiles.first.focus()
    page.keyboard.press("Enter")
    expect(image).to_have_attribute("src", f"/frames/{frames[0].pk}/image")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Focus is back on the tile the lightbox was opened from.
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == tiles.first.get_attribute(
        "href"
    )
    expect(page).to_have_url(re.compile(rf"/videos/{gallery['wide'].pk}/$"))  # never left the page

    # Without the overlay, a frame's own page steps with the same keys through its links.
    page.goto(frames[1].get_absolute_url())
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"/frames/{frames[2].pk}/$"))
    assert page.problems == []


def test_it_plays_an_upload_in_place_from_the_frames_moment(page, gallery, screenshot) -> None:
    _log_in(page)
    frame = max(gallery["wide_frames"], key=lambda f: f.timestamp_ms)
    page.goto(frame.get_absolute_url())
    ranges = []
    page.on("response", lambda r: r.status == 206 and ranges.append(r.headers.get("content-range")))
    page.get_by_role("link", name=re.compile(r"Play from")).click()
    player = page.locator("video#frame-player")
    expect(player).to_be_visible()
    page.wait_for_function("() => document.getElementById('frame-player').readyState >= 1")
    seconds = frame.timestamp_ms // 1000
    current = page.evaluate("() => document.getElementById('frame-player').currentTime")
    assert current == pytest.approx(seconds, abs=1.0)
    assert ranges and all(re.fullmatch(r"bytes \d+-\d+/\d+", r) for r in ranges), ranges
    # The plain link to the original stays, and the frame comes back with one click.
    expect(page.locator("#source-link")).to_have_attribute(
        "href", re.compile(rf"/videos/\d+/file#t={seconds}$")
    )
    page.set_viewport_size(SIZES["desktop"])
    screenshot(page, "layout-playing-desktop")
    page.get_by_role("link", name="Show the frame").click()
    expect(page.locator("#frame-image")).to_be_visible()
    assert page.problems == []


def test_it_shows_visitors_what_the_site_does_with_curated_frames_only(page, gallery, screenshot) -> None:
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto("/")
        expect(page.get_by_role("link", name=re.compile("Sign up")).first).to_be_visible()
        # The first frames of the curated video (views.LANDING_FRAMES_PER_VIDEO of them).
        first = sorted(gallery["tall_frames"], key=lambda f: f.timestamp_ms)[: views.LANDING_FRAMES_PER_VIDEO]
        images = page.get_by_test_id("landing-frame").locator("img")
        expect(images).to_have_count(len(first))
        page.wait_for_function(_ALL_LOADED, arg="[data-testid=landing-frame] img")
        srcs = [images.nth(i).get_attribute("src") for i in range(images.count())]
        assert srcs == [f.get_thumbnail_url() for f in first]
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        screenshot(page, f"layout-landing-{size}")
    # The upload's frames are ada's: a visitor cannot load them.
    response = page.request.get(gallery["wide_frames"][0].get_thumbnail_url(), max_redirects=0)
    assert response.status == 302
    assert page.problems == []


def test_it_lets_staff_hide_frames_from_the_grid_of_a_video(page, gallery, screenshot) -> None:
    factories.UserFactory(username="curator", is_staff=True, is_superuser=True)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("curator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    tall = gallery["tall"]
    page.goto(f"/admin/gallery/video/{tall.pk}/change/")
    grid = page.get_by_test_id("frame-grid")
    page.wait_for_function(_ALL_LOADED, arg="[data-testid=frame-grid] img")
    boxes = grid.get_by_role("checkbox")
    expect(boxes).to_have_count(len(gallery["tall_frames"]))
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#frame-grid-count")).to_have_text("2 selected")
    screenshot(page, "layout-admin-grid-desktop")
    page.get_by_role("button", name="Hide selected").click()
    expect(page.get_by_text("Hid 2 frames.")).to_be_visible()
    assert Frame.objects.filter(video=tall, is_hidden=True).count() == 2
    expect(page.locator(".frame-cell.is-hidden")).to_have_count(2)
