"""jobs.frames judged on what a person sees: the labelled photo video of tests/scenes.py.

One still per distinct scene, none from a fade, a black gap, a cross-fade, a flat or a blurred
stretch, no two of the same scene (in one job or across "pull more"), and a plain reason when
fewer frames than asked are kept. The near-duplicate measure is checked on the labelled pairs.
"""

from __future__ import annotations

import colorsys
import random
from collections import Counter
from itertools import combinations
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from jobs import frames
from jobs.frames import Selection, select_stills
from tests import scenes
from tests.videos import make_video

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> scenes.SceneVideo:
    return scenes.make(scenes.small(), tmp_path_factory.mktemp("scenes"), ["h264"])["h264"]


def _images(selection: Selection) -> list[np.ndarray]:
    return [cv2.imdecode(np.frombuffer(s.jpeg, np.uint8), cv2.IMREAD_COLOR) for s in selection.stills]


def _score(video: scenes.SceneVideo, selection: Selection, asked: int) -> scenes.Score:
    times = [s.timestamp_ms for s in selection.stills]
    return scenes.score(video.timeline, times, asked=asked, images=_images(selection))


def _scene_of(video: scenes.SceneVideo, ms: int) -> str | None:
    return video.timeline.scene_at(video.timeline.frame_time(ms))


@pytest.mark.parametrize("seed", SEEDS)
def test_it_covers_every_scene_once_and_nothing_bad(video: scenes.SceneVideo, seed: int) -> None:
    selection = select_stills(video.path, count=12, rng=random.Random(seed))

    score = _score(video, selection, 12)
    # 7 scenes, 12 asked: every scene (coverage >= 95% of min(N, scenes) is all 7 here).
    assert score.covered == score.target == 7
    assert score.bad == 0
    assert score.duplicate_pairs == 0
    assert score.misplaced == 0
    assert selection.scenes == 7


@pytest.mark.parametrize("count", [3, 5])
def test_it_gives_as_many_different_scenes_as_asked_when_there_are_more(
    video: scenes.SceneVideo, count: int
) -> None:
    selection = select_stills(video.path, count=count, rng=random.Random(4))

    score = _score(video, selection, count)
    assert score.delivered == score.covered == count
    assert (score.bad, score.duplicate_pairs) == (0, 0)
    assert selection.message == ""


def test_it_says_why_it_kept_fewer_frames_than_asked(video: scenes.SceneVideo) -> None:
    selection = select_stills(video.path, count=12, rng=random.Random(0))

    assert len(selection.stills) == 7
    assert (
        selection.message
        == "This video shows only 7 distinct scenes, so we kept 7 of the 12 frames you asked for."
    )


def test_it_pulls_more_frames_only_from_scenes_the_video_does_not_have_yet(video: scenes.SceneVideo) -> None:
    first = select_stills(video.path, count=3, rng=random.Random(1))
    had = {_scene_of(video, s.timestamp_ms) for s in first.stills}
    assert len(had) == 3

    more = select_stills(video.path, count=6, rng=random.Random(2), avoid=[s.signature for s in first.stills])

    found = [_scene_of(video, s.timestamp_ms) for s in more.stills]
    # The other 4 scenes, each once, none of the first 3 again; and the reason for 4 of 6.
    assert len(found) == len(set(found)) == 4
    assert not set(found) & had
    assert None not in found
    both = [s.timestamp_ms for s in [*first.stills, *more.stills]]
    assert scenes.score(video.timeline, both, asked=7).duplicate_pairs == 0
    assert more.message == (
        "This video shows only 4 more distinct scenes unlike the frames it already has, "
        "so we kept 4 of the 6 frames you asked for."
    )


def test_it_finds_nothing_more_when_every_scene_is_taken(video: scenes.SceneVideo) -> None:
    first = select_stills(video.path, count=12, rng=random.Random(0))

    more = select_stills(video.path, count=4, rng=random.Random(5), avoid=[s.signature for s in first.stills])

    assert more.stills == []
    assert more.message == (
        "Every distinct scene of this video has a frame already: none of the 4 frames you asked for was new."
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_it_takes_a_sharp_frame_over_a_blurred_one_of_the_same_scene(
    video: scenes.SceneVideo, seed: int
) -> None:
    # Chelsea pans for 6 s with its middle third blurred (sigma 4 at 640 px).
    timeline = video.timeline
    selection = select_stills(video.path, count=12, rng=random.Random(seed))

    chelsea = [
        s for s in selection.stills if timeline.photo_at(timeline.frame_time(s.timestamp_ms)) == "chelsea"
    ]
    assert len(chelsea) == 1
    assert timeline.segment_at(timeline.frame_time(chelsea[0].timestamp_ms)).kind == "scene"
    blur = next(seg for seg in timeline.segments if seg.kind == "blur")
    blurred = scenes.decode_at(video.path, [(blur.start_s + blur.end_s) / 2 * 1000])[0]
    assert chelsea[0].sharpness > 2 * frames._measure_frame(frames._small(blurred)).sharpness


@pytest.mark.parametrize("seed", SEEDS)
def test_it_keeps_the_dark_but_detailed_star_field(video: scenes.SceneVideo, seed: int) -> None:
    selection = select_stills(video.path, count=12, rng=random.Random(seed))

    stars = [s for s in selection.stills if _scene_of(video, s.timestamp_ms) == "hubble_deep_field"]
    assert len(stars) == 1
    assert stars[0].brightness < 30  # dark: the old fixed threshold of 20 refused it


def test_it_never_takes_the_flat_or_black_stretches(video: scenes.SceneVideo) -> None:
    timeline = video.timeline
    for seed in range(6):
        for still in select_stills(video.path, count=12, rng=random.Random(seed)).stills:
            kind = timeline.segment_at(timeline.frame_time(still.timestamp_ms)).kind
            assert kind in scenes.GOOD_KINDS, (seed, still.timestamp_ms, kind)


# --- The near-duplicate measure ----------------------------------------------------------------


def test_it_tells_same_from_different_scenes_on_the_labelled_pairs(video: scenes.SceneVideo) -> None:
    pairs = scenes.labelled_pairs(video, per_case=20)
    results = []
    for pair in pairs:
        similar = frames.similarity(frames.signature(pair.image_a), frames.signature(pair.image_b))
        results.append((pair.label == "same", similar >= frames.SIMILAR, similar, pair.case))

    true_pos = sum(same and said for same, said, _, _ in results)
    false_pos = sum(not same and said for same, said, _, _ in results)
    false_neg = sum(same and not said for same, said, _, _ in results)
    precision = true_pos / max(1, true_pos + false_pos)
    recall = true_pos / max(1, true_pos + false_neg)
    lowest_same = min(s for same, _, s, _ in results if same)
    highest_different = max(s for same, _, s, _ in results if not same)
    print(
        f"\nnear-duplicates on {len(results)} labelled pairs at SIMILAR = {frames.SIMILAR}: "
        f"precision {precision:.2f}, recall {recall:.2f}; same scene >= {lowest_same:.2f}, "
        f"different <= {highest_different:.2f}"
    )
    assert {case for *_, case in results} >= {"same: blurred and sharp", "same: panned or zoomed"}
    assert precision == recall == 1.0


def test_it_compares_signatures_symmetrically_and_compactly(video: scenes.SceneVideo) -> None:
    timeline = video.timeline
    astronaut = [
        seg for seg in timeline.segments if seg.scene == "astronaut" and seg.kind in scenes.GOOD_KINDS
    ]
    coffee = next(seg for seg in timeline.segments if seg.scene == "coffee")
    times = [(seg.start_s + seg.end_s) / 2 * 1000 for seg in (astronaut[0], coffee, astronaut[-1])]
    images = scenes.decode_at(video.path, times)
    sigs = [frames.signature(image) for image in images]

    for sig in sigs:
        assert sig.isascii() and len(sig) <= 172
        assert frames.similarity(sig, sig) > 0.99
    for a, b in combinations(sigs, 2):
        assert frames.similarity(a, b) == pytest.approx(frames.similarity(b, a), abs=1e-6)
    # The astronaut and its second showing at the end are one scene; coffee is not.
    assert len(astronaut) == 2
    assert frames.near_duplicate(sigs[0], sigs[2])
    assert not frames.near_duplicate(sigs[0], sigs[1])
    # A signature that is not one (an old row, a typo) is like nothing.
    assert frames.similarity(sigs[0], "not a signature") == 0.0


def test_it_orders_the_palette_by_how_much_of_the_picture_each_colour_covers() -> None:
    half = np.zeros((90, 160, 3), np.uint8)
    half[:, :100] = (40, 80, 200)  # BGR: a red, on 62% of the picture
    half[:, 100:] = (200, 160, 20)  # a blue

    palette = frames._palette(half)

    assert palette[:2] == ("#c85028", "#14a0c8")
    assert len(palette) == frames.PALETTE_SIZE
    assert frames._palette(np.full((90, 160, 3), 30, np.uint8)) == ("#1e1e1e",) * frames.PALETTE_SIZE


def _hsv(colour: str) -> tuple[float, float, float]:
    """Hue in degrees, saturation and value of '#rrggbb'."""
    h, sat, v = colorsys.rgb_to_hsv(*(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))
    return h * 360, sat, v


def _lab(colours: list[str]) -> np.ndarray:
    bgr = np.array([[[int(c[i : i + 2], 16) for i in (5, 3, 1)] for c in colours]], np.float32) / 255
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).reshape(-1, 3)


def _small_photo(name: str) -> np.ndarray:
    return frames._small(scenes._source_photo(name))


def test_the_palette_holds_the_colours_of_a_colourful_picture() -> None:
    """The colour search finds frames by their palette. Taking the fullest histogram bins gave
    skimage's colour wheel black, white and three near-blacks: nothing there to find it by
    green or blue."""
    palette = frames._palette(_small_photo("colorwheel"))

    vivid = [hue for hue, sat, value in map(_hsv, palette) if sat > 0.5 and value > 0.5]
    assert any(90 <= hue <= 150 for hue in vivid), palette  # a green
    assert any(180 <= hue <= 270 for hue in vivid), palette  # a blue
    assert any(hue <= 30 or hue >= 300 for hue in vivid), palette  # a red or a magenta


PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry"]


@pytest.mark.parametrize("photo", PHOTOS)
def test_the_palette_of_a_photo_is_distinct_colours_that_cover_it(photo: str) -> None:
    """No two colours of a photo's palette are near the same (the fullest bins gave the
    astronaut three greys within a few units of Lab), and every pixel of it is on average
    close to one of them."""
    small = _small_photo(photo)
    palette = frames._palette(small)

    lab = _lab(list(palette))
    assert min(float(np.linalg.norm(a - b)) for a, b in combinations(lab, 2)) >= 8.0, palette
    tiny = frames._shrink(small, 64).reshape(1, -1, 3).astype(np.float32) / 255
    pixels = cv2.cvtColor(tiny, cv2.COLOR_BGR2Lab).reshape(-1, 3)
    error = np.linalg.norm(pixels[:, None] - lab[None], axis=2).min(axis=1).mean()
    assert error < 12.0, (palette, error)


def test_the_palette_of_the_astronaut_holds_her_orange_suit() -> None:
    palette = frames._palette(_small_photo("astronaut"))

    orange = [(hue, sat, value) for hue, sat, value in map(_hsv, palette) if 5 <= hue <= 30]
    assert any(sat > 0.5 and value > 0.6 for _, sat, value in orange), palette


def _reference_measures(small: np.ndarray) -> tuple[float, float, int]:
    """The measures as first written (a float Laplacian, split channels, a dHash of every
    candidate), which the cheaper versions must equal exactly, so they decide the same."""
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    _, spread = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    tiny = cv2.resize(small, (64, 36), interpolation=cv2.INTER_AREA)
    b, g, r = (c.astype(np.float32) for c in cv2.split(tiny))
    rg, yb = r - g, 0.5 * (r + g) - b
    colourfulness = np.hypot(float(rg.std()), float(yb.std())) + 0.3 * np.hypot(
        float(rg.mean()), float(yb.mean())
    )
    return round(float(spread[0, 0]) ** 2, 2), round(float(colourfulness), 2), frames._dhash(grey)


def _reference_bins(tiny: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The signature's luma and gradient bins as first written (floor division and clipping)."""
    grey = cv2.cvtColor(tiny, cv2.COLOR_BGR2GRAY).astype(np.float32)
    relative = grey * (100.0 / (float(grey.mean()) + 1.0))
    luma = np.bincount(np.clip(relative // 16, 0, 15).astype(np.intp).ravel(), minlength=16)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    strength = np.log1p(cv2.magnitude(gx, gy) / (float(grey.std()) + 1.0))
    edges = np.bincount(np.clip(strength * (8 / 3), 0, 7).astype(np.intp).ravel(), minlength=8)
    return luma, edges


def test_it_measures_real_frames_exactly_as_the_reference_does(video: scenes.SceneVideo) -> None:
    # Every 5th frame of the labelled video: photos, pans, fades, black, flat and blurred stretches.
    timeline = video.timeline
    times = [i * 1000.0 / timeline.fps for i in range(0, timeline.frame_count, 5)]
    smalls = [frames._small(image) for image in scenes.decode_at(video.path, times)]
    assert len(smalls) > 20

    for small in smalls:
        measures = frames._measure_frame(small)
        sharpness, colourfulness, dhash = _reference_measures(small)
        assert measures.sharpness == sharpness
        assert measures.colourfulness == colourfulness
        assert frames._dhash_of(small) == dhash
        tiny = cv2.resize(small, (64, 36), interpolation=cv2.INTER_AREA)
        luma, edges = _reference_bins(tiny)
        descriptor = frames._describe(tiny)
        assert np.array_equal(descriptor.luma, luma.astype(np.float32) / float(luma.sum()))
        assert np.array_equal(descriptor.edges, edges.astype(np.float32) / float(edges.sum()))
    # Not vacuous: the frames differ in what is compared.
    assert len({frames._measure_frame(s).sharpness for s in smalls}) > 10


def _every_frame(path: Path) -> tuple[frames.VideoMeta, list[tuple[int, np.ndarray]]]:
    """The video's meta, and the time and small copy of every frame, decoded in order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        meta = frames._measure(container, stream)
        decoder = frames._Decoder(container, stream, meta)
        container.seek(0)
        return meta, [(round(decoder._ms(f)), decoder._small(f)) for f in container.decode(stream)]


def _settled_at(every: list[tuple[int, np.ndarray]], i: int) -> bool:
    """What _settled() decides for a candidate at frame ``i``, on the frames decoded in order."""
    step = frames.STEADY_FRAMES

    def ahead(n: int) -> np.ndarray | None:
        return every[i + n * step][1] if i + n * step < len(every) else None

    return frames._settled(every[i][1], every[i + step][1], ahead)


def _steadiness_checked(path: Path, seed: int) -> tuple[int, int]:
    """Checks each candidate decoded exactly on dense points: its steadiness frames are those
    STEADY_FRAMES, twice and (when asked for) three times that after it, and _settled()
    decides on them what it decides on every frame of the video decoded in order. Returns
    (candidates, those with the third frame)."""
    meta, every = _every_frame(path)
    times = [ms for ms, _ in every]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoder = frames._Decoder(container, stream, meta)
        found = decoder.candidates(frames._points(meta, 96, 0.0, random.Random(seed)))
    between = [c for c in found if c.later]
    asked = 0
    for c in between:
        i = times.index(c.timestamp_ms)
        assert np.array_equal(c.small, every[i][1])
        step = frames.STEADY_FRAMES
        assert [ms for ms, _ in c.later[:2]] == times[i + step : i + 3 * step : step]
        asked += len(c.later) > 2
        got = frames._settled(
            c.small, c.later[0][1], lambda n, c=c: c.later[n - 1][1] if len(c.later) >= n else None
        )
        assert got == _settled_at(every, i), c.timestamp_ms
    return len(between), asked


def test_it_decodes_a_third_steadiness_frame_only_when_it_would_change_the_answer(
    video: scenes.SceneVideo, tmp_path: Path
) -> None:
    # Photos, holds and fades: settled by the frames once and twice STEADY_FRAMES on. A
    # spinning pattern changes a lot between frames at a steady brightness: the third is needed.
    photos = _steadiness_checked(video.path, seed=3)
    pattern = _steadiness_checked(make_video(tmp_path / "moving.mp4", seconds=8), seed=3)

    assert photos[0] > 10 and pattern[0] > 10
    assert photos[1] < photos[0]
    assert pattern[1] > 0


def test_it_takes_no_still_from_the_first_frames_of_a_fade_or_cross_fade(video: scenes.SceneVideo) -> None:
    # Every frame of the labelled video as a candidate, so no draw of the random points is
    # left out. A still is the frame STEADY_FRAMES after its candidate; one just inside the
    # start of a fade-out or a cross-fade looks like the shot before it (the first frame of a
    # cross-fade is that shot alone), so only the frames after the still show the change.
    # Blurred frames are not steadiness's business: the sharp frame of the scene outranks them.
    timeline = video.timeline
    _, every = _every_frame(video.path)
    kept: Counter[scenes.Segment] = Counter()
    for i in range(len(every) - frames.STEADY_FRAMES):
        if frames._bad(frames._measure_frame(every[i][1])) is None and _settled_at(every, i):
            kept[timeline.segment_at(timeline.frame_time(every[i + frames.STEADY_FRAMES][0]))] += 1

    transitions = {seg: n for seg, n in kept.items() if seg.kind in {"fade", "crossfade", "black", "flat"}}
    assert transitions == {}
    # Not by refusing everything: most frames of every scene and hold still make a still.
    for seg in timeline.segments:
        if seg.kind in scenes.GOOD_KINDS:
            assert kept[seg] >= 0.6 * (seg.end_s - seg.start_s) * timeline.fps, (seg, kept[seg])


PANNED = ["astronaut", "coffee", "chelsea", "rocket"]


@pytest.mark.parametrize("seed", SEEDS)
def test_it_keeps_stills_of_a_camera_turning_fast(tmp_path: Path, seed: int) -> None:
    """A game world's camera turn or a travel video's pan, 12% of the width every 4 frames: new
    parts of the picture come in from one side, and every candidate was refused as a fade."""
    spans = scenes.write_pans(tmp_path / "turns.mp4", PANNED, seconds=3, shift=0.03)

    selection = select_stills(tmp_path / "turns.mp4", count=12, rng=random.Random(seed))

    times = [s.timestamp_ms / 1000 for s in selection.stills]
    shown = [next(n for a, b, _, n in spans if a <= t < b) for t in times]
    assert set(shown) == set(PANNED), (shown, selection.message)


def test_it_takes_no_still_from_a_fade_while_the_camera_turns(tmp_path: Path) -> None:
    # Every frame a candidate, as above: moved back, a fade still changes in brightness.
    spans = scenes.write_pans(tmp_path / "fading.mp4", PANNED[:2], seconds=3, shift=0.03, fade_out_s=1.2)
    _, every = _every_frame(tmp_path / "fading.mp4")
    kept = [
        every[i + frames.STEADY_FRAMES][0]
        for i in range(len(every) - frames.STEADY_FRAMES)
        if frames._bad(frames._measure_frame(every[i][1])) is None and _settled_at(every, i)
    ]

    fading = [ms for ms in kept if any(f * 1000 <= ms < b * 1000 for _, b, f, _ in spans)]
    assert fading == []
    for start, _, fade, name in spans:  # not by refusing everything: the turn itself is kept
        assert sum(start * 1000 <= ms < fade * 1000 for ms in kept) >= 0.6 * (fade - start) * 25, name


@pytest.mark.parametrize(
    ("picture", "name"), [((320, 134), "a film letterboxed"), ((102, 180), "a phone video pillarboxed")]
)
def test_it_leaves_the_black_bars_round_a_picture_out_of_its_stills(
    tmp_path: Path, picture: tuple[int, int], name: str
) -> None:
    path = tmp_path / "boxed.mp4"
    scenes.write_pans(path, PANNED, seconds=2, shift=0.002, picture=picture)

    selection = select_stills(path, count=4, rng=random.Random(0))

    assert len(selection.stills) == 4, selection.message
    for still, image in zip(selection.stills, _images(selection), strict=True):
        # The picture, give or take the line or two where it meets the bar.
        assert abs(still.width - picture[0]) <= 4 and abs(still.height - picture[1]) <= 4, (name, still)
        assert image.shape[:2] == (still.height, still.width)
        edges = [image[0], image[-1], image[:, 0], image[:, -1]]
        assert min(float(e.mean()) for e in edges) > 12, name  # no black line left at an edge
        assert still.palette[0] not in {"#000000", "#010101", "#020202"}


def test_it_keeps_a_dark_edge_that_is_not_black_in_every_frame(video: scenes.SceneVideo) -> None:
    # The labelled video's deep-field star image and fades are dark at the edges, its other
    # photos are not: nothing is cut.
    selection = select_stills(video.path, count=12, rng=random.Random(0))

    assert {(s.width, s.height) for s in selection.stills} == {video.timeline.size}


def _keyframe_candidates(
    path: Path,
) -> tuple[frames._Decoder, list[frames._Candidate], av.container.InputContainer]:
    """A decoder open on the video, and a candidate at each of its keyframes."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    decoder = frames._Decoder(container, stream, frames._measure(container, stream))
    found = decoder.candidates([float(ms) for ms in scenes.keyframe_times(path)])
    assert found and all(c.keyframe for c in found)
    return decoder, found, container


def test_it_does_not_decode_a_candidate_found_unsteady_again(video: scenes.SceneVideo) -> None:
    # A keyframe refused as itself may be tried again as the neighbour of a blurred frame.
    decoder, found, container = _keyframe_candidates(video.path)
    with container:
        refused = [c for c in found if decoder.steady(c) is None]
        assert refused  # keyframes inside the fades and cross-fades
        decoded = decoder.decoded
        assert [decoder.steady(c) for c in refused] == [None] * len(refused)
        assert decoder.decoded == decoded


def test_it_takes_a_frames_neighbours_from_the_candidates_without_decoding_them_again(
    video: scenes.SceneVideo,
) -> None:
    decoder, found, container = _keyframe_candidates(video.path)
    with container:
        known = {c.timestamp_ms: c for c in found}
        middle = found[len(found) // 2]
        decoded = decoder.decoded
        taken = decoder.neighbours(middle, known)
        assert decoder.decoded == decoded  # read from the packets, not decoded
        assert len(taken) == 2 and all(known[c.timestamp_ms] is c for c in taken)

        fresh = decoder.neighbours(middle, {})
        assert decoder.decoded == decoded + 2
        assert [c.timestamp_ms for c in fresh] == [c.timestamp_ms for c in taken]
        assert all(np.array_equal(a.small, b.small) for a, b in zip(fresh, taken, strict=True))
        before, after = (c.timestamp_ms for c in taken)
        assert before < middle.timestamp_ms < after
