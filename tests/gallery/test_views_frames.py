"""One frame: its page, saving and unsaving it, and the permission-checked media URLs."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from gallery.models import Favourite, Frame, Video
from tests import factories


def _my_frame(user, **video_kwargs) -> Frame:
    video = factories.VideoFactory(**video_kwargs)
    factories.LibraryItemFactory(user=user, video=video)
    return factories.FrameFactory(video=video, timestamp_ms=65_000)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Frame page -----------------------------------------------------------------------------
def test_it_shows_a_frame_to_the_user_who_sees_its_video(owner, owner_client) -> None:
    frame = _my_frame(owner, title="Market street")
    response = owner_client.get(frame.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="{frame.get_image_url()}" alt="Frame of Market street at 1:05"' in html
    assert reverse("gallery:frame_save", args=[frame.pk]) in html
    assert reverse("gallery:frame_file", args=[frame.pk, "download"]) in html


def test_it_sends_a_saved_frame_to_its_favourite_page(owner, owner_client) -> None:
    frame = _my_frame(owner)
    favourite = factories.FavouriteFactory(user=owner, frame=frame)
    response = owner_client.get(frame.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"] == favourite.get_absolute_url()


def test_it_hides_another_users_frame(owner, other_client) -> None:
    assert other_client.get(_my_frame(owner).get_absolute_url()).status_code == 404


def test_it_sends_anonymous_visitors_from_a_frame_to_log_in(owner, anon_client) -> None:
    response = anon_client.get(_my_frame(owner).get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Save and unsave ------------------------------------------------------------------------
def test_it_saves_a_frame_and_answers_json_to_the_script(owner, owner_client) -> None:
    frame = _my_frame(owner)
    response = owner_client.post(
        reverse("gallery:frame_save", args=[frame.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    favourite = Favourite.objects.get(user=owner, frame=frame)
    assert response.json() == {"saved": True, "favourite_url": favourite.get_absolute_url()}
    # Saving twice keeps one favourite.
    owner_client.post(reverse("gallery:frame_save", args=[frame.pk]), HTTP_ACCEPT="application/json")
    assert Favourite.objects.filter(user=owner).count() == 1


def test_it_saves_a_frame_from_a_plain_form_and_goes_back(owner, owner_client) -> None:
    frame = _my_frame(owner)
    back = reverse("gallery:inspire") + "?video=1"
    response = owner_client.post(reverse("gallery:frame_save", args=[frame.pk]), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert Favourite.objects.filter(user=owner, frame=frame).exists()


def test_it_never_sends_a_saver_to_another_site(owner, owner_client) -> None:
    frame = _my_frame(owner)
    response = owner_client.post(
        reverse("gallery:frame_save", args=[frame.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == Favourite.objects.get(user=owner, frame=frame).get_absolute_url()


def test_it_unsaves_a_frame(owner, owner_client) -> None:
    frame = _my_frame(owner)
    factories.FavouriteFactory(user=owner, frame=frame)
    response = owner_client.post(
        reverse("gallery:frame_unsave", args=[frame.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"saved": False}
    assert not Favourite.objects.filter(user=owner).exists()
    response = owner_client.post(reverse("gallery:frame_unsave", args=[frame.pk]))
    assert response["Location"] == reverse("gallery:favourites")


def test_it_saves_frames_of_curated_playlists(other, other_client) -> None:
    entry = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(is_curated=True))
    frame = factories.FrameFactory(video=entry.video)
    response = other_client.post(
        reverse("gallery:frame_save", args=[frame.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert Favourite.objects.filter(user=other, frame=frame).exists()


@pytest.mark.parametrize("name", ["gallery:frame_save", "gallery:frame_unsave"])
def test_it_does_not_let_another_user_save_or_unsave(owner, other, other_client, name) -> None:
    frame = _my_frame(owner)
    favourite = factories.FavouriteFactory(user=owner, frame=frame)
    assert other_client.post(reverse(name, args=[frame.pk])).status_code == 404
    assert list(Favourite.objects.all()) == [favourite]


@pytest.mark.parametrize("name", ["gallery:frame_save", "gallery:frame_unsave"])
def test_it_saves_and_unsaves_only_on_post(owner, owner_client, name) -> None:
    frame = _my_frame(owner)
    assert owner_client.get(reverse(name, args=[frame.pk])).status_code == 405
    assert not Favourite.objects.exists()


@pytest.mark.parametrize("name", ["gallery:frame_save", "gallery:frame_unsave"])
def test_it_refuses_save_and_unsave_without_csrf_token(owner, name) -> None:
    frame = _my_frame(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse(name, args=[frame.pk]), HTTP_ACCEPT="application/json").status_code == 403
    assert not Favourite.objects.exists()


def test_it_accepts_the_csrf_header_the_script_sends(owner) -> None:
    frame = _my_frame(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(reverse("gallery:inspire"))  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("gallery:frame_save", args=[frame.pk]), HTTP_ACCEPT="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200
    assert Favourite.objects.filter(user=owner, frame=frame).exists()


def test_it_sends_anonymous_savers_to_log_in(owner, anon_client) -> None:
    frame = _my_frame(owner)
    response = anon_client.post(reverse("gallery:frame_save", args=[frame.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Favourite.objects.exists()


# --- Frame files ----------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["image", "thumb", "download"])
def test_it_serves_frame_files_to_the_user_who_sees_them(owner, owner_client, variant) -> None:
    frame = _my_frame(owner, title="Old town")
    response = owner_client.get(reverse("gallery:frame_file", args=[frame.pk, variant]))
    assert response.status_code == 200
    assert _body(response).startswith(b"\xff\xd8\xff")
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    if variant == "download":
        assert response["Content-Disposition"] == 'attachment; filename="old-town-65s.jpg"'


@pytest.mark.parametrize("accel", ["", "/_protected/"])
def test_it_names_a_download_after_a_title_that_is_not_ascii(owner, owner_client, settings, accel) -> None:
    settings.ACCEL_REDIRECT_PREFIX = accel
    frame = _my_frame(owner, title="Île de Ré à l'aube")
    response = owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "download"]))
    assert response.status_code == 200
    # RFC 6266: browsers read the UTF-8 name; a plain filename="…" of it they drop.
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%C3%AEle-de-r%C3%A9-%C3%A0-l-aube-65s.jpg"
    )


@pytest.mark.parametrize("variant", ["image", "thumb", "download"])
def test_it_serves_any_frame_file_to_staff(owner, staff_client, variant) -> None:
    frame = _my_frame(owner)  # not in the staff user's library: the admin lists it all the same
    response = staff_client.get(reverse("gallery:frame_file", args=[frame.pk, variant]))
    assert response.status_code == 200
    assert _body(response).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("variant", ["image", "thumb", "download"])
def test_it_hides_another_users_frame_files(owner, other_client, variant) -> None:
    frame = _my_frame(owner)
    assert other_client.get(reverse("gallery:frame_file", args=[frame.pk, variant])).status_code == 404


def test_it_keeps_a_saved_frame_reachable_after_its_video_left_the_library(owner, owner_client) -> None:
    frame = _my_frame(owner)
    factories.FavouriteFactory(user=owner, frame=frame)
    owner_client.post(reverse("gallery:video_remove", args=[frame.video_id]))
    assert owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "thumb"])).status_code == 200
    assert owner_client.get(frame.get_absolute_url()).status_code == 302


def test_it_answers_404_to_an_unknown_variant_or_a_lost_file(owner, owner_client) -> None:
    frame = _my_frame(owner)
    assert owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "original"])).status_code == 404
    default_storage.delete(frame.image.name)
    assert owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "image"])).status_code == 404


def test_it_hands_files_to_nginx_when_configured(owner, owner_client, settings) -> None:
    settings.ACCEL_REDIRECT_PREFIX = "/protected/"
    frame = _my_frame(owner)
    response = owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "image"]))
    assert response["X-Accel-Redirect"] == f"/protected/{frame.image.name}"
    assert response.content == b""


def test_it_sends_anonymous_visitors_from_frame_files_to_log_in(owner, anon_client) -> None:
    frame = _my_frame(owner)
    response = anon_client.get(reverse("gallery:frame_file", args=[frame.pk, "image"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Uploaded video files -------------------------------------------------------------------
def _my_upload(user) -> Video:
    video = factories.VideoFactory(provider=Video.UPLOAD_PROVIDER, source_url="", content_type="video/mp4")
    video.file.save("upload", ContentFile(b"\x00\x00\x00\x18ftypmp42 not really a video"), save=True)
    factories.LibraryItemFactory(user=user, video=video)
    return video


def test_it_serves_an_uploaded_video_to_its_owner(owner, owner_client) -> None:
    video = _my_upload(owner)
    response = owner_client.get(reverse("gallery:video_file", args=[video.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert _body(response).startswith(b"\x00\x00\x00\x18ftyp")
    # Jump-to-moment of an upload plays this file from that second.
    assert video.url_at(65_000) == reverse("gallery:video_file", args=[video.pk]) + "#t=65"


def test_it_hides_another_users_upload(owner, other_client) -> None:
    video = _my_upload(owner)
    assert other_client.get(reverse("gallery:video_file", args=[video.pk])).status_code == 404


def test_it_has_no_file_for_downloaded_videos(owner, owner_client) -> None:
    video = _my_frame(owner).video
    assert owner_client.get(reverse("gallery:video_file", args=[video.pk])).status_code == 404


def test_it_sends_anonymous_visitors_from_uploads_to_log_in(owner, anon_client) -> None:
    response = anon_client.get(reverse("gallery:video_file", args=[_my_upload(owner).pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("accel", ["", "/_protected/"])
def test_it_answers_404_when_the_file_is_gone(owner, owner_client, settings, accel) -> None:
    settings.ACCEL_REDIRECT_PREFIX = accel
    frame = _my_frame(owner)
    default_storage.delete(frame.image.name)
    assert owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "image"])).status_code == 404
    thumb = owner_client.get(reverse("gallery:frame_file", args=[frame.pk, "thumb"]))
    assert thumb.status_code == 200
    if accel:
        assert thumb["X-Accel-Redirect"] == f"/_protected/{frame.thumbnail.name}"
    else:
        assert _body(thumb) == default_storage.open(frame.thumbnail.name).read()
