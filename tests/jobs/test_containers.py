"""The keyframe index read from a container's own boxes (jobs/containers.py), checked against
what FFmpeg (through PyAV) finds in the same real files."""

from __future__ import annotations

import io
import random
from pathlib import Path

import av
import pytest

from jobs import containers
from tests.videos import FRAGMENTED, make_video


def _keyframe_packets(path: Path) -> list[tuple[float, int, int]]:
    """(Time in seconds, offset, size) of every video keyframe, as FFmpeg reads them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (float(packet.pts * stream.time_base), packet.pos, packet.size)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None and packet.size
        ]


def _index(path: Path, **options: object) -> containers.KeyIndex | None:
    with path.open("rb") as file:
        file.seek(123)
        index = containers.key_index(file, **options)  # type: ignore[arg-type]
        assert file.tell() == 123  # left where it was, for PyAV to read on
    return index


def _placed(path: Path, index: containers.KeyIndex) -> list[containers.Keyframe]:
    with path.open("rb") as file:
        return containers.locate(file, index, index.keyframes)


@pytest.mark.parametrize("audio", [False, True])
def test_it_reads_the_fragments_of_a_fragmented_mp4_from_its_sidx(tmp_path: Path, audio: bool) -> None:
    video = make_video(tmp_path / "dash.mp4", seconds=20, keyint_s=2, movflags=FRAGMENTED, audio=audio)
    with av.open(str(video)) as container:
        track = container.streams.video[0].id
    index = _index(video, track=track)
    packets = _keyframe_packets(video)

    assert index is not None and index.kind == "fmp4" and len(index.keyframes) == len(packets) == 10
    placed = _placed(video, index)
    for (seconds, pos, size), k, exact in zip(packets, index.keyframes, placed, strict=True):
        assert k.seconds == pytest.approx(seconds, abs=1e-6)
        assert k.start < pos < k.stop  # the moof comes first, then the keyframe in the mdat
        # From its moof, exactly where FFmpeg reads it.
        assert (exact.start + exact.head, exact.size) == (pos, size)  # type: ignore[operator]
        assert index.end(k) < k.stop
    assert [k.start for k in index.keyframes[1:]] == [k.stop for k in index.keyframes[:-1]]
    # The first and the last were placed already, to estimate the others by.
    assert index.keyframes[0] == placed[0] and index.keyframes[-1] == placed[-1]
    assert 0 < index.share < 1


@pytest.mark.parametrize(("name", "audio"), [("v.webm", False), ("v.mkv", True)])
def test_it_reads_the_clusters_of_a_webm_from_its_cues(tmp_path: Path, name: str, audio: bool) -> None:
    # With sound (AAC: a Matroska file, not a WebM), a cluster may hold audio before the keyframe.
    video = make_video(tmp_path / name, seconds=20, keyint_s=2, codec="vp9", audio=audio)
    index = _index(video)
    packets = _keyframe_packets(video)
    with av.open(str(video)) as container:
        container.seek(10**9)  # FFmpeg reads the Cues at the first seek
        stream = container.streams.video[0]
        clusters = [e.pos for e in stream.index_entries if e.is_keyframe]

    assert index is not None and index.kind == "matroska" and len(index.keyframes) == len(packets) == 10
    assert [k.start for k in index.keyframes] == clusters  # where FFmpeg's seeks start reading
    placed = _placed(video, index)
    for (seconds, pos, size), k, exact in zip(packets, index.keyframes, placed, strict=True):
        assert k.seconds == pytest.approx(seconds, abs=1e-3)
        # The block element holds the packet: FFmpeg's offset is that of the element's data,
        # which starts with 4 bytes (the track's number, a timecode, flags) before the frame.
        start = exact.start + exact.head  # type: ignore[operator]
        assert start < pos and pos + 4 + size == start + exact.size  # type: ignore[operator]
        assert index.end(k) < k.stop
    assert index.keyframes[-1].stop <= video.stat().st_size


def test_it_estimates_unplaced_keyframes_within_their_fragment(tmp_path: Path) -> None:
    video = make_video(tmp_path / "dash.mp4", seconds=20, keyint_s=2, movflags=FRAGMENTED)
    index = _index(video, track=1, calibrate=False)
    assert index is not None and index.share == 0 and all(k.size is None for k in index.keyframes)
    for i, k in enumerate(index.keyframes):
        assert k.start < index.end(k) < k.stop
        # A run on to a later time reaches further, never past the fragment.
        assert index.end(k) <= index.span(i, k.seconds + 1.0) < k.stop
    assert index.at(-1.0) == -1 and index.at(0.0) == 0 and index.at(3.9) == 1 and index.at(1e9) == 9


def test_it_gives_nothing_for_files_without_such_an_index(tmp_path: Path) -> None:
    # A plain mp4's index is FFmpeg's own (frames.py uses it); the others are not containers.
    plain = make_video(tmp_path / "plain.mp4", seconds=4)
    assert _index(plain, track=1) is None
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 50)
    assert _index(garbage) is None
    assert containers.key_index(io.BytesIO(b"")) is None
    assert containers.key_index(io.BytesIO(b"\x1a\x45\xdf\xa3\x9f")) is None


def test_it_gives_nothing_for_a_cut_short_index(tmp_path: Path) -> None:
    # A download cut in the middle of the sidx or of the Cues: no exception, no index.
    dash = make_video(tmp_path / "dash.mp4", seconds=10, movflags=FRAGMENTED)
    data = dash.read_bytes()
    sidx = data.index(b"sidx")
    assert containers.key_index(io.BytesIO(data[: sidx + 40]), track=1) is None
    webm = make_video(tmp_path / "v.webm", seconds=10, codec="vp9")
    data = webm.read_bytes()
    cues = data.rindex(b"\x1c\x53\xbb\x6b")
    assert containers.key_index(io.BytesIO(data[: cues + 20])) is None


def test_it_reads_only_the_track_asked_for(tmp_path: Path) -> None:
    dash = make_video(tmp_path / "dash.mp4", seconds=6, movflags=FRAGMENTED)
    assert _index(dash, track=2) is None


@pytest.mark.parametrize("name", ["dash.mp4", "v.webm"])
def test_it_never_raises_on_a_damaged_file(tmp_path: Path, name: str) -> None:
    # Cut anywhere, or with bytes of its index changed: an index or None, never an exception.
    kind = {"movflags": FRAGMENTED} if name.endswith(".mp4") else {"codec": "vp9"}
    data = make_video(tmp_path / name, seconds=6, **kind).read_bytes()  # type: ignore[arg-type]
    rng = random.Random(11)
    damaged = [data[:cut] for cut in range(0, 2048, 7)]
    for _ in range(150):
        copy = bytearray(data)
        at = rng.randrange(len(copy)) if rng.random() < 0.3 else rng.randrange(min(len(copy), 2048))
        copy[at] = rng.randrange(256)
        damaged.append(bytes(copy))
    for file in damaged:
        index = containers.key_index(io.BytesIO(file), track=1)
        if index is not None:
            assert containers.locate(io.BytesIO(file), index, index.keyframes)
            assert all(index.end(k) < max(k.stop, k.start + 1) for k in index.keyframes)
