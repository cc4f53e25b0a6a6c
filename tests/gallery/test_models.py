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
    Favourite.objects.create(user=owner, frame=frame)
    with pytest.raises(IntegrityError), transaction.atomic():
        Favourite.objects.create(user=owner, frame=frame)


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
    picks = {Frame.objects.visible_to(owner).random_one() for _ in range(20)}
    assert picks == {mine}
    assert Frame.objects.visible_to(other).random_one() is None


def test_it_skips_hidden_frames_when_picking(owner) -> None:
    shown = factories.FrameFactory()
    factories.FrameFactory(video=shown.video, is_hidden=True)
    LibraryItem.objects.create(user=owner, video=shown.video)
    assert {Frame.objects.visible_to(owner).pickable().random_one() for _ in range(20)} == {shown}


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
        counts[Frame.objects.pickable().random_among([v.pk for v in videos]).pk] += 1
    assert all(20 <= n <= 90 for n in counts.values()), counts


def test_it_wraps_around_past_the_highest_key(owner) -> None:
    frame = factories.FrameFactory()
    Frame.objects.filter(pk=frame.pk).update(rand=0.0)
    assert {Frame.objects.random_among([frame.video_id]) for _ in range(10)} == {frame}


def test_it_uses_the_global_key_for_many_videos(owner, settings, monkeypatch) -> None:
    from gallery import models

    monkeypatch.setattr(models, "PROBE_VIDEOS_MAX", 2)
    frames = [factories.FrameFactory() for _ in range(4)]
    for frame in frames:
        LibraryItem.objects.create(user=owner, video=frame.video)
    picks = {Frame.objects.random_among(Video.objects.visible_to(owner)) for _ in range(40)}
    assert picks <= set(frames)
    assert len(picks) >= 2


def test_it_picks_nothing_from_no_videos_or_empty_ones(owner) -> None:
    assert Frame.objects.random_among([]) is None
    assert Frame.objects.random_among([factories.VideoFactory().pk]) is None
    assert Frame.objects.random_among(Video.objects.visible_to(owner)) is None
