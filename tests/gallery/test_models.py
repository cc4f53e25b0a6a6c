import pytest
from django.db import IntegrityError, transaction

from gallery.models import Favourite, Frame, LibraryItem, Playlist, Video
from jobs.models import Job
from tests import factories


def test_it_rejects_a_second_row_for_the_same_video(db) -> None:
    factories.VideoFactory(provider="youtube", provider_id="abc")
    with pytest.raises(IntegrityError), transaction.atomic():
        Video.objects.create(provider="youtube", provider_id="abc")


def test_it_rejects_a_duplicate_favourite(owner) -> None:
    frame = factories.FrameFactory()
    Favourite.objects.create(user=owner, frame=frame, video=frame.video)
    with pytest.raises(IntegrityError), transaction.atomic():
        Favourite.objects.create(user=owner, frame=frame, video=frame.video)


def test_it_rejects_the_same_moment_twice(db) -> None:
    frame = factories.FrameFactory(timestamp_ms=5000)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.FrameFactory(video=frame.video, timestamp_ms=5000)


def test_it_requires_exactly_one_target_per_library_item(owner) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LibraryItem.objects.create(user=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        LibraryItem.objects.create(
            user=owner, video=factories.VideoFactory(), playlist=factories.PlaylistFactory()
        )


def test_it_rejects_progress_outside_zero_to_one(owner) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(user=owner, kind=Job.Kind.VIDEO, progress=1.5)


def test_it_lets_only_one_job_download_a_video(owner) -> None:
    video = factories.VideoFactory()
    factories.JobFactory(user=owner, video=video, holds_video=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.JobFactory(user=owner, video=video, holds_video=True)


def test_it_protects_saved_frames_from_deletion(owner) -> None:
    favourite = factories.FavouriteFactory(user=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Frame.objects.filter(pk=favourite.frame_id).delete()


def test_it_names_every_model(owner) -> None:
    frame = factories.FrameFactory(timestamp_ms=65_000, video__title="Cozy island")
    playlist = factories.PlaylistFactory(title="Tours")
    assert str(frame) == "Cozy island @ 1:05"
    assert str(playlist) == "Tours"
    assert str(factories.FavouriteFactory(user=owner, frame=frame)) == "owner: Cozy island @ 1:05"
    assert str(LibraryItem.objects.create(user=owner, playlist=playlist)) == "owner: Tours"
    assert (
        str(factories.PlaylistEntryFactory(playlist=playlist, video=frame.video, position=1))
        == "Tours #1: Cozy island"
    )
    assert "Video" in str(factories.JobFactory(user=owner))


def test_it_links_youtube_frames_to_the_moment(db) -> None:
    video = factories.VideoFactory(provider="youtube", provider_id="dQw4w9WgXcQ")
    assert video.url_at(83_500) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=83s"
    other = factories.VideoFactory(source_url="https://videos.example.com/a.mp4")
    assert other.url_at(5000) == "https://videos.example.com/a.mp4#t=5"


def test_it_shows_curated_playlists_to_everyone_and_private_ones_to_their_users(owner, other) -> None:
    curated = factories.PlaylistFactory(is_curated=True)
    mine = factories.PlaylistFactory(owner=owner)
    LibraryItem.objects.create(user=owner, playlist=mine)
    assert set(Playlist.objects.visible_to(owner)) == {curated, mine}
    assert set(Playlist.objects.visible_to(other)) == {curated}


def test_it_sees_the_videos_of_the_library_its_playlists_and_curated_ones(owner, other) -> None:
    own = factories.VideoFactory()
    LibraryItem.objects.create(user=owner, video=own)
    mine = factories.PlaylistFactory(owner=owner)
    LibraryItem.objects.create(user=owner, playlist=mine)
    in_mine = factories.PlaylistEntryFactory(playlist=mine).video
    curated = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(is_curated=True)).video
    private = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(owner=other)).video
    factories.VideoFactory()  # nobody's
    assert set(Video.objects.visible_to(owner)) == {own, in_mine, curated}
    assert set(Video.objects.visible_to(other)) == {curated}
    assert private not in set(Video.objects.visible_to(owner))


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://videos.example.com/a.mp4", "https://videos.example.com/a.mp4"),
        ("HTTP://videos.example.com/a.mp4", "HTTP://videos.example.com/a.mp4"),
        ("javascript:alert(1)", ""),
        ("data:text/html,hi", ""),
        ("", ""),
    ],
)
def test_it_links_only_to_web_sources(db, url, href) -> None:
    video = factories.VideoFactory.build(source_url=url, provider="generic")
    assert video.source_href == href
    assert video.url_at(5000) == (f"{href}#t=5" if href else "")


def test_it_keeps_only_colours_in_a_palette(db) -> None:
    frame = factories.FrameFactory.build(palette=["#102030", "red;background:url(x)", 5, None, "#12345"])
    assert frame.swatches == ["#102030"]
