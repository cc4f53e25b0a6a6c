"""The whole site in a real browser: sign up, add a video, watch it being processed by a real
`manage.py qcluster`, get inspired, save a frame, find it in the gallery, remove it, log out."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from gallery.models import Favourite
from jobs.models import Job
from tests.cluster import run_cluster
from tests.httpserver import MediaServer
from tests.videos import make_video

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

PASSWORD = "a-Strong-passw0rd"
PHONE = {"width": 390, "height": 844}

# Every image has a text alternative; every visible form field has a label.
_MISSING_ALT = "() => [...document.images].filter(i => !i.getAttribute('alt')).map(i => i.src)"
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit'].includes(e.type) && !e.labels.length && !e.getAttribute('aria-label'))
  .map(e => e.name)"""
_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def _check_page(page) -> None:
    assert page.evaluate(_MISSING_ALT) == [], page.url
    assert page.evaluate(_UNLABELLED) == [], page.url


def _on_phone(page, screenshot, name: str) -> None:
    """The page fits a phone screen (no sideways scrolling), then back to the desktop size."""
    page.set_viewport_size(PHONE)
    assert page.evaluate(_OVERFLOW) <= 0, f"{page.url} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_it_takes_a_new_user_from_signup_to_a_saved_favourite_and_back(
    page, live_server, settings, screenshot, tmp_path: Path
) -> None:
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True
    served = tmp_path / "served"
    served.mkdir()
    make_video(served / "island-tour.mp4", seconds=10)

    with MediaServer(served) as server, run_cluster() as cluster:
        # Sign up: a new user lands on an empty library with one obvious first step.
        page.goto("/accounts/signup/")
        _check_page(page)
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_test_id("empty-library")).to_be_visible()
        expect(page.get_by_test_id("username")).to_have_text("ada")
        screenshot(page, "home-empty")

        # Add a video served by the local media server.
        page.get_by_role("link", name="Add your first video").click()
        _check_page(page)
        page.get_by_label("YouTube video or playlist link").fill(server.url("island-tour.mp4"))
        page.get_by_label("How many frames").fill("4")
        screenshot(page, "add")
        page.get_by_role("button", name="Start").click()
        expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))

        # The progress bar moves to done without a reload.
        assert page.locator("#job").get_attribute("data-finished") == "false"
        page.evaluate(
            """() => {
              window.notReloaded = true;
              window.seen = [];
              const bar = document.getElementById('job-progress');
              new MutationObserver(() => window.seen.push(Number(bar.getAttribute('value'))))
                .observe(bar, {attributes: true, attributeFilter: ['value']});
            }"""
        )
        try:
            expect(page.locator("#job-status")).to_have_attribute("data-status", "done", timeout=90_000)
        except AssertionError:
            raise AssertionError(
                f"job did not finish: {page.locator('#job').inner_text()}\n{cluster.output}"
            ) from None
        # The frames it made show up on the page, in justified rows (static/js/grid.js).
        expect(page.get_by_test_id("job-frames").get_by_test_id("frame-tile").first).to_be_visible()
        expect(page.get_by_test_id("job-frames")).to_have_class(re.compile(r"\bjustified\b"))
        assert page.evaluate("window.notReloaded") is True
        seen = page.evaluate("window.seen")
        assert seen and seen[-1] == 100 and seen == sorted(seen), seen
        expect(page.locator("#job-progress")).to_have_attribute("value", "100")
        expect(page.locator("#job-message")).to_contain_text("Ready:")
        expect(page.locator("#job-retry")).to_be_hidden()
        job = Job.objects.get()
        expect(page.locator("#job-title")).to_have_text(job.video.title)  # was the link until known
        assert job.status == Job.Status.DONE and job.video is not None
        screenshot(page, "job-done")

        # The library now shows the video with its thumbnails and frame count.
        page.get_by_role("link", name="Library").click()
        tile = page.get_by_test_id("video-tile")
        expect(tile).to_have_count(1)
        expect(tile).to_contain_text("Ready")
        expect(tile).to_contain_text(re.compile(r"\d+ frames"))
        _check_page(page)
        screenshot(page, "home")
        _on_phone(page, screenshot, "home")

        # Inspire me from this video: one large frame; "Another one" keeps the video as scope.
        page.goto(f"/jobs/{job.pk}/")
        page.locator("#job-inspire-link").click()
        expect(page).to_have_url(re.compile(rf"/inspire/\?video={job.video_id}$"))
        image = page.locator("#frame-image")
        expect(image).to_be_visible()
        page.wait_for_function("() => document.getElementById('frame-image').naturalWidth > 0")
        expect(page.locator("#frame-video")).to_have_text(job.video.title)
        expect(page.locator("#frame-time")).to_have_text(re.compile(r"^\d+:\d\d$"))
        expect(page.locator("#frame-palette .palette .swatch-copy").first).to_be_visible()
        # "Another one" fetches the frame as the server renders it and puts it in place.
        with page.expect_response(lambda r: "partial=1" in r.url) as answer:
            page.keyboard.press("ArrowRight")
        assert f"video={job.video_id}" in answer.value.url
        next_id = re.search(r'data-frame-id="(\d+)"', answer.value.text()).group(1)
        expect(page.locator("#inspire")).to_have_attribute("data-frame-id", next_id)
        with page.expect_response(lambda r: "partial=1" in r.url) as answer:
            page.get_by_role("link", name="Another one").click()
        assert f"video={job.video_id}" in answer.value.url
        next_id = re.search(r'data-frame-id="(\d+)"', answer.value.text()).group(1)
        expect(image).to_have_attribute("src", f"/frames/{next_id}/image")
        expect(page).to_have_url(re.compile(rf"/inspire/\?video={job.video_id}$"))  # no reload

        # Save with the keyboard: the button shows the saved state.
        frame_id = int(page.locator("#inspire").get_attribute("data-frame-id"))
        save = page.locator("#save-button")
        expect(save).to_have_text("Save")
        page.keyboard.press("s")
        expect(save).to_have_text("Saved ✓")
        expect(save).to_have_attribute("aria-pressed", "true")
        assert Favourite.objects.filter(user__username="ada", frame_id=frame_id).exists()
        _check_page(page)
        screenshot(page, "inspire")
        _on_phone(page, screenshot, "inspire")

        # The favourite is in the gallery; its page has the full image, note, download, remove.
        page.get_by_role("link", name="Favourites").click()
        tiles = page.get_by_test_id("favourite-tile")
        expect(tiles).to_have_count(1)
        screenshot(page, "favourites")
        # A tile opens in the lightbox, which leads on to the favourite's own page.
        tiles.first.click()
        expect(page.locator("#lightbox #frame-image")).to_have_attribute("src", f"/frames/{frame_id}/image")
        page.get_by_role("link", name="Open its page").click()
        detail = page.get_by_test_id("favourite-detail")
        expect(detail.locator("img")).to_have_attribute("src", f"/frames/{frame_id}/image")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=favourite-detail] img').naturalWidth > 0"
        )
        page.get_by_label("Note").fill("the pink sky")
        page.get_by_role("button", name="Save note").click()
        expect(page.get_by_text("Note saved.")).to_be_visible()
        expect(page.get_by_label("Note")).to_have_value("the pink sky")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download").click()
        assert download.value.suggested_filename.endswith(".jpg")
        _check_page(page)
        screenshot(page, "favourite-detail")
        page.get_by_role("button", name="Remove from favourites").click()
        expect(page).to_have_url(re.compile(r"/favourites/$"))
        expect(page.get_by_text("Removed from your favourites.")).to_be_visible()
        expect(page.get_by_test_id("favourites-empty")).to_be_visible()
        assert not Favourite.objects.exists()

        # Log out: back to the login page, and the library is closed again: / is the landing page.
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.goto("/")
        expect(page.get_by_role("heading", name=re.compile("Turn long videos"))).to_be_visible()
        expect(page.get_by_test_id("username")).to_have_count(0)
        page.goto("/favourites/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/favourites/$"))

    # Everything the pages loaded came from the site itself: no CDN, no third party.
    site = urlsplit(live_server.url).netloc
    assert {urlsplit(u).netloc for u in page.requested if u.startswith("http")} == {site}
    assert page.problems == []
