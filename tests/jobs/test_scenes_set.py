"""The labelled scene set (tests/scenes.py): its videos match its ground truth, and its scores count right.

The frame picker's tests and the bench trust this set, so it is checked against its own pixels:
what the truth calls black is black, a hold holds, a blur blurs, different scenes differ.
"""

from __future__ import annotations

from itertools import combinations, pairwise
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests import scenes


@pytest.fixture(scope="module")
def timeline() -> scenes.Timeline:
    return scenes.small()


@pytest.fixture(scope="module")
def video(timeline: scenes.Timeline, tmp_path_factory: pytest.TempPathFactory) -> scenes.SceneVideo:
    return scenes.make(timeline, tmp_path_factory.mktemp("scenes"), ["h264"])["h264"]


def _mid(seg: scenes.Segment) -> float:
    return (seg.start_s + seg.end_s) / 2


def _first(timeline: scenes.Timeline, kind: str, scene: str | None = None) -> scenes.Segment:
    return next(s for s in timeline.segments if s.kind == kind and (scene is None or s.scene == scene))


def _frame(video: scenes.SceneVideo, t: float) -> np.ndarray:
    return scenes.decode_at(video.path, [t * 1000.0])[0]


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(_grey(image), cv2.CV_32F).var())


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(_grey(a) - _grey(b)).mean())


# ---------------------------------------------------------------------------------------------
# The timeline


def test_it_covers_the_video_with_contiguous_segments(timeline: scenes.Timeline) -> None:
    segs = timeline.segments
    assert segs[0].start_s == 0.0
    assert segs[-1].end_s == timeline.duration_s
    assert all(a.end_s == b.start_s for a, b in pairwise(segs))
    assert all((a.scene, a.kind) != (b.scene, b.kind) for a, b in pairwise(segs))


def test_it_has_every_kind_of_stretch_and_seven_scenes(timeline: scenes.Timeline) -> None:
    assert {s.kind for s in timeline.segments} == scenes.GOOD_KINDS | scenes.BAD_KINDS
    assert len(timeline.scenes) == 7
    assert {"hubble_deep_field", "brick"} <= set(timeline.scenes)
    assert 30 <= timeline.duration_s <= 40
    # The opening scene comes back at the end: one scene, two showings.
    showings = [s for s in timeline.segments if s.scene == "astronaut" and s.kind in scenes.GOOD_KINDS]
    assert len(showings) == 2


def test_it_answers_scene_and_bad_by_time(timeline: scenes.Timeline) -> None:
    black = _first(timeline, "black")
    blur = _first(timeline, "blur")
    hold = _first(timeline, "hold")
    assert timeline.scene_at(_mid(black)) is None and timeline.bad_at(_mid(black))
    assert timeline.scene_at(_mid(blur)) is None and timeline.bad_at(_mid(blur))
    assert timeline.photo_at(_mid(blur)) == blur.scene
    assert timeline.scene_at(_mid(hold)) == hold.scene and not timeline.bad_at(_mid(hold))
    assert timeline.segment_at(-5) == timeline.segments[0]
    assert timeline.segment_at(timeline.duration_s + 5) == timeline.segments[-1]


def test_it_keeps_every_view_of_a_photo_overlapping() -> None:
    # Why "same scene id" can stand for "near-duplicate": no pan moves a view off itself.
    for timeline in (scenes.small(), scenes.preset("1min"), scenes.preset("3min")):
        times: dict[str, list[float]] = {}
        for seg in timeline.segments:
            if seg.kind in scenes.ONE_PHOTO_KINDS:
                times.setdefault(seg.scene, []).extend([seg.start_s, seg.end_s - 1e-6])
        for photo_times in times.values():
            for a, b in combinations(photo_times, 2):
                assert timeline.view_iou(a, b) >= scenes.MIN_VIEW_IOU, (timeline.name, a, b)


def test_it_shows_a_scene_again_with_the_same_view(timeline: scenes.Timeline) -> None:
    first, again = [s for s in timeline.segments if s.scene == "astronaut" and s.kind == "scene"]
    assert timeline.view_iou(first.start_s + 0.5, again.start_s + 0.5) > 0.9
    assert timeline.near_duplicate(_mid(first), _mid(again))


def test_it_gives_the_bench_presets_their_lengths() -> None:
    for name in ("1min", "3min"):
        seconds, size, photos, _ = scenes.PRESETS[name]
        timeline = scenes.preset(name)
        assert abs(timeline.duration_s - seconds) <= 0.05 * seconds
        assert timeline.size == size
        assert len(timeline.scenes) == photos
    # Without gnome-backgrounds (as on CI) the 10-minute one has scikit-image's photos only.
    long = scenes.full("10min", seconds=600, size=(854, 480), scenes=20, seed=10)
    assert abs(long.duration_s - 600) <= 30
    assert len(long.scenes) == len(scenes.SKIMAGE_PHOTOS)


def test_it_is_the_same_timeline_every_time() -> None:
    a, b = scenes.small(), scenes.small()
    assert a == b
    assert a.cache_key() == b.cache_key()
    assert np.array_equal(a.render(5.0), b.render(5.0))
    assert scenes.preset("3min").cache_key() != scenes.preset("3min", size=(320, 180)).cache_key()


# ---------------------------------------------------------------------------------------------
# The video file against the truth


def test_it_writes_every_frame_of_the_timeline(video: scenes.SceneVideo) -> None:
    timeline = video.timeline
    with av.open(str(video.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == timeline.size
        times = [float(p.pts * p.time_base) for p in container.demux(stream) if p.pts is not None]
    assert len(times) == timeline.frame_count
    assert max(times) == pytest.approx(timeline.duration_s - 1 / timeline.fps, abs=1e-3)
    assert video.path.stat().st_size > 0


def test_it_shows_black_in_black_and_one_colour_in_flat(
    video: scenes.SceneVideo, timeline: scenes.Timeline
) -> None:
    black = _frame(video, _mid(_first(timeline, "black")))
    flat = _frame(video, _mid(_first(timeline, "flat")))
    assert black.mean() < 3
    assert _grey(flat).std() < 2
    assert 100 < flat.mean() < 160


def test_it_holds_still_in_a_hold(video: scenes.SceneVideo, timeline: scenes.Timeline) -> None:
    hold = _first(timeline, "hold")
    a, b = scenes.decode_at(video.path, [(hold.start_s + 0.3) * 1000, (hold.end_s - 0.3) * 1000])
    assert _difference(a, b) < 2


def test_it_pans_within_a_scene_and_differs_between_scenes(
    video: scenes.SceneVideo, timeline: scenes.Timeline
) -> None:
    pan = _first(timeline, "scene", "brick")
    start, end = scenes.decode_at(video.path, [(pan.start_s + 0.1) * 1000, (pan.end_s - 0.1) * 1000])
    assert _difference(start, end) > 3  # it moves
    firsts = {}
    for seg in timeline.segments:
        if seg.kind in scenes.GOOD_KINDS:
            firsts.setdefault(seg.scene, _mid(seg))
    images = dict(zip(firsts, scenes.decode_at(video.path, [t * 1000 for t in firsts.values()]), strict=True))
    for a, b in combinations(images, 2):
        assert _difference(images[a], images[b]) > 15, (a, b)


def test_it_blurs_the_blurred_stretch(video: scenes.SceneVideo, timeline: scenes.Timeline) -> None:
    blur = _first(timeline, "blur")
    sharp = next(s for s in timeline.segments if s.scene == blur.scene and s.kind == "scene")
    blurred, clear = scenes.decode_at(video.path, [_mid(blur) * 1000, _mid(sharp) * 1000])
    assert _sharpness(blurred) < 0.5 * _sharpness(clear)
    assert abs(float(blurred.mean()) - float(clear.mean())) < 5  # only sharpness changed


def test_it_fades_through_black(video: scenes.SceneVideo, timeline: scenes.Timeline) -> None:
    fade = _first(timeline, "fade", "brick")
    full = next(s for s in timeline.segments if s.scene == "brick" and s.kind == "scene")
    faded, shown = scenes.decode_at(video.path, [_mid(fade) * 1000, _mid(full) * 1000])
    assert faded.mean() < 0.7 * shown.mean()


def test_it_matches_decoded_frames_to_the_truth_at_their_time(
    video: scenes.SceneVideo, timeline: scenes.Timeline
) -> None:
    mids = [_mid(s) for s in timeline.segments]
    images = scenes.decode_at(video.path, [t * 1000 for t in mids])
    assert all(scenes.matches(timeline, t, image) for t, image in zip(mids, images, strict=True))
    coffee = _mid(_first(timeline, "hold", "coffee"))
    assert not scenes.matches(timeline, coffee, images[0])


def test_it_reads_times_from_the_stream_start_in_a_fragmented_mp4(
    timeline: scenes.Timeline, tmp_path: Path
) -> None:
    # x264's B-frames start this file's stream at 80 ms; times count from there, as Inspire's do.
    fmp4 = scenes.make(timeline, tmp_path, ["fmp4"])["fmp4"]
    with av.open(str(fmp4.path)) as container:
        assert container.streams.video[0].start_time > 0
    hold = _first(timeline, "hold", "camera")
    images = scenes.decode_at(fmp4.path, [_mid(hold) * 1000])
    assert scenes.matches(timeline, _mid(hold), images[0])
    keys = scenes.keyframe_times(fmp4.path)
    assert keys[:3] == [0, 2000, 4000]  # x264 may add a keyframe at a cut, never drop these


# ---------------------------------------------------------------------------------------------
# Scoring


def _one_per_scene(timeline: scenes.Timeline) -> list[float]:
    seen: dict[str, float] = {}
    for seg in timeline.segments:
        if seg.kind in scenes.GOOD_KINDS and seg.scene is not None:
            seen.setdefault(seg.scene, _mid(seg) * 1000)
    return list(seen.values())


def test_it_scores_one_good_frame_per_scene_as_perfect(timeline: scenes.Timeline) -> None:
    result = scenes.score(timeline, _one_per_scene(timeline), asked=12)
    assert (result.delivered, result.covered, result.bad, result.duplicate_pairs) == (7, 7, 0, 0)
    assert result.target == 7 and result.coverage == 1.0
    assert scenes.score(timeline, _one_per_scene(timeline)[:3], asked=3).coverage == 1.0


def test_it_counts_a_scene_shown_twice_as_one_scene_and_a_duplicate(timeline: scenes.Timeline) -> None:
    first, again = [s for s in timeline.segments if s.scene == "astronaut" and s.kind == "scene"]
    result = scenes.score(timeline, [_mid(first) * 1000, _mid(again) * 1000], asked=2)
    assert (result.covered, result.target, result.duplicate_pairs, result.bad) == (1, 2, 1, 0)
    assert result.coverage == 0.5


def test_it_counts_frames_from_bad_stretches_and_no_scene_for_them(timeline: scenes.Timeline) -> None:
    bad = [_mid(_first(timeline, kind)) * 1000 for kind in sorted(scenes.BAD_KINDS)]
    result = scenes.score(timeline, bad, asked=5)
    assert (result.delivered, result.bad, result.covered) == (5, 5, 0)
    # Only the blurred and the faded frames show one photo, and they are different photos.
    assert result.duplicate_pairs == 0


def test_it_counts_a_blurred_copy_of_a_kept_scene_as_a_duplicate(timeline: scenes.Timeline) -> None:
    blur = _first(timeline, "blur")
    sharp = next(s for s in timeline.segments if s.scene == blur.scene and s.kind == "scene")
    result = scenes.score(timeline, [_mid(blur) * 1000, _mid(sharp) * 1000], asked=2)
    assert (result.covered, result.bad, result.duplicate_pairs) == (1, 1, 1)


def test_it_counts_every_pair_of_repeats(timeline: scenes.Timeline) -> None:
    hold = _first(timeline, "hold", "coffee")
    times = [(hold.start_s + 0.5 * i) * 1000 for i in range(4)]
    assert scenes.score(timeline, times, asked=4).duplicate_pairs == 6  # 4 choose 2


def test_it_snaps_timestamps_to_the_frame_shown(timeline: scenes.Timeline) -> None:
    black = _first(timeline, "black")
    # 11.0 s starts the black gap; the frame at 10.96 s is still the fading star field.
    assert black.start_s == 11.0
    assert timeline.frame_time(10999.0) == pytest.approx(10.96)
    assert timeline.frame_time(11000.4) == pytest.approx(11.0)
    assert scenes.score(timeline, [10999.0], asked=1).bad == 1  # the fade is bad too
    assert timeline.frame_time(-50) == 0.0
    assert timeline.frame_time(10**9) == pytest.approx(timeline.duration_s - 1 / timeline.fps)


def test_it_counts_frames_whose_pixels_are_not_at_their_time(
    video: scenes.SceneVideo, timeline: scenes.Timeline
) -> None:
    times = _one_per_scene(timeline)
    images = scenes.decode_at(video.path, times)
    assert scenes.score(timeline, times, asked=7, images=images).misplaced == 0
    shifted = scenes.score(timeline, times, asked=7, images=images[1:] + images[:1])
    assert shifted.misplaced == 7


# ---------------------------------------------------------------------------------------------
# Labelled pairs


def test_it_labels_pairs_by_the_truth(video: scenes.SceneVideo, timeline: scenes.Timeline) -> None:
    times = scenes.pair_times(timeline)
    cases = {case for *_, case in times}
    assert {
        "same: panned or zoomed",
        "same: hold",
        "same: shown twice",
        "same: just after a cross-fade",
        "same: blurred and sharp",
        "different: either side of a cross-fade",
        "different: similar colours",
        "different: other photos",
    } == cases
    for a, b, label, _ in times:
        assert (label == "same") == timeline.near_duplicate(a, b)
        assert timeline.photo_at(a) and timeline.photo_at(b)
    assert scenes.pair_times(timeline) == times  # seeded


def test_it_decodes_the_labelled_pairs(video: scenes.SceneVideo) -> None:
    pairs = scenes.labelled_pairs(video, per_case=2)
    assert len(pairs) == len(scenes.pair_times(video.timeline, per_case=2))
    size = video.timeline.size
    for pair in pairs:
        assert pair.image_a.shape == pair.image_b.shape == (size[1], size[0], 3)
    holds = [p for p in pairs if p.case == "same: hold"]
    assert holds and all(_difference(p.image_a, p.image_b) < 2 for p in holds)
    grey = [p for p in pairs if p.case == "different: similar colours"]
    assert grey and all(_difference(p.image_a, p.image_b) > 10 for p in grey)
