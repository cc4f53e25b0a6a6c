"""jobs.frames on YouTube-like encodes of the labelled photo video, and what its scan decodes.

x264 with B-frames and scene-cut keyframes (reordered frames, uneven GOPs), the same in a
fragmented MP4 (no index up front, times from the fragments), VP9 and AV1 in WebM: the selection
must be as good as on the upload-like file. The scan reads the points of one GOP in one pass,
and makes thumbnails with swscale from the decoded frame: both pinned here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from jobs import frames
from jobs.frames import probe, select_stills
from tests import scenes
from tests.videos import make_video

ENCODINGS = ("youtube", "fmp4", "vp9", "av1")


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, scenes.SceneVideo]:
    encodings = ["h264", *ENCODINGS]
    return scenes.make(scenes.small(), tmp_path_factory.mktemp("encodings"), encodings)


def _images(selection: frames.Selection) -> list[np.ndarray]:
    return [cv2.imdecode(np.frombuffer(s.jpeg, np.uint8), cv2.IMREAD_COLOR) for s in selection.stills]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_it_covers_every_scene_once_and_nothing_bad_in_a_youtube_like_encode(
    videos: dict[str, scenes.SceneVideo], encoding: str
) -> None:
    video = videos[encoding]

    selection = select_stills(video.path, count=12, rng=random.Random(3))

    times = [s.timestamp_ms for s in selection.stills]
    score = scenes.score(video.timeline, times, asked=12, images=_images(selection))
    assert score.covered == score.target == 7
    assert (score.bad, score.duplicate_pairs, score.misplaced) == (0, 0, 0)


class _Counting(frames._Decoder):
    """The decoder, counting how often each frame (by time) comes out of it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: Counter[int] = Counter()
        self.keys: set[int] = set()

    def _frames(self, **kwargs: object) -> Iterator[av.VideoFrame]:
        for frame in super()._frames(**kwargs):  # type: ignore[arg-type]
            at = round(self._ms(frame))
            self.seen[at] += 1
            if frame.key_frame:
                self.keys.add(at)
            yield frame


@pytest.mark.parametrize("encoding", ["h264", "youtube"])
def test_it_decodes_each_frame_between_keyframes_once_while_scanning(
    videos: dict[str, scenes.SceneVideo], encoding: str
) -> None:
    # 48 points over 36 s with a keyframe every 2 s (and scene cuts in youtube): most points
    # share a keyframe, so most candidates lie between keyframes.
    path = videos[encoding].path
    meta = probe(path)
    with frames._open(str(path)) as container:
        decoder = _Counting(container, container.streams.video[0], meta)
        candidates = decoder.candidates(frames._points(meta, 48, 0.0, random.Random(5)))

    between = [c for c in candidates if not c.keyframe]
    assert len(between) >= 5
    assert len({c.timestamp_ms for c in candidates}) == len(candidates)
    decoded = sum(n for at, n in decoder.seen.items() if at not in decoder.keys)
    again = sum(n - 1 for at, n in decoder.seen.items() if at not in decoder.keys)
    assert again <= 0.1 * decoded  # each point decoded from its keyframe again: 30%


def test_it_makes_thumbnails_as_sharp_as_shrinking_the_frame(videos: dict[str, scenes.SceneVideo]) -> None:
    selection = select_stills(videos["h264"].path, count=3, thumb_width=200, rng=random.Random(1))
    assert selection.stills

    for still, image in zip(selection.stills, _images(selection), strict=True):
        thumb = cv2.imdecode(np.frombuffer(still.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        shrunk = frames._shrink(image, 200)
        assert thumb.shape == shrunk.shape == (112, 200, 3)
        # The JPEGs' own loss included: a blurred or shifted thumbnail scores under 25 dB.
        assert cv2.PSNR(thumb, shrunk) > 30


@pytest.mark.parametrize(("suffix", "fps"), [(".mp4", 25), (".webm", 25), (".mp4", 30)])
def test_a_seek_to_a_frames_own_time_lands_on_its_keyframe(tmp_path: Path, suffix: str, fps: int) -> None:
    # Times are rounded to the millisecond (a candidate's; steady() seeks back to it). Made into
    # a stream timestamp by truncation, 40 * n ms fell just short of frame n's own timestamp for
    # one frame in eight (1/12800 s, an mp4's time base at 25 fps; WebM's 1/1000 s too), and a
    # seek to such a keyframe landed on the keyframe before: a whole GOP decoded for one still
    # (130 frames instead of 5 on a 10-minute YouTube-like file). A keyframe every 10 frames
    # puts 8 of the first 100 keyframes on such times (at 25 fps). At 30 fps most frame times
    # are not whole milliseconds (333.3 ms), and rounded down they lie before their frame: only
    # the seek's quarter frame of slack lands them (this case fails without it).
    path = make_video(
        tmp_path / f"gops{suffix}",
        seconds=40,
        fps=fps,
        size=(160, 96),
        keyint_s=10 / fps,
        codec="h264" if suffix == ".mp4" else "vp9",
    )
    meta = probe(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base, start = float(stream.time_base), frames._start_s(stream)
        times = sorted(
            (round((p.pts * base - start) * 1000), p.is_keyframe)
            for p in container.demux(stream)
            if p.pts is not None
        )
    keys = [ms for ms, key in times if key]
    assert len(times) == 40 * fps and len(keys) >= 90
    with frames._open(str(path)) as container:
        decoder = frames._Decoder(container, container.streams.video[0], meta)
        landed, expected = [], []
        for ms, _ in times:
            found = decoder._from(ms, keyframes_only=True)
            assert found is not None
            landed.append(round(decoder._ms(found[0])))
            expected.append(max(k for k in keys if k <= ms))
    assert landed == expected
