"""jobs.frames on real generated videos: H.264 MP4, VP9 WebM, streamed WebM, broken files.

The adapter needs no Django. The project's tests/conftest.py does, so without settings run
``pytest tests/jobs/test_frames.py -p no:django --noconftest``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from jobs import frames
from jobs.frames import (
    MIN_BRIGHTNESS,
    FrameError,
    Still,
    VideoMeta,
    content_type,
    dhash,
    hamming,
    probe,
    select_stills,
)
from tests import scenes
from tests.videos import (
    encode,
    make_audio_only,
    make_corrupt,
    make_damaged,
    make_empty,
    make_one_frame_video,
    make_spot_video,
    make_still_video,
    make_streamed_webm,
    make_video,
)

# Mean absolute difference per channel between a still's JPEG (quality 90) and a decoded frame:
# 3-4 for the same frame of the test pattern, 10-17 for the frame before or after it.
MATCH = 6.0
MISMATCH = 8.0


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Made once for the module: generating them is most of its run time."""
    d = tmp_path_factory.mktemp("videos")
    return {
        # 2 s black, 16 s moving pattern, 2 s black; a keyframe every 2 s.
        "mp4": make_video(d / "edges.mp4", seconds=16, keyint_s=2, black_intro_s=2, black_outro_s=2),
        "webm": make_video(d / "plain.webm", seconds=12, keyint_s=2, codec="vp9"),
        # Keyframes 10 s apart: most stretches have none, so frames are sought frame-accurately.
        "long_gop": make_video(d / "long_gop.mp4", seconds=12, keyint_s=10),
        "streamed": make_streamed_webm(d / "streamed.webm", seconds=12),
        # MPEG-TS: no index (seeks bisect bytes and can overshoot) and a stream that starts at 1.4 s.
        "ts": make_video(d / "broadcast.ts", seconds=12, keyint_s=6),
        "black": make_still_video(d / "black.mp4", seconds=6),
    }


def _frame_at(path: Path, timestamp_ms: int) -> np.ndarray:
    """Decode independently: read every frame in order and keep the one shown at timestamp_ms."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = cap.read()
            assert ok, f"no frame at {timestamp_ms} ms"
            if abs(cap.get(cv2.CAP_PROP_POS_MSEC) - timestamp_ms) < 1:
                return frame
    finally:
        cap.release()


def _accurate_seek_frame_at(path: Path, timestamp_ms: int) -> np.ndarray:
    """Decode with an accurate seek, as ``ffmpeg -ss`` does: back to the keyframe before the time,
    then decode forward to the first frame shown at or after it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        target = (timestamp_ms - 1) / 1000
        container.seek(int(target / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= target:
                return frame.to_ndarray(format="bgr24")
    raise AssertionError(f"no frame at {timestamp_ms} ms")


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _decoded(still: Still) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(still.jpeg, np.uint8), cv2.IMREAD_COLOR)


# --- probe ----------------------------------------------------------------------------------


def test_it_probes_an_h264_mp4(videos: dict[str, Path]) -> None:
    assert probe(videos["mp4"]) == VideoMeta(duration_ms=20000, width=320, height=240, fps=25.0)


def test_it_probes_a_vp9_webm(videos: dict[str, Path]) -> None:
    assert probe(videos["webm"]) == VideoMeta(duration_ms=12000, width=320, height=240, fps=25.0)


def test_it_measures_a_streamed_webm_that_has_no_duration(videos: dict[str, Path]) -> None:
    cap = cv2.VideoCapture(str(videos["streamed"]))
    frame_count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    cap.release()
    assert frame_count <= 0  # the broken metadata this test is about

    assert probe(videos["streamed"]) == VideoMeta(duration_ms=12000, width=320, height=240, fps=25.0)


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (make_empty, "empty.mp4", "This file is empty."),
        (make_corrupt, "corrupt.mp4", "This file is not a video we can read"),
        (make_audio_only, "song.m4a", "This file has no video stream"),
        (lambda p: p.write_bytes(b"<html>not a video</html>" * 100), "page.mp4", "This file is not a video"),
    ],
)
def test_it_refuses_what_is_not_a_video(
    tmp_path: Path, make: Callable[[Path], object], name: str, message: str
) -> None:
    path = tmp_path / name
    make(path)

    with pytest.raises(FrameError, match=re.escape(message)):
        probe(path)
    with pytest.raises(FrameError, match=re.escape(message)):
        select_stills(path, count=3)


def _pyav_demux_fails(path: Path) -> bool:
    with av.open(str(path)) as container:
        try:
            for _ in container.demux(container.streams.video[0]):
                pass
        except IndexError:
            return True
        except av.error.FFmpegError:
            pass
    return False


def test_a_damaged_mpeg_ts_gives_stills_or_a_plain_message(videos: dict[str, Path], tmp_path: Path) -> None:
    damaged = [make_damaged(tmp_path / f"damaged-{seed}.ts", videos["ts"], seed=seed) for seed in (2, 7, 10)]
    # What the damage does: streams appear mid-file, and PyAV's own demux() raises IndexError
    # at its end for one of them at least (if a PyAV release stops doing so, frames._demux may go).
    assert any(_pyav_demux_fails(path) for path in damaged)

    for path in damaged:
        try:
            meta = probe(path)
            selection = select_stills(path, count=4, meta=meta, rng=random.Random(0))
        except FrameError as exc:
            assert str(exc) in (frames._UNREADABLE, frames._UNDECODABLE)
        else:
            assert 0 < meta.duration_ms <= 13000
            assert selection.stills or selection.message


def test_it_refuses_a_video_without_length(tmp_path: Path) -> None:
    path = make_one_frame_video(tmp_path / "one.mp4")

    with pytest.raises(FrameError, match="no length"):
        probe(path)


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="could not be found"):
        probe(tmp_path / "gone.mp4")


# --- select_stills: where and which ---------------------------------------------------------


def test_it_skips_the_black_intro_and_outro(videos: dict[str, Path]) -> None:
    stills = select_stills(videos["mp4"], count=6, rng=random.Random(1)).stills

    assert stills
    stamps = [s.timestamp_ms for s in stills]
    assert stamps == sorted(stamps)
    # The moving part runs from 2 s to 18 s; the black intro and outro are never taken.
    assert all(2000 <= t < 18000 for t in stamps)
    assert all(s.brightness >= MIN_BRIGHTNESS for s in stills)


def test_it_skips_the_edges_of_the_video(videos: dict[str, Path]) -> None:
    for seed in range(3):
        stills = select_stills(videos["webm"], count=4, edge_fraction=0.25, rng=random.Random(seed)).stills

        assert stills
        # A still is the frame a few after its candidate (see STEADY_FRAMES): 3 s to 9 s, and a bit.
        assert all(3000 <= s.timestamp_ms < 9400 for s in stills)


@pytest.mark.parametrize("colour", ["black", "white", "0x6080a0"])
def test_it_yields_nothing_from_a_flat_video(tmp_path: Path, colour: str) -> None:
    path = make_still_video(tmp_path / "flat.mp4", colour=colour)

    selection = select_stills(path, count=5, rng=random.Random(0))

    assert selection.stills == []
    assert selection.message.startswith("No frame of this video was sharp and well exposed enough")


@pytest.mark.parametrize(
    ("rotation", "turn"),
    [(-90, cv2.ROTATE_90_CLOCKWISE), (90, cv2.ROTATE_90_COUNTERCLOCKWISE), (180, cv2.ROTATE_180)],
)
def test_a_phone_video_stored_on_its_side_gives_upright_stills(
    tmp_path: Path, rotation: int, turn: int
) -> None:
    graph = "testsrc2=size=480x270:rate=25:duration=6,drawbox=x=0:y=0:w=60:h=270:color=white:t=fill"
    upright, turned = tmp_path / "upright.mp4", tmp_path / "turned.mp4"
    encode(upright, graph)
    encode(turned, graph, rotation=rotation)

    meta = probe(turned)
    expected = (270, 480) if rotation % 180 else (480, 270)
    assert (meta.width, meta.height) == expected
    got = select_stills(turned, count=3, rng=random.Random(2)).stills
    assert got
    # Each still is the upright video's frame of its time, turned as a player shows it.
    shown = scenes.decode_at(upright, [s.timestamp_ms for s in got])
    for mine, theirs in zip(got, shown, strict=True):
        image, reference = _decoded(mine), cv2.rotate(theirs, turn)
        assert (mine.width, mine.height) == expected == (image.shape[1], image.shape[0])
        assert float(cv2.absdiff(image, reference).mean()) < MATCH
        thumb = cv2.imdecode(np.frombuffer(mine.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert abs(thumb.shape[1] / thumb.shape[0] - expected[0] / expected[1]) < 0.02


def test_a_clip_of_three_frames_says_it_has_no_steady_moment(tmp_path: Path) -> None:
    path = tmp_path / "three.mp4"
    encode(path, "testsrc2=size=320x240:rate=25:duration=0.12")

    selection = select_stills(path, count=5, rng=random.Random(0))

    # Its frames look fine; none has the frames after it that show it is no fade.
    assert selection.stills == []
    assert selection.message.startswith("No steady moment to keep: this video is only a few frames long")


def test_it_yields_nothing_from_an_all_black_video(videos: dict[str, Path]) -> None:
    assert select_stills(videos["black"], count=5, rng=random.Random(0)).stills == []


@pytest.mark.parametrize("background", ["black", "white"])
def test_it_rejects_a_small_subject_on_black_or_white(tmp_path: Path, background: str) -> None:
    # Detail enough to pass the other checks, but nearly all black or washed out (see
    # tests/videos.py). Blur is judged against the sharper frames of the same scene instead
    # (tests/jobs/test_frames_scenes.py): an out-of-focus pattern measures as sharp as a soft
    # micrograph that is in focus.
    path = make_spot_video(tmp_path / f"{background}.mp4", background=background)

    assert select_stills(path, count=3, rng=random.Random(0)).stills == []


def test_it_takes_a_small_subject_on_a_grey_background(tmp_path: Path) -> None:
    # The control for the test above: the same small picture on mid grey is a good frame.
    path = make_spot_video(tmp_path / "grey.mp4", background="gray")

    assert select_stills(path, count=2, rng=random.Random(0)).stills


def test_it_does_not_repeat_frames_the_video_already_has(videos: dict[str, Path]) -> None:
    first = select_stills(videos["webm"], count=4, rng=random.Random(3)).stills
    assert first

    old = [s.signature for s in first]

    again = select_stills(videos["webm"], count=4, rng=random.Random(3), avoid=old)

    for still in again.stills:
        assert all(not frames.near_duplicate(still.signature, sig) for sig in old)
    assert not {s.timestamp_ms for s in again.stills} & {s.timestamp_ms for s in first}
    if len(again.stills) < 4:
        assert "unlike the frames it already has" in again.message


def test_it_avoids_old_frames_by_their_hash_stored_as_signed_integers(videos: dict[str, Path]) -> None:
    first = select_stills(videos["webm"], count=4, rng=random.Random(3)).stills
    # What a Postgres bigint column gives back for hashes with the top bit set.
    signed = [h - (1 << 64) if h >= 1 << 63 else h for h in (s.dhash for s in first)]

    again = select_stills(videos["webm"], count=4, rng=random.Random(3), known_hashes=signed).stills

    assert not {s.timestamp_ms for s in again} & {s.timestamp_ms for s in first}


@pytest.mark.parametrize("name", ["mp4", "long_gop"])
def test_it_is_reproducible_with_a_seeded_rng(videos: dict[str, Path], name: str) -> None:
    def run(seed: int) -> list[tuple[int, int]]:
        return [
            (s.timestamp_ms, s.dhash)
            for s in select_stills(videos[name], count=5, rng=random.Random(seed)).stills
        ]

    assert run(42) == run(42)


# --- select_stills: timestamps --------------------------------------------------------------


@pytest.mark.parametrize("name", ["mp4", "webm", "long_gop", "ts"])
def test_it_reports_the_real_timestamp_of_each_frame(videos: dict[str, Path], name: str) -> None:
    path = videos[name]
    stills = select_stills(path, count=4, rng=random.Random(7)).stills
    assert stills

    for still in stills:
        ours = _decoded(still)
        assert _diff(ours, _frame_at(path, still.timestamp_ms)) < MATCH
        # The pattern turns every frame, so an error of one frame would show.
        assert _diff(ours, _frame_at(path, still.timestamp_ms - 40)) > MISMATCH
        assert _diff(ours, _frame_at(path, still.timestamp_ms + 40)) > MISMATCH


def test_it_decodes_candidates_all_through_an_mpeg_ts(videos: dict[str, Path]) -> None:
    # The TS starts at 1.4 s, has no index (seeks bisect bytes and may overshoot) and a keyframe
    # every 6 s: candidates still come from both GOPs, each at most EXACT_REACH_MS after one.
    meta = probe(videos["ts"])
    with frames._open(str(videos["ts"])) as container:
        decoder = frames._Decoder(container, container.streams.video[0], meta)
        points = frames._points(meta, 12, 0.0, random.Random(2))
        candidates = decoder.candidates(points)

    stamps = [c.timestamp_ms for c in candidates]
    assert len(set(stamps)) == len(stamps) >= 3
    assert min(stamps) < 3000 and max(stamps) > 6000
    assert all(t % 6000 <= frames.EXACT_REACH_MS for t in stamps)


def test_it_agrees_with_an_accurate_seek_about_timestamps(videos: dict[str, Path]) -> None:
    stills = select_stills(videos["mp4"], count=3, rng=random.Random(11)).stills
    assert stills

    for still in stills:
        assert _diff(_decoded(still), _accurate_seek_frame_at(videos["mp4"], still.timestamp_ms)) < MATCH


def test_it_finds_frames_in_a_webm_it_cannot_seek_in(videos: dict[str, Path]) -> None:
    path = videos["streamed"]
    stills = select_stills(path, count=4, rng=random.Random(5)).stills

    assert stills
    for still in stills:
        assert _diff(_decoded(still), _frame_at(path, still.timestamp_ms)) < MATCH


def test_it_uses_the_meta_it_is_given(videos: dict[str, Path]) -> None:
    meta = probe(videos["webm"])
    short = VideoMeta(duration_ms=4000, width=meta.width, height=meta.height, fps=meta.fps)

    stills = select_stills(videos["webm"], count=2, meta=short, rng=random.Random(0)).stills

    assert stills
    assert all(s.timestamp_ms < 4000 for s in stills)


# --- select_stills: what a still holds ------------------------------------------------------


def test_it_encodes_a_jpeg_a_jpeg_thumbnail_a_palette_and_a_signature(videos: dict[str, Path]) -> None:
    stills = select_stills(videos["webm"], count=2, thumb_width=200, rng=random.Random(2)).stills
    assert stills

    for still in stills:
        assert (still.width, still.height) == (320, 240)
        assert _decoded(still).shape == (240, 320, 3)
        assert (still.thumbnail_ext, still.thumbnail_type) == ("jpg", "image/jpeg")
        assert still.thumbnail[:3] == b"\xff\xd8\xff"
        thumb = cv2.imdecode(np.frombuffer(still.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert thumb.shape == (150, 200, 3)
        assert len(still.palette) == 5
        assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) for colour in still.palette)
        assert len(set(still.palette)) > 1
        assert 0 <= still.dhash < 1 << 64
        assert still.dhash == dhash(_decoded(still)) or hamming(still.dhash, dhash(_decoded(still))) <= 4
        assert still.contrast > 0 and still.sharpness > 0 and still.colourfulness > 0
        assert still.signature.isascii() and len(still.signature) <= 172
        assert frames.similarity(still.signature, frames.signature(_decoded(still))) > frames.SIMILAR


def test_it_never_upscales_a_thumbnail(videos: dict[str, Path]) -> None:
    still = select_stills(videos["webm"], count=1, thumb_width=400, rng=random.Random(0)).stills[0]

    thumb = cv2.imdecode(np.frombuffer(still.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[1] == 320


def test_it_reports_progress_after_each_still(videos: dict[str, Path]) -> None:
    calls: list[tuple[int, int]] = []

    stills = select_stills(
        videos["mp4"], count=4, rng=random.Random(9), on_progress=lambda *a: calls.append(a)
    ).stills

    assert stills
    assert calls == [(i + 1, len(stills)) for i in range(len(stills))]


def test_it_hashes_gradients_to_known_values() -> None:
    rising = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (96, 1))  # brighter to the right
    falling = rising[:, ::-1].copy()

    assert dhash(rising) == 0
    assert dhash(falling) == (1 << 64) - 1
    assert dhash(cv2.cvtColor(falling, cv2.COLOR_GRAY2BGR)) == dhash(falling)


def test_it_counts_differing_bits() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(0, (1 << 64) - 1) == 64
    assert hamming(-1, (1 << 64) - 1) == 0  # a signed bigint and its unsigned twin


@pytest.mark.parametrize(
    ("suffix", "codec", "expected"),
    [
        (".mp4", "h264", "video/mp4"),
        (".mov", "h264", "video/quicktime"),
        (".webm", "vp9", "video/webm"),
        (".mkv", "h264", "video/x-matroska"),
        (".avi", "h264", "video/x-msvideo"),
        (".flv", "h264", "video/x-flv"),
        (".ts", "h264", "video/mp2t"),
    ],
)
def test_it_tells_the_type_of_a_video_from_its_content(
    tmp_path: Path, suffix: str, codec: str, expected: str
) -> None:
    made = make_video(tmp_path / f"clip{suffix}", seconds=1, codec=codec)
    path = made.rename(tmp_path / "upload")  # no name to go by

    assert content_type(path) == expected
    assert probe(path).content_type == expected
    with path.open("rb") as fh:
        fh.read(10)
        assert content_type(fh) == expected
        assert fh.tell() == 10  # left where it was, for the caller to store


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a video we can read"),
        (b"<!DOCTYPE html><html><body>Hello</body></html>", "not a video we can read"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a video we can read"),
        (b"%PDF-1.7\n" + bytes(100), "not a video we can read"),
        # An HLS playlist pointing at a local file: not a container we read, so never followed.
        (
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            "not a video",
        ),
    ],
)
def test_it_finds_no_video_type_in_what_is_not_a_video(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "thing.mp4"
    path.write_bytes(content)

    with pytest.raises(FrameError, match=message):
        content_type(path)


def test_it_says_an_audio_file_has_no_video(tmp_path: Path) -> None:
    path = make_audio_only(tmp_path / "song.m4a", seconds=1)

    with pytest.raises(FrameError, match="audio only"):
        content_type(path)


class _ExitOnRead:
    """A file object whose nth read raises SystemExit, as django-q's Q_TIMEOUT does (its
    TimeoutException is a SystemExit, raised by SIGALRM in whatever runs: often a read of the
    HTTP range reader, called by PyAV from FFmpeg's C code)."""

    def __init__(self, path: Path, at: int) -> None:
        self._fh = path.open("rb")
        self._reads = 0
        self._at = at

    def read(self, n: int = -1) -> bytes:
        self._reads += 1
        if self._reads == self._at:
            raise SystemExit("Task exceeded maximum timeout value (15 seconds)")
        return self._fh.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()


@pytest.mark.parametrize("at", [1, 4])
def test_it_lets_a_timeout_raised_in_a_read_through_as_a_systemexit(videos: dict[str, Path], at: int) -> None:
    """Left to PyAV, the SystemExit would end the process on the spot (Cython's "unraisable"
    handler), so the job could not record that it timed out."""
    for read in (frames.probe, lambda f: frames.select_stills(f, count=2)):
        source = _ExitOnRead(videos["webm"], at)
        with pytest.raises(SystemExit, match="maximum timeout"):
            read(source)
        source._fh.close()
