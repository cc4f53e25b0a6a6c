"""gallery.queries.frame_pick, "Inspire me": every frame equally likely whatever its random key,
the frames shown lately kept away, a fixed number of queries."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest

from gallery import queries
from gallery.models import Frame, Video
from gallery.queries import frame_pick, frame_pick_id
from tests import factories

# Chi-square critical values at p = 0.01 (scipy.stats.chi2.ppf(0.99, df)), by degrees of freedom:
# above them, uniformity is rejected.
_CRITICAL = {23: 41.638, 29: 49.588}


@pytest.fixture(autouse=True)
def _seeded() -> Iterator[None]:
    """The same draws on every run: a fair pick still fails a test at p = 0.01 once in 100."""
    state = random.getstate()
    random.seed(13)
    yield
    random.setstate(state)


def _bunched(owner, n_crowded: int, far: tuple[float, ...]) -> tuple[Video, list[int]]:
    """A video of the owner whose frames' keys are crowded into a tiny range, plus a few far
    apart: a first-frame-after-a-random-point pick gives the far ones nearly every draw."""
    video = factories.video_in_library(owner, n_frames=0)
    keys = [0.5 + i * 1e-6 for i in range(n_crowded)] + list(far)
    ids = [
        factories.FrameFactory(video=video, timestamp_ms=i * 1000, rand=key).pk for i, key in enumerate(keys)
    ]
    return video, ids


def _chi_square(counts: Counter, expected: dict[int, float]) -> float:
    return sum((counts[pk] - e) ** 2 / e for pk, e in expected.items())


def test_it_picks_every_frame_equally_often_whatever_their_keys(owner) -> None:
    video, ids = _bunched(owner, 20, far=(0.05, 0.2, 0.8, 0.95))
    factories.FrameFactory.create_batch(5)  # other videos' frames, never picked
    draws = 20_000  # through the choice alone (frame_pick without reading the frame): seconds
    counts = Counter(frame_pick_id(Frame.objects.filter(video=video)) for _ in range(draws))
    assert set(counts) == set(ids)
    statistic = _chi_square(counts, {pk: draws / len(ids) for pk in ids})
    assert statistic < _CRITICAL[len(ids) - 1], (statistic, counts)


def test_it_picks_fairly_among_everything_the_user_sees(owner) -> None:
    _, ids = _bunched(owner, 20, far=(0.05, 0.2, 0.8, 0.95))
    factories.FrameFactory.create_batch(5)  # other people's frames, never picked
    frames, few = Frame.objects.visible_to(owner), Frame.objects.visible_to_few(owner)
    draws = 4_000  # the visibility rule costs more to build than the video's: fewer draws
    counts = Counter(frame_pick_id(frames, few=few) for _ in range(draws))
    assert set(counts) == set(ids)
    statistic = _chi_square(counts, {pk: draws / len(ids) for pk in ids})
    assert statistic < _CRITICAL[len(ids) - 1], (statistic, counts)


def test_it_chooses_within_a_window_along_the_keys_in_a_large_scope(owner, monkeypatch) -> None:
    # A scope larger than PICK_ALL (8 here, 1000 in real life): the pick chooses among 8 frames
    # in a row along `rand` from a random point, so a frame's chance is the mean of the 8 gaps
    # up to its key. Keys bunched on purpose (5 clusters of 6) make that far from uniform, the
    # first two of each cluster twice as likely as the others (with W = 100 and random keys:
    # within about 10%); checked against those chances, wrapping around included.
    monkeypatch.setattr(queries, "PICK_ALL", 8)
    monkeypatch.setattr(queries, "PICK_WINDOW", 8)
    video = factories.video_in_library(owner, n_frames=0)
    keys = [0.1 + 0.2 * cluster + 1e-6 * i for cluster in range(5) for i in range(6)]
    ids = [factories.FrameFactory(video=video, timestamp_ms=i, rand=key).pk for i, key in enumerate(keys)]
    gaps = [(key - keys[i - 1]) % 1.0 for i, key in enumerate(keys)]
    chance = {pk: sum(gaps[i - k] for k in range(8)) / 8 for i, pk in enumerate(ids)}
    assert sum(chance.values()) == pytest.approx(1.0)
    assert max(chance.values()) == pytest.approx(2 * min(chance.values()), rel=1e-3)
    draws = 6_000  # every frame expected 150 times at least
    counts = Counter(frame_pick_id(Frame.objects.filter(video=video)) for _ in range(draws))
    statistic = _chi_square(counts, {pk: draws * p for pk, p in chance.items()})
    assert statistic < _CRITICAL[len(ids) - 1], (statistic, counts)
    uniform = _chi_square(counts, {pk: draws / len(ids) for pk in ids})
    assert uniform > _CRITICAL[len(ids) - 1]  # so the window is what the test sees


def test_it_reads_a_large_scope_along_the_keys_and_wraps_around(owner, monkeypatch) -> None:
    monkeypatch.setattr(queries, "PICK_ALL", 3)
    monkeypatch.setattr(queries, "PICK_WINDOW", 3)
    video = factories.video_in_library(owner, n_frames=0)
    frames = [factories.FrameFactory(video=video, timestamp_ms=i, rand=(i + 0.5) / 6) for i in range(6)]
    monkeypatch.setattr(queries.random, "random", lambda: 0.7)  # from the 5th key: 5th, 6th, 1st
    assert {frame_pick(Frame.objects.filter(video=video)) for _ in range(40)} == {
        frames[4],
        frames[5],
        frames[0],
    }


def _shown(frames, n: int) -> list[int]:
    """`n` picks in a row, each told the ones before it (latest first), as the session does."""
    shown: list[int] = []
    for _ in range(n):
        shown.append(frame_pick_id(frames, avoid=shown[::-1][: queries.RECENT]))
    return shown


def test_it_keeps_away_from_the_last_20_frames_shown_when_there_are_more(owner) -> None:
    video = factories.video_in_library(owner, n_frames=30)
    shown = _shown(Frame.objects.filter(video=video), 200)
    assert all(len(set(shown[i : i + 21])) == 21 for i in range(len(shown) - 20))
    assert set(shown) == set(video.frames.values_list("pk", flat=True))


@pytest.mark.parametrize("n_frames", [2, 3, 10, 20])
def test_it_never_shows_a_frame_twice_in_a_row_in_a_small_scope(owner, n_frames) -> None:
    video = factories.video_in_library(owner, n_frames=n_frames)
    shown = _shown(Frame.objects.filter(video=video), 100)
    # Away from the last half: never twice in a row, and still random, not a fixed cycle.
    assert all(
        len(set(shown[i : i + n_frames // 2 + 1])) == n_frames // 2 + 1 for i in range(100 - n_frames // 2)
    )
    assert set(shown) == set(video.frames.values_list("pk", flat=True))
    if n_frames >= 3:
        assert shown[:n_frames] * 3 != shown[: 3 * n_frames]


def test_it_shows_the_only_frame_again(owner) -> None:
    frame = factories.video_in_library(owner, n_frames=1).frames.get()
    assert _shown(Frame.objects.filter(video=frame.video), 3) == [frame.pk] * 3


def test_it_stays_fair_while_keeping_away_from_the_last_frames(owner) -> None:
    video, ids = _bunched(owner, 20, far=(0.05, 0.2, 0.8, 0.95))
    draws = 5_000
    counts = Counter(_shown(Frame.objects.filter(video=video), draws))
    statistic = _chi_square(counts, {pk: draws / len(ids) for pk in ids})
    # Keeping the last 20 of 24 away evens the counts out further: far below the critical value.
    assert statistic < _CRITICAL[len(ids) - 1], (statistic, counts)


@pytest.mark.parametrize("large", [False, True])
def test_it_picks_in_a_fixed_number_of_queries(owner, monkeypatch, django_assert_num_queries, large) -> None:
    monkeypatch.setattr(queries, "PICK_ALL", 3 if large else 1000)
    monkeypatch.setattr(queries, "PICK_WINDOW", 3 if large else 100)
    video = factories.video_in_library(owner, n_frames=0)
    for i in range(5):
        factories.FrameFactory(video=video, timestamp_ms=i, rand=0.1 * (i + 1))
    monkeypatch.setattr(queries.random, "random", lambda: 0.0)  # no wrap-around past the last key
    frames, few = Frame.objects.visible_to(owner), Frame.objects.visible_to_few(owner)
    # the ids (up to W + 1); the window along `rand`, if more than W; the frame with its video
    with django_assert_num_queries(3 if large else 2):
        picked = frame_pick(frames, few=few, saved_by=owner)
    assert picked.video == video and picked.saved is False
    monkeypatch.setattr(queries.random, "random", lambda: 0.99)  # past the last key: one more
    with django_assert_num_queries(4 if large else 2):
        assert frame_pick(frames, few=few, saved_by=owner).video_id == video.pk
