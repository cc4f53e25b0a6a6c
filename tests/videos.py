"""Real test videos, generated with ffmpeg's lavfi sources (fast, no downloads).

Every test that needs a video file makes one here, in a tmp_path, so the adapters are
always exercised on real containers and codecs rather than on mocks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg")

# Visually distinct scenes: a rotating, hue-shifting test pattern changes its whole layout
# over time, so frames a second apart have different difference hashes.
_MOVING = "testsrc2=size={w}x{h}:rate={fps},rotate=a=t*0.7:fillcolor=0x336699,hue=H=t*0.9"


def _run(args: list[str]) -> None:
    if FFMPEG is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _codec_args(codec: str, fps: int, keyint_s: float) -> list[str]:
    gop = max(1, round(fps * keyint_s))
    if codec == "h264":
        return [
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-movflags", "+faststart",
        ]  # fmt: skip
    if codec == "vp9":
        return [
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            str(gop),
            "-b:v",
            "400k",
        ]
    if codec == "vp8":
        return ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", str(gop), "-b:v", "400k"]
    raise ValueError(f"unknown codec {codec}")


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
) -> Path:
    """A video of a moving, changing pattern; optional black intro and outro.

    The container follows the suffix of ``path`` (.mp4, .webm, .mkv).
    """
    w, h = size
    parts = []
    filters = []
    inputs: list[str] = []
    if black_intro_s:
        inputs += ["-f", "lavfi", "-i", f"color=c=black:size={w}x{h}:rate={fps}:duration={black_intro_s}"]
        parts.append(f"[{len(parts)}:v]")
    inputs += ["-f", "lavfi", "-i", _MOVING.format(w=w, h=h, fps=fps) + f",trim=duration={seconds}"]
    parts.append(f"[{len(parts)}:v]")
    if black_outro_s:
        inputs += ["-f", "lavfi", "-i", f"color=c=black:size={w}x{h}:rate={fps}:duration={black_outro_s}"]
        parts.append(f"[{len(parts)}:v]")
    for i, p in enumerate(parts):
        filters.append(f"{p}setsar=1,format=yuv420p[v{i}]")
    filters.append("".join(f"[v{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=1:a=0[out]")
    args = [*inputs, "-filter_complex", ";".join(filters), "-map", "[out]"]
    if audio:
        total = seconds + black_intro_s + black_outro_s
        args = [*inputs, "-f", "lavfi", "-i", f"sine=frequency=440:duration={total}"]
        args += [
            "-filter_complex",
            ";".join(filters),
            "-map",
            "[out]",
            "-map",
            f"{len(parts)}:a",
            "-c:a",
            "aac",
        ]
    _run([*args, *_codec_args(codec, fps, keyint_s), str(path)])
    return path


def make_still_video(
    path: Path, *, seconds: float = 6, colour: str = "black", size: tuple[int, int] = (320, 240)
) -> Path:
    """One flat colour for the whole length: nothing in it is a good frame."""
    w, h = size
    _run(
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c={colour}:size={w}x{h}:rate=25:duration={seconds}",
            *_codec_args("h264", 25, 2),
            str(path),
        ]
    )
    return path


def make_audio_only(path: Path, *, seconds: float = 5) -> Path:
    """A valid media file without any video stream (.m4a or .mp3 by suffix)."""
    _run(["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path)])
    return path


def make_corrupt(path: Path, *, size: int = 200_000) -> Path:
    """Bytes that start like an mp4 but are garbage after the first box."""
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    path.write_bytes(header + bytes((i * 7919) % 251 for i in range(size)))
    return path


def make_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def make_streamed_webm(path: Path, *, seconds: float = 12, fps: int = 25, keyint_s: float = 2) -> Path:
    """A VP9 WebM written to a pipe, as browsers and live captures write them: no duration, no cues.

    OpenCV reports a negative frame count for these and ignores every seek.
    """
    if FFMPEG is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    source = _MOVING.format(w=320, h=240, fps=fps) + f",trim=duration={seconds}"
    args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", source]
    args += [*_codec_args("vp9", fps, keyint_s), "-f", "webm", "pipe:1"]
    with path.open("wb") as out:
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL, stdout=out)
    return path


def make_blurred_video(path: Path, *, seconds: float = 6, sigma: float = 6) -> Path:
    """The moving pattern out of focus: bright and varied, but with no sharp edge anywhere."""
    source = _MOVING.format(w=320, h=240, fps=25) + f",gblur=sigma={sigma},trim=duration={seconds}"
    _run(["-f", "lavfi", "-i", source, *_codec_args("h264", 25, 2), str(path)])
    return path


def make_spot_video(path: Path, *, background: str = "black", seconds: float = 4) -> Path:
    """A small moving picture on a large flat background: contrast enough, but nearly all dark
    (or, on white, nearly all washed out)."""
    graph = (
        f"color=c={background}:size=320x240:rate=25:duration={seconds}[bg];"
        + _MOVING.format(w=64, h=48, fps=25)
        + "[fg];[bg][fg]overlay=x=128:y=96:shortest=1,format=yuv420p[out0]"
    )
    _run(["-f", "lavfi", "-i", graph, *_codec_args("h264", 25, 2), str(path)])
    return path
