"""gallery.queries: the random pick of "Inspire me" (the pages' reads are tested through views)."""

from __future__ import annotations

import pytest

from gallery.models import Frame, LibraryItem
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
