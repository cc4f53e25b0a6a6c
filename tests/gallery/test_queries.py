"""gallery.queries: the random pick of "Inspire me" (the pages' reads are tested through views)."""

from __future__ import annotations

import pytest

from gallery import queries
from gallery.models import Frame, LibraryItem, Video
from gallery.queries import frame_pick
from tests import factories


def test_it_picks_random_frames_from_the_visible_ones_only(owner, other) -> None:
    mine = factories.FrameFactory()
    LibraryItem.objects.create(user=owner, video=mine.video)
    factories.FrameFactory()  # someone else's
    assert {frame_pick(Frame.objects.visible_to(owner)) for _ in range(20)} == {mine}
    assert frame_pick(Frame.objects.visible_to(other)) is None


def test_it_skips_hidden_frames_when_picking(owner) -> None:
    shown = factories.FrameFactory()
    factories.FrameFactory(video=shown.video, is_hidden=True)
    LibraryItem.objects.create(user=owner, video=shown.video)
    assert {frame_pick(Frame.objects.visible_to(owner)) for _ in range(20)} == {shown}
    assert {frame_pick(Frame.objects.filter(video=shown.video)) for _ in range(20)} == {shown}


def test_it_brings_the_video_and_the_saved_state_with_the_pick(owner, other) -> None:
    frame = factories.FrameFactory(palette=["#112233"], video__title="Harbour tour")
    factories.FavouriteFactory(user=owner, frame=frame)
    picked = frame_pick(Frame.objects.filter(video=frame.video), saved_by=owner)
    assert (picked, picked.saved, picked.palette, str(picked.video)) == (
        frame,
        True,
        ["#112233"],
        "Harbour tour",
    )
    assert picked.video.url_at(5000) == frame.video.url_at(5000)
    assert frame_pick(Frame.objects.filter(video=frame.video), saved_by=other).saved is False


def test_it_picks_the_first_frame_at_or_after_the_random_point(owner, monkeypatch) -> None:
    mine = [factories.FrameFactory(rand=(i + 0.5) / 6) for i in range(6)]
    for video_id in {f.video_id for f in mine}:
        LibraryItem.objects.create(user=owner, video_id=video_id)
    factories.FrameFactory.create_batch(20)  # frames of videos the owner does not see
    for point, expected in ((0.0, mine[0]), (0.1, mine[1]), (0.5, mine[3]), (0.9, mine[5])):
        monkeypatch.setattr(queries.random, "random", lambda point=point: point)
        assert frame_pick(Frame.objects.visible_to(owner)) == expected, point


def test_it_picks_fairly_among_a_few_videos(owner) -> None:
    videos = [factories.VideoFactory() for _ in range(3)]
    frames = [factories.FrameFactory(video=v) for v in videos for _ in range(4)]
    factories.FrameFactory.create_batch(30)  # other people's frames, never picked
    # Evenly spread keys, interleaved across the videos: each frame owns 1/12 of the key space,
    # so a fair pick gives each about 50 of 600 draws (the keys are random in real life).
    for i, frame in enumerate(frames):
        Frame.objects.filter(pk=frame.pk).update(rand=((i * 5) % 12) / 12)
    counts = {f.pk: 0 for f in frames}
    for _ in range(600):
        counts[frame_pick(Frame.objects.filter(video__in=videos)).pk] += 1
    assert all(20 <= n <= 90 for n in counts.values()), counts


def test_it_wraps_around_past_the_highest_key(owner, monkeypatch) -> None:
    frame = factories.FrameFactory()
    LibraryItem.objects.create(user=owner, video=frame.video)
    Frame.objects.filter(pk=frame.pk).update(rand=0.0)
    monkeypatch.setattr(queries.random, "random", lambda: 0.5)
    assert frame_pick(Frame.objects.filter(video=frame.video)) == frame
    assert frame_pick(Frame.objects.visible_to(owner)) == frame


def test_it_picks_from_a_playlist(owner) -> None:
    entry = factories.PlaylistEntryFactory()
    in_playlist = factories.FrameFactory(video=entry.video)
    factories.FrameFactory()  # not in the playlist
    assert {frame_pick(Frame.objects.in_playlist(entry.playlist_id)) for _ in range(10)} == {in_playlist}


@pytest.mark.parametrize("scope", ["nothing", "an empty video", "an empty library"])
def test_it_picks_nothing_from_no_frames(owner, scope) -> None:
    frames = {
        "nothing": Frame.objects.none(),
        "an empty video": Frame.objects.filter(video=factories.VideoFactory()),
        "an empty library": Frame.objects.visible_to(owner),
    }[scope]
    assert frame_pick(frames) is None


def test_it_picks_in_one_query_and_two_when_it_wraps_around(
    owner, monkeypatch, django_assert_num_queries
) -> None:
    video = factories.VideoFactory()
    LibraryItem.objects.create(user=owner, video=video)
    frames = [factories.FrameFactory(video=video, rand=r) for r in (0.2, 0.4)]
    monkeypatch.setattr(queries.random, "random", lambda: 0.3)
    with django_assert_num_queries(1):
        assert frame_pick(Frame.objects.visible_to(owner), saved_by=owner) == frames[1]
    monkeypatch.setattr(queries.random, "random", lambda: 0.9)
    with django_assert_num_queries(2):
        assert frame_pick(Frame.objects.visible_to(owner), saved_by=owner) == frames[0]
    assert Video.objects.visible_to(owner).get() == video
