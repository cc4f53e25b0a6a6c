"""Playwright for Python driving Chromium against pytest-django's live server.

Debian's Chromium when it is on the PATH, else Playwright's own build. `make test` installs one
when neither is there (tests/browser/install_chromium.sh); these tests never skip, so a run
without a browser fails rather than going green without them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")  # Debian's; None: Playwright's own build
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import Error, sync_playwright

    # Playwright's sync API keeps an event loop in this thread for the whole session, and
    # Django's guard then refuses every ORM call made here (test database setup included),
    # although they are plain synchronous code. The live server runs in its own thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            except Error as error:
                message = "No Chromium to run the browser tests: `make test` installs one"
                pytest.fail(f"{message} (tests/browser/install_chromium.sh).\n{error}", pytrace=False)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A fresh browser context (no cookies) on the live server, with what went wrong recorded."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = []  # console errors and uncaught exceptions
    page.requested = []  # every URL the page asked for
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: page.requested.append(r.url))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-output/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
