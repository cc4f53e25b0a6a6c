"""Frame files with media in an S3 bucket (moto's server, real HTTP): the view checks who may
see the frame, then redirects to a signed URL of the object that lasts INSPIRE_SIGNED_URL_S.

moto (5.2) checks neither the signature nor the expiry of a presigned URL, so the expiry is
read from the URL (SigV4's X-Amz-Date and X-Amz-Expires, which S3 itself enforces), and what moto
does check is shown: the object is private, so the URL without its signature is refused.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message

import pytest
from django.urls import reverse

from gallery.models import Frame
from inspire.settings import bucket_origin
from tests import factories
from tests.s3server import REGION, S3Server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture(autouse=True)
def _media_in_the_bucket(settings, s3: S3Server) -> None:
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {**settings.STORAGES, "default": s3.storage()}
    settings.INSPIRE_SIGNED_URL_S = 300
    settings.INSPIRE_MEDIA_ORIGIN = bucket_origin(
        bucket=s3.bucket, endpoint_url=s3.endpoint_url, region=REGION, addressing_style=None
    )


def _my_frame(user, **video_kwargs) -> Frame:
    video = factories.VideoFactory(**video_kwargs)
    factories.LibraryItemFactory(user=user, video=video)
    return factories.FrameFactory(video=video, timestamp_ms=65_000)


def _fetch(url: str) -> tuple[int, Message, bytes]:
    """GET, as the browser follows the redirect; headers looked up in any case."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize("variant", ["image", "thumb", "download"])
def test_it_redirects_the_owner_to_a_signed_url_that_serves_the_file(
    owner, owner_client, settings, s3, variant
) -> None:
    frame = _my_frame(owner, title="Old town")
    assert {frame.image.name, frame.thumbnail.name} <= s3.keys()

    response = owner_client.get(reverse("gallery:frame_file", args=[frame.pk, variant]))

    assert response.status_code == 302
    location = response["Location"]
    assert _origin(location) == settings.INSPIRE_MEDIA_ORIGIN  # what the CSP's img-src allows
    assert "X-Amz-Signature=" in location
    # The browser may reuse the redirect only while the URL it points to is valid.
    assert response["Cache-Control"] == "private, max-age=150"
    status, headers, body = _fetch(location)
    assert status == 200
    assert body == factories.TINY_JPEG
    assert headers["Content-Type"] == "image/jpeg"
    if variant == "download":
        assert headers["Content-Disposition"] == 'attachment; filename="old-town-65s.jpg"'


@pytest.mark.parametrize("variant", ["image", "thumb", "download"])
def test_it_gives_another_user_404_and_no_signed_url(owner, other_client, s3, variant) -> None:
    frame = _my_frame(owner)
    response = other_client.get(reverse("gallery:frame_file", args=[frame.pk, variant]))
    assert response.status_code == 404
    assert not response.has_header("Location")
    assert s3.endpoint_url.encode() not in response.content
    assert b"X-Amz-" not in response.content


def test_it_sends_anonymous_visitors_to_log_in_not_to_the_bucket(owner, anon_client) -> None:
    response = anon_client.get(_my_frame(owner).get_image_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_signs_urls_that_expire_after_the_setting(owner, owner_client, settings, s3) -> None:
    settings.INSPIRE_SIGNED_URL_S = 60
    frame = _my_frame(owner)
    before = datetime.now(UTC).replace(microsecond=0)
    location = owner_client.get(frame.get_thumbnail_url())["Location"]
    after = datetime.now(UTC)

    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= after
    assert query["X-Amz-Expires"] == ["60"]  # S3 refuses the URL from signed_at + 60 s on
    # Without its signature the object is not served at all: nothing lasting to hold on to.
    status, _, _ = _fetch(location.split("?", 1)[0])
    assert status == 403


def test_it_links_pages_to_the_permission_checked_view_not_the_bucket(owner, owner_client, s3) -> None:
    frame = _my_frame(owner)
    html = owner_client.get(frame.get_absolute_url()).content.decode()
    assert frame.get_image_url() in html
    assert s3.endpoint_url not in html
    assert "X-Amz-" not in html


def test_it_lets_the_bucket_answer_for_a_lost_object(owner, owner_client, s3) -> None:
    """No HEAD to the bucket before each redirect: a missing object is answered by the bucket
    (403 like S3 itself to a reader not allowed to list the bucket, or 404)."""
    frame = _my_frame(owner)
    s3.client().delete_object(Bucket=s3.bucket, Key=frame.image.name)
    response = owner_client.get(frame.get_image_url())
    assert response.status_code == 302
    status, _, _ = _fetch(response["Location"])
    assert status in {403, 404}
