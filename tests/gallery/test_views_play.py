"""Playing a frame's moment in place (?play=1 on its page) and the byte ranges a <video> asks for."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from gallery.models import Frame, Video
from tests import factories

UPLOAD = bytes(range(256)) * 4  # 1024 bytes, each position readable in the answer


def _frame(user, **video_kwargs) -> Frame:
    video = factories.VideoFactory(**video_kwargs)
    factories.LibraryItemFactory(user=user, video=video)
    return factories.FrameFactory(video=video, timestamp_ms=65_400)


def _upload(user) -> Video:
    video = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER, source_url="", content_type="video/mp4")
    video.file.save("upload", ContentFile(UPLOAD), save=True)
    factories.LibraryItemFactory(user=user, video=video)
    return video


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- The player -----------------------------------------------------------------------------
def test_it_plays_a_youtube_frame_in_the_privacy_enhanced_embed(owner, owner_client) -> None:
    frame = _frame(owner, provider="youtube", provider_id="dQw4w9WgXcQ", source_url="")
    html = owner_client.get(frame.get_absolute_url()).content.decode()
    assert f'href="{frame.get_absolute_url()}?play=1"' in html and "<iframe" not in html
    playing = owner_client.get(frame.get_absolute_url(), {"play": "1"}).content.decode()
    assert (
        '<iframe id="frame-player" class="player" src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=65"'
        in playing
    )
    assert 'id="frame-image"' not in playing
    # The plain link to the original stays.
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ&amp;t=65s" in playing


def test_it_plays_an_upload_from_the_site_at_the_moment(owner, owner_client) -> None:
    video = _upload(owner)
    frame = factories.FrameFactory(video=video, timestamp_ms=65_400)
    playing = owner_client.get(frame.get_absolute_url(), {"play": "1"}).content.decode()
    src = reverse("gallery:video_file", args=[video.pk]) + "#t=65"
    assert f'<video id="frame-player" class="player" src="{src}"' in playing


def test_it_plays_a_direct_video_file_from_its_link(owner, owner_client) -> None:
    frame = _frame(owner, source_url="https://videos.example.com/tour.webm")
    playing = owner_client.get(frame.get_absolute_url(), {"play": "1"}).content.decode()
    assert 'src="https://videos.example.com/tour.webm#t=65"' in playing and "<video" in playing


@pytest.mark.parametrize("url", ["https://videos.example.com/watch/123", "javascript:alert(1)//x.mp4"])
def test_it_offers_no_player_for_a_page_only_its_site_plays(owner, owner_client, url) -> None:
    frame = _frame(owner, source_url=url)
    html = owner_client.get(frame.get_absolute_url(), {"play": "1"}).content.decode()
    assert "<video" not in html and "<iframe" not in html and 'id="play-link"' not in html
    assert 'id="frame-image"' in html


def test_it_keeps_the_player_on_a_saved_frames_page(owner, owner_client) -> None:
    frame = _frame(owner, provider="youtube", provider_id="abcdefghijk", source_url="")
    favourite = factories.FavouriteFactory(user=owner, frame=frame)
    response = owner_client.get(frame.get_absolute_url(), {"play": "1"})
    assert response["Location"] == favourite.get_absolute_url() + "?play=1"
    playing = owner_client.get(response["Location"]).content.decode()
    assert "youtube-nocookie.com/embed/abcdefghijk?start=65" in playing


def test_it_plays_nothing_of_another_users_frame(owner, other_client) -> None:
    frame = _frame(owner, provider="youtube", provider_id="dQw4w9WgXcQ")
    assert other_client.get(frame.get_absolute_url(), {"play": "1"}).status_code == 404


def test_it_sends_anonymous_visitors_from_a_player_to_log_in(owner, anon_client) -> None:
    frame = _frame(owner, provider="youtube", provider_id="dQw4w9WgXcQ")
    response = anon_client.get(frame.get_absolute_url(), {"play": "1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Byte ranges ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=10-5000", 10, 1023),
    ],
)
def test_it_answers_one_byte_range_with_206(owner, owner_client, header, start, end) -> None:
    video = _upload(owner)
    response = owner_client.get(reverse("gallery:video_file", args=[video.pk]), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/1024"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Content-Type"] == "video/mp4"
    assert _body(response) == UPLOAD[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_it_answers_416_to_a_range_past_the_end(owner, owner_client, header) -> None:
    video = _upload(owner)
    response = owner_client.get(reverse("gallery:video_file", args=[video.pk]), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize("header", ["", "bytes=0-1,5-6", "bytes=9-2", "items=0-5", "bytes=-"])
def test_it_sends_the_whole_file_for_no_range_or_one_it_ignores(owner, owner_client, header) -> None:
    video = _upload(owner)
    extra = {"HTTP_RANGE": header} if header else {}
    response = owner_client.get(reverse("gallery:video_file", args=[video.pk]), **extra)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert _body(response) == UPLOAD


def test_it_serves_ranges_of_frame_images_too(owner, owner_client) -> None:
    frame = _frame(owner)
    response = owner_client.get(
        reverse("gallery:frame_file", args=[frame.pk, "image"]), HTTP_RANGE="bytes=0-1"
    )
    assert response.status_code == 206 and _body(response) == b"\xff\xd8"


def test_it_checks_who_asks_before_any_range(owner, other_client, anon_client) -> None:
    video = _upload(owner)
    url = reverse("gallery:video_file", args=[video.pk])
    assert other_client.get(url, HTTP_RANGE="bytes=0-9").status_code == 404
    assert anon_client.get(url, HTTP_RANGE="bytes=0-9").status_code == 302
