"""Content-Security-Policy (django-csp) and Permissions-Policy (inspire/headers.py) on every
kind of page, and templates that need no inline script or style to work under them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests import factories
from tests.deploy.helpers import load_settings

ROOT = Path(__file__).resolve().parents[2]
YOUTUBE = "https://www.youtube-nocookie.com"


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _pages(owner, staff) -> dict[str, list[str]]:
    """Pages by who asks: an anonymous visitor, a signed-in user, staff in the admin."""
    video = factories.video_in_library(owner, n_frames=2)
    frame, saved = video.frames.all()
    favourite = factories.FavouriteFactory(user=owner, frame=saved)
    job = factories.JobFactory(user=owner, video=video)
    return {
        "anon": [reverse("login"), reverse("signup"), reverse("password_reset"), reverse("admin:login")],
        "owner": [
            reverse("gallery:home"),
            reverse("gallery:inspire"),
            reverse("gallery:favourites"),
            reverse("gallery:frame", args=[frame.pk]),
            reverse("gallery:favourite", args=[favourite.pk]),
            reverse("gallery:video", args=[video.pk]),
            reverse("jobs:list"),
            reverse("jobs:add"),
            job.get_absolute_url(),
        ],
        "staff": [
            reverse("admin:index"),
            reverse("admin:gallery_video_changelist"),
            reverse("admin:gallery_video_change", args=[video.pk]),
        ],
    }


def test_it_sends_a_strict_csp_and_a_permissions_policy_on_every_kind_of_page(
    owner, staff, anon_client, owner_client, staff_client
) -> None:
    clients = {"anon": anon_client, "owner": owner_client, "staff": staff_client}
    checked = 0
    for who, urls in _pages(owner, staff).items():
        for url in urls:
            response = clients[who].get(url)
            assert response.status_code == 200, (who, url, response.status_code)
            policy = _policy(response["Content-Security-Policy"])
            assert policy["default-src"] == ["'self'"], url
            assert policy["script-src"] == ["'self'"], url  # no 'unsafe-inline', no nonce needed
            assert policy["style-src"] == ["'self'"], url
            assert policy["img-src"] == ["'self'"], url  # media on disk: no bucket
            assert policy["media-src"] == ["'self'"], url
            assert policy["frame-src"] == [YOUTUBE], url
            assert policy["frame-ancestors"] == ["'none'"], url
            assert policy["object-src"] == ["'none'"], url
            assert policy["base-uri"] == ["'self'"], url
            assert policy["form-action"] == ["'self'"], url
            permissions = response["Permissions-Policy"]
            for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
                assert f"{feature}=()" in permissions, url
            assert f'fullscreen=(self "{YOUTUBE}")' in permissions
            checked += 1
    assert checked == 16


def test_it_sends_both_headers_on_errors_and_on_json_too(owner, owner_client, anon_client) -> None:
    for response in (
        anon_client.get("/no-such-page/"),
        owner_client.get(reverse("gallery:random_frame")),
        owner_client.post(reverse("gallery:frame_save", args=[999_999]), HTTP_ACCEPT="application/json"),
    ):
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert "camera=()" in response["Permissions-Policy"]


def test_it_sends_both_headers_on_the_lockout_page(owner, client) -> None:
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    assert response.status_code == 429
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]


# --- Templates ------------------------------------------------------------------------------
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
_HANDLER = re.compile(r"""<[^>]*\son[a-z]+\s*=""", re.I)
_INLINE_STYLE = re.compile(r"""<style\b|<[^>]*\sstyle\s*=""", re.I)
_JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _templates() -> list[Path]:
    found = sorted((ROOT / "templates").rglob("*.html"))
    assert len(found) > 20
    return found


def test_it_has_no_inline_script_or_event_handler_in_any_template() -> None:
    problems = []
    for path in _templates():
        text = path.read_text()
        for pattern, what in (
            (_INLINE_SCRIPT, "inline <script>"),
            (_HANDLER, "on…= handler"),
            (_JS_URL, "javascript: URL"),
        ):
            problems += [
                f"{path.relative_to(ROOT)}: {what}: {m.group(0)[:60]}" for m in pattern.finditer(text)
            ]
    assert problems == []


def test_it_has_no_inline_style_in_any_template() -> None:
    problems = []
    for path in _templates():
        problems += [
            f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in _INLINE_STYLE.finditer(path.read_text())
        ]
    assert problems == []


@pytest.mark.parametrize(
    "bad",
    [
        "<script>alert(1)</script>",
        '<button onclick="go()">',
        "<a href='javascript:go()'>",
        '<div style="color: red">',
    ],
)
def test_it_would_notice_inline_code(bad: str) -> None:
    assert any(p.search(bad) for p in (_INLINE_SCRIPT, _HANDLER, _JS_URL, _INLINE_STYLE))
    assert not any(
        p.search('<script src="/static/js/site.js" defer></script>') for p in (_INLINE_SCRIPT, _HANDLER)
    )


# --- Images from the bucket -----------------------------------------------------------------
PROBE = """
import json
from django.conf import settings
directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
print(json.dumps([directives["img-src"], directives["media-src"]]))
"""


def test_it_adds_the_bucket_to_img_src_only_with_s3() -> None:
    base = {"DEBUG": "0", "SECRET_KEY": "x"}
    s3 = {
        **base,
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "inspire-media",
        "AWS_S3_ENDPOINT_URL": "https://minio.example.net:9000",
        "AWS_S3_ADDRESSING_STYLE": "path",
    }
    for env, expected in (
        (base, ["'self'"]),
        (s3, ["'self'", "https://minio.example.net:9000"]),
    ):
        result = load_settings(PROBE, **env)
        assert result.returncode == 0, result.stderr
        # Images and uploaded videos alike are redirected to the bucket.
        assert json.loads(result.stdout) == [expected, expected]
