import pytest
from django.db import IntegrityError, transaction
from django.db.models.expressions import RawSQL

from gallery.models import Favourite, Frame, LibraryItem, Playlist, Video, VideoIds
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


def test_it_picks_random_frames_from_the_visible_ones_only(owner, other) -> None:
    mine = factories.FrameFactory()
    LibraryItem.objects.create(user=owner, video=mine.video)
    factories.FrameFactory()  # someone else's
    picks = {Frame.objects.random_pick(VideoIds.visible_to(owner)) for _ in range(20)}
    assert picks == {mine}
    assert Frame.objects.random_pick(VideoIds.visible_to(other)) is None


def test_it_skips_hidden_frames_when_picking(owner) -> None:
    shown = factories.FrameFactory()
    factories.FrameFactory(video=shown.video, is_hidden=True)
    LibraryItem.objects.create(user=owner, video=shown.video)
    assert {Frame.objects.random_pick(VideoIds.visible_to(owner)) for _ in range(20)} == {shown}
    assert {Frame.objects.random_pick(VideoIds.of([shown.video_id])) for _ in range(20)} == {shown}


def test_it_brings_the_video_and_the_saved_state_with_the_pick(owner, other) -> None:
    frame = factories.FrameFactory(palette=["#112233"], video__title="Harbour tour")
    factories.FavouriteFactory(user=owner, frame=frame)
    picked = Frame.objects.random_pick(VideoIds.of([frame.video_id]), saved_by=owner)
    assert (picked, picked.saved, picked.palette, str(picked.video)) == (
        frame,
        True,
        ["#112233"],
        "Harbour tour",
    )
    assert picked.video.url_at(5000) == frame.video.url_at(5000)
    assert Frame.objects.random_pick(VideoIds.of([frame.video_id]), saved_by=other).saved is False


def test_it_picks_fairly_among_a_few_videos_by_probing_each(owner) -> None:
    videos = [factories.VideoFactory() for _ in range(3)]
    frames = [factories.FrameFactory(video=v) for v in videos for _ in range(4)]
    factories.FrameFactory.create_batch(30)  # other people's frames, never picked
    # Evenly spread keys, interleaved across the videos: each frame owns 1/12 of the key space,
    # so a fair pick gives each about 50 of 600 draws (the keys are random in real life).
    for i, frame in enumerate(frames):
        Frame.objects.filter(pk=frame.pk).update(rand=((i * 5) % 12) / 12)
    counts = {f.pk: 0 for f in frames}
    for _ in range(600):
        counts[Frame.objects.random_pick(VideoIds.of([v.pk for v in videos])).pk] += 1
    assert all(20 <= n <= 90 for n in counts.values()), counts


def test_it_wraps_around_past_the_highest_key(owner) -> None:
    frame = factories.FrameFactory()
    LibraryItem.objects.create(user=owner, video=frame.video)
    Frame.objects.filter(pk=frame.pk).update(rand=0.0)
    assert {Frame.objects.random_pick(VideoIds.of([frame.video_id])) for _ in range(10)} == {frame}
    assert {Frame.objects.random_pick(VideoIds.visible_to(owner)) for _ in range(10)} == {frame}


def test_it_picks_the_same_frame_one_by_one_through_the_window_and_through_the_probes(
    owner, monkeypatch
) -> None:
    from gallery import models

    # Keys a sixth apart: each of the 50 points below falls before one of them, so all are picked.
    mine = [factories.FrameFactory(rand=(i + 0.5) / 6) for i in range(6)]
    for video_id in {f.video_id for f in mine}:
        LibraryItem.objects.create(user=owner, video_id=video_id)
    factories.FrameFactory.create_batch(40)  # frames of videos the owner does not see
    points = [i / 50 for i in range(50)]

    def picks(near: int, window: int) -> list:
        monkeypatch.setattr(models, "PICK_NEAR", near)
        monkeypatch.setattr(models, "PICK_WINDOW", window)
        monkeypatch.setattr(models.random, "random", iter(points).__next__)
        return [Frame.objects.random_pick(VideoIds.visible_to(owner)) for _ in points]

    one_by_one = picks(1000, 1000)  # every frame's video looked up on its own
    assert set(one_by_one) == set(mine)
    # No near frames: the window's set of videos; a window of one frame mostly misses, so the
    # probes find them instead.
    assert picks(0, 1000) == one_by_one
    assert picks(0, 1) == one_by_one


def test_it_picks_from_a_playlist_and_from_a_queryset(owner) -> None:
    entry = factories.PlaylistEntryFactory()
    in_playlist = factories.FrameFactory(video=entry.video)
    factories.FrameFactory()  # not in the playlist
    assert Frame.objects.random_pick(VideoIds.in_playlist(entry.playlist_id)) == in_playlist
    videos = Video.objects.filter(pk=entry.video_id)
    assert Frame.objects.random_pick(VideoIds.of(videos)) == in_playlist


def test_it_refuses_to_pick_from_a_filtered_queryset(owner) -> None:
    with pytest.raises(TypeError):
        Frame.objects.filter(is_hidden=False).random_pick(VideoIds.of([1]))


def test_it_picks_nothing_from_no_videos_or_empty_ones(owner) -> None:
    assert Frame.objects.random_pick(VideoIds.of([])) is None
    assert Frame.objects.random_pick(VideoIds.of([factories.VideoFactory().pk])) is None
    assert Frame.objects.random_pick(VideoIds.visible_to(owner)) is None


def test_it_sees_the_same_videos_in_sql_as_through_the_orm(owner, other) -> None:
    own = factories.VideoFactory()
    LibraryItem.objects.create(user=owner, video=own)
    mine = factories.PlaylistFactory(owner=owner)
    LibraryItem.objects.create(user=owner, playlist=mine)
    in_mine = factories.PlaylistEntryFactory(playlist=mine).video
    curated = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(is_curated=True)).video
    private = factories.PlaylistEntryFactory(playlist=factories.PlaylistFactory(owner=other)).video
    factories.VideoFactory()  # nobody's
    for user, expected in ((owner, {own, in_mine, curated}), (other, {curated})):
        ids = VideoIds.visible_to(user)
        assert set(Video.objects.filter(pk__in=RawSQL(ids.sql, ids.params))) == expected  # noqa: S611
        assert set(Video.objects.visible_to(user)) == expected
    assert private not in set(Video.objects.visible_to(owner))
