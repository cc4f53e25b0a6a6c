"""Real test videos, made with PyAV: no ffmpeg on the machine, no downloads.

Every test that needs a video file makes one here, in a tmp_path, so the adapters are
always exercised on real containers and codecs rather than on mocks. PyAV's wheel bundles
FFmpeg's libraries: the pictures come from its lavfi sources and filters (the same graphs the
ffmpeg command line would run), the encoders are its libx264, libvpx and aac.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
from av.video.frame import PictureType

# Visually distinct scenes: a rotating, hue-shifting test pattern changes its whole layout
# over time, so frames a second apart have different difference hashes.
_MOVING = "testsrc2=size={w}x{h}:rate={fps},rotate=a=t*0.7:fillcolor=0x336699,hue=H=t*0.9"

# The container by suffix, as the ffmpeg command line picks it.
# A fragmented mp4 as YouTube's DASH formats are: an empty moov, one fragment per keyframe,
# and a sidx (segment index) at the start that says where each fragment begins.
FRAGMENTED = "+frag_keyframe+empty_moov+default_base_moof+global_sidx"

_FORMATS = {
    ".mp4": "mp4",
    ".m4a": "ipod",
    ".mov": "mov",
    ".webm": "webm",
    ".mkv": "matroska",
    ".avi": "avi",
    ".flv": "flv",
    ".ts": "mpegts",
}


def _codec_options(codec: str, fps: int, keyint_s: float) -> tuple[str, dict[str, str]]:
    """Encoder name and options: a keyframe exactly every keyint_s, fast to encode."""
    gop = str(max(1, round(fps * keyint_s)))
    if codec == "h264":
        return "libx264", {"preset": "ultrafast", "g": gop, "keyint_min": gop, "sc_threshold": "0"}
    if codec in ("vp9", "vp8"):
        name = "libvpx-vp9" if codec == "vp9" else "libvpx"
        return name, {"deadline": "realtime", "cpu-used": "8", "g": gop, "b": "400k"}
    raise ValueError(f"unknown codec {codec}")


def _container_options(fmt: str) -> dict[str, str]:
    if fmt in ("mp4", "mov", "ipod"):
        return {"movflags": "+faststart"}  # the index first, as web video is served
    if fmt == "mpegts":
        # The command line's default mux delay: the stream starts at 1.4 s, as broadcasts do.
        return {"max_delay": "700000"}
    return {}


def _source_frames(graph: str) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Every frame a lavfi graph makes, in time order (video on out0, audio on out1 if any)."""
    with av.open(graph, format="lavfi") as source:
        for packet in source.demux():
            yield from packet.decode()


def encode(
    path: Path | BinaryIO,
    graph: str,
    *,
    fps: int = 25,
    keyint_s: float = 2,
    codec: str = "h264",
    audio: bool = False,
    fmt: str | None = None,
    movflags: str | None = None,
    bitrate: str | None = None,
    rotation: int = 0,
) -> None:
    """Encode the lavfi graph's pictures (and sound with ``audio``) into path.

    ``fmt`` names the container when path is a stream; a file's suffix names it otherwise.
    ``movflags`` replaces the mp4 muxer's flags (FRAGMENTED: a DASH-style fragmented mp4).
    ``bitrate`` sets the encoder's target rate (else x264's quality default, VP9's 400k).
    ``rotation``: a display matrix turning the picture that many degrees counter-clockwise, as
    phones record portrait video (-90: held upright, the frames stored on their side).
    """
    fmt = fmt or _FORMATS[Path(path).suffix.lower()]
    options = _container_options(fmt) if movflags is None else {"movflags": movflags}
    with av.open(path, "w", format=fmt, options=options) as out:
        video = None
        sound = out.add_stream("aac", rate=44100) if audio else None
        index = 0
        for frame in _source_frames(graph):
            if isinstance(frame, av.AudioFrame):
                assert sound is not None
                out.mux(sound.encode(frame))
                continue
            if video is None:
                name, options = _codec_options(codec, fps, keyint_s)
                if bitrate:
                    options = {**options, "b": bitrate}  # e.g. "1000k", a web video's rate
                video = out.add_stream(name, rate=fps, options=options)
                video.width, video.height, video.pix_fmt = frame.width, frame.height, "yuv420p"
                if rotation:
                    video.set_display_rotation(rotation)
            frame.pts, frame.time_base = index, Fraction(1, fps)
            # The source marks every picture a keyframe, and the encoders obey a frame's type.
            frame.pict_type = PictureType.NONE
            index += 1
            out.mux(video.encode(frame))
        for stream in (video, sound):
            if stream is not None:
                out.mux(stream.encode(None))


def make_video(
    path: Path,
    *,
    seconds: float = 12,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    keyint_s: float = 2,
    codec: str = "h264",
    black_intro_s: float = 0,
    black_outro_s: float = 0,
    audio: bool = False,
    movflags: str | None = None,
) -> Path:
    """A video of a moving, changing pattern; optional black intro and outro.

    The container follows the suffix of ``path`` (.mp4, .mov, .webm, .mkv, .avi, .flv, .ts).
    """
    w, h = size
    sources = [_MOVING.format(w=w, h=h, fps=fps) + f",trim=duration={seconds}"]
    if black_intro_s:
        sources.insert(0, f"color=c=black:size={w}x{h}:rate={fps}:duration={black_intro_s}")
    if black_outro_s:
        sources.append(f"color=c=black:size={w}x{h}:rate={fps}:duration={black_outro_s}")
    parts = [f"{s},setsar=1,format=yuv420p[v{i}]" for i, s in enumerate(sources)]
    joined = "".join(f"[v{i}]" for i in range(len(sources)))
    graph = ";".join([*parts, f"{joined}concat=n={len(sources)}:v=1:a=0[out0]"])
    if audio:
        total = seconds + black_intro_s + black_outro_s
        graph += f";sine=frequency=440:duration={total}[out1]"
    encode(path, graph, fps=fps, keyint_s=keyint_s, codec=codec, audio=audio, movflags=movflags)
    return path


def make_still_video(
    path: Path, *, seconds: float = 6, colour: str = "black", size: tuple[int, int] = (320, 240)
) -> Path:
    """One flat colour for the whole length: nothing in it is a good frame."""
    w, h = size
    encode(path, f"color=c={colour}:size={w}x{h}:rate=25:duration={seconds},format=yuv420p")
    return path


def make_one_frame_video(path: Path, *, size: tuple[int, int] = (320, 240)) -> Path:
    """A video stream holding a single picture: it has no length to pick stills from."""
    w, h = size
    encode(path, f"testsrc2=size={w}x{h}:rate=25,trim=end_frame=1,format=yuv420p")
    return path


def make_audio_only(path: Path, *, seconds: float = 5) -> Path:
    """A valid media file without any video stream (.m4a: AAC in MP4)."""
    fmt = _FORMATS[path.suffix.lower()]
    with av.open(path, "w", format=fmt, options=_container_options(fmt)) as out:
        sound = out.add_stream("aac", rate=44100)
        for frame in _source_frames(f"sine=frequency=440:duration={seconds}"):
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


def make_corrupt(path: Path, *, size: int = 200_000) -> Path:
    """Bytes that start like an mp4 but are garbage after the first box."""
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    path.write_bytes(header + bytes((i * 7919) % 251 for i in range(size)))
    return path


def make_damaged(path: Path, source: Path, *, seed: int, count: int = 300) -> Path:
    """``source`` with ``count`` bytes overwritten at random places (a bad download or disk): in
    an MPEG-TS some land in a program table, which then names streams the file did not start with."""
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)  # not for security: the same damage every run
    for _ in range(count):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return path


def make_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


class _Pipe:
    """A file that can only be written to, as a pipe: the muxer cannot go back to the header."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)


def make_streamed_webm(path: Path, *, seconds: float = 12, fps: int = 25, keyint_s: float = 2) -> Path:
    """A VP9 WebM written to a pipe, as browsers and live captures write them: no duration, no cues.

    OpenCV reports a negative frame count for these and ignores every seek.
    """
    graph = _MOVING.format(w=320, h=240, fps=fps) + f",trim=duration={seconds}"
    with path.open("wb") as file:
        encode(_Pipe(file), graph, fps=fps, keyint_s=keyint_s, codec="vp9", fmt="webm")
    return path


def make_blurred_video(path: Path, *, seconds: float = 6, sigma: float = 6) -> Path:
    """The moving pattern out of focus: bright and varied, but with no sharp edge anywhere."""
    encode(path, _MOVING.format(w=320, h=240, fps=25) + f",gblur=sigma={sigma},trim=duration={seconds}")
    return path


def make_spot_video(path: Path, *, background: str = "black", seconds: float = 4) -> Path:
    """A small moving picture on a large flat background: contrast enough, but nearly all dark
    (or, on white, nearly all washed out)."""
    graph = (
        f"color=c={background}:size=320x240:rate=25:duration={seconds}[bg];"
        + _MOVING.format(w=64, h=48, fps=25)
        + "[fg];[bg][fg]overlay=x=128:y=96:shortest=1,format=yuv420p[out0]"
    )
    encode(path, graph)
    return path
