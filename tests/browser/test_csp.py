"""The site's pages under its own Content-Security-Policy and Permissions-Policy in Chromium:
nothing is refused, every script still works (they are all static files)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import Favourite
from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-passw0rd"

# Recorded in the page from its first moment: every violation the browser reports, enforced or
# not (the console line alone can be missed when a page navigates away).
_RECORD = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || document.URL}`));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def _policy_problems(page) -> list[str]:
    return [
        p
        for p in page.problems
        if re.search(r"Content.Security.Policy|Permissions.Policy|Refused to", p, re.I)
    ]


def _visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    assert response.headers["content-security-policy"], path
    assert "camera=()" in response.headers["permissions-policy"], path
    assert _violations(page) == [], path


def _log_in(page, login_path: str, username: str) -> None:
    page.goto(login_path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_it_loads_the_main_pages_with_no_policy_violation(page, transactional_db) -> None:
    page.add_init_script(_RECORD)
    # Chromium warns (not errs) of a Permissions-Policy feature it does not know, on every page.
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and "Policy" in m.text and warnings.append(m.text))
    owner = factories.UserFactory(username="owner")
    factories.UserFactory(username="staff", is_staff=True, is_superuser=True)
    video = factories.video_in_library(owner, n_frames=3, title="Harbour")
    frames = list(video.frames.all())
    favourite = factories.FavouriteFactory(user=owner, frame=frames[0])
    job = factories.JobFactory(user=owner, video=video, status="running", progress=0.3)

    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password_reset/"):
        _visit(page, path)
    _log_in(page, "/accounts/login/", "owner")
    expect(page.get_by_test_id("username")).to_have_text("owner")
    for path in (
        "/",
        video.get_absolute_url(),
        f"/frames/{frames[1].pk}/",
        "/favourites/",
        f"/favourites/{favourite.pk}/",
        "/jobs/",
        "/jobs/add/",
    ):
        _visit(page, path)
    # The palette is drawn with SVG fills, not style attributes.
    page.goto(f"/frames/{frames[1].pk}/")
    expect(page.locator(".palette svg rect")).to_have_count(5)
    assert page.locator(".palette svg rect").first.get_attribute("fill") == "#112233"

    # The scripts, all static files, still work: the job page polls its status ...
    _visit(page, job.get_absolute_url())
    expect(page.locator("#job-progress")).to_have_attribute("value", "30")
    # ... and "Inspire me" fetches another frame and saves it without a reload.
    _visit(page, "/inspire/")
    page.evaluate("window.notReloaded = true")
    page.evaluate("document.getElementById('inspire').dataset.old = 'yes'")
    page.locator("#another").click()
    page.wait_for_function("() => !document.getElementById('inspire').dataset.old")  # the new frame is in
    # The frame drawn may be the one already saved: then the button removes it.
    saved = page.locator("#save-button").get_attribute("data-saved") == "true"
    page.locator("#save-button").click()
    expect(page.locator("#inspire-status")).to_have_text(
        "Removed from your favourites." if saved else "Saved to your favourites."
    )
    assert page.evaluate("window.notReloaded") is True
    assert Favourite.objects.filter(user=owner).count() == (0 if saved else 2)

    # The admin, as staff, logged in through its own form.
    page.get_by_role("button", name="Log out").click()
    _log_in(page, "/admin/login/", "staff")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    for path in (
        "/admin/",
        "/admin/gallery/video/",
        f"/admin/gallery/video/{video.pk}/change/",
        "/admin/axes/accessattempt/",
    ):
        _visit(page, path)

    assert _violations(page) == []
    assert _policy_problems(page) == []
    assert warnings == []


def test_it_would_see_a_violation(page, live_server) -> None:
    """The recorder above is not blind: an inline script on a page of the site is refused and
    reported."""
    page.add_init_script(_RECORD)
    page.goto("/accounts/login/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
      document.body.appendChild(s); }""")
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in _violations(page))
