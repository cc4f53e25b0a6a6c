import pytest
from django.urls import reverse

from tests import factories

MODELS = [
    "gallery/video",
    "gallery/playlist",
    "gallery/frame",
    "gallery/favourite",
    "gallery/libraryitem",
    "gallery/playlistentry",
    "jobs/job",
]


@pytest.fixture
def rows(owner):
    frame = factories.FrameFactory()
    playlist = factories.PlaylistFactory()
    factories.PlaylistEntryFactory(playlist=playlist, video=frame.video)
    factories.FavouriteFactory(user=owner, frame=frame)
    factories.LibraryItemFactory(user=owner, video=frame.video)
    factories.JobFactory(user=owner, video=frame.video)
    return frame


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_and_opens_every_model_for_staff(staff_client, rows, model) -> None:
    listing = staff_client.get(f"/admin/{model}/")
    assert listing.status_code == 200
    assert staff_client.get(f"/admin/{model}/?q=tour").status_code == 200
    first = listing.context["cl"].result_list[0]
    assert staff_client.get(f"/admin/{model}/{first.pk}/change/").status_code == 200


def test_it_keeps_a_favourite_with_its_frames_video(staff_client, owner) -> None:
    other_frame, third_frame = factories.FrameFactory(), factories.FrameFactory()
    response = staff_client.post(
        "/admin/gallery/favourite/add/", {"user": owner.pk, "frame": other_frame.pk, "note": "staff pick"}
    )
    assert response.status_code == 302
    favourite = owner.favourites.get(note="staff pick")
    assert favourite.video_id == other_frame.video_id
    response = staff_client.post(
        f"/admin/gallery/favourite/{favourite.pk}/change/",
        {"user": owner.pk, "frame": third_frame.pk, "note": ""},
    )
    assert response.status_code == 302
    favourite.refresh_from_db()
    assert (favourite.frame_id, favourite.video_id) == (third_frame.pk, third_frame.video_id)


def test_it_shows_frame_thumbnails(staff_client, rows) -> None:
    page = staff_client.get("/admin/gallery/frame/").content.decode()
    thumbnail = reverse("gallery:frame_file", args=[rows.pk, "thumb"])
    assert thumbnail in page
    # The frame is in nobody's library the staff user has: its thumbnail shows all the same.
    assert staff_client.get(thumbnail).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_it_refuses_the_admin_to_normal_users(owner_client, anon_client, rows, model) -> None:
    for client in (owner_client, anon_client):
        response = client.get(f"/admin/{model}/")
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
