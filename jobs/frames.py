"""Good still frames from a local video file: the only module that imports OpenCV.

Plain functions on paths and arrays, no Django, so the adapter can be tested on real videos and
swapped without touching the pipeline.

How stills are found quickly (figures from tests/bench/bench_frames.py, 10-minute 854x480 H.264):

- Decoding is the cost. OpenCV's FFmpeg backend seeks frame-accurately: it jumps to the keyframe
  at or before ``target - 16 frames`` and decodes forward to the target, so a random position
  costs up to a whole GOP of decoding (about 50 ms for a 5 s GOP), while a position 17 frames
  after a keyframe costs about 18 decoded frames (about 10 ms).
- So we first list the keyframes by reading raw packets without decoding them
  (``CAP_PROP_FORMAT = -1``): about 6 microseconds a packet, 0.1 s for 10 minutes at 30 fps.
  The same pass gives the real duration, which the container headers do not always have.
- Each stretch of the video then samples a random keyframe inside it and decodes the frame just
  after it; a stretch without a keyframe falls back to a random, frame-accurate position.
- Quality checks run on small downscales; only an accepted frame is encoded to JPEG and WebP.

Only one decoded frame is alive at a time, so memory does not grow with the video's length.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# A frame is "good" when it passes all of these. Measured on a 256 px wide grey downscale, so they
# mean the same for a 360p and a 4K source. Mean luma below MIN_BRIGHTNESS is a black or
# near-black frame (fades, title gaps); above MAX_BRIGHTNESS a white or washed-out one. A white
# slide with black text averages about 230, so it still passes.
MIN_BRIGHTNESS = 20.0
MAX_BRIGHTNESS = 240.0
# Standard deviation of luma: a flat colour is below 3, a fade or a fog about 10.
MIN_CONTRAST = 12.0
# Variance of the Laplacian: sharp test frames measure 300-500, the same blurred with a 3 px
# Gaussian about 4, motion blur and out-of-focus shots a few tens.
MIN_SHARPNESS = 25.0
# Hamming distance between 64-bit difference hashes at or below which two frames are the same
# shot; frames of a moving scene half a second apart are usually 10 or more bits apart.
DUPLICATE_DISTANCE = 8

# Rejected frames are replaced by other candidates from the same stretch, within a budget, so
# an all-black video costs a bounded amount of decoding rather than a scan.
CANDIDATES_PER_STRETCH = 4
EXTRA_CANDIDATES = 8  # the global cap is 2 * count + EXTRA_CANDIDATES

JPEG_QUALITY = 90
WEBP_QUALITY = 80
PALETTE_SIZE = 5

# OpenCV seeks to the keyframe before ``target - 16 frames``; aiming 17 frames past a keyframe
# (one frame of slack for timestamp rounding) makes it land on that keyframe.
_SEEK_BACKOFF_FRAMES = 16
_KEYFRAME_OFFSET_FRAMES = _SEEK_BACKOFF_FRAMES + 1
_SHARPNESS_WIDTH = 256
_PALETTE_WIDTH = 64
_MASK64 = (1 << 64) - 1


class FrameError(Exception):
    """Raised with a message a user can read (e.g. 'This file has no video stream.')."""


@dataclass(frozen=True)
class VideoMeta:
    duration_ms: int
    width: int
    height: int
    fps: float


@dataclass(frozen=True)
class Still:
    timestamp_ms: int  # the real presentation time of the decoded frame
    width: int
    height: int
    jpeg: bytes  # full resolution
    thumbnail: bytes
    thumbnail_ext: str
    dhash: int  # unsigned 64-bit difference hash
    brightness: float  # mean luma 0..255
    contrast: float  # luma standard deviation
    sharpness: float  # variance of the Laplacian on a fixed-width grey downscale
    palette: tuple[str, ...]  # '#rrggbb', most dominant first


@dataclass(frozen=True)
class _Index:
    """What one pass over the raw packets tells us."""

    keyframes_ms: tuple[float, ...]  # sorted presentation times of keyframes
    first_ms: float
    last_ms: float  # the latest presentation time of any video packet
    packets: int


# ---------------------------------------------------------------------------------------------
# Public functions


def sniff_container(head: bytes) -> str | None:
    """The container a file is in, from its first bytes (64 are enough, 1 KiB is better).

    Uploads are judged by content, not by name. Only containers that can carry video are named;
    audio-only formats (mp3, wav, flac) and anything else give None. An .m4a is an mp4 container:
    probe() is what finds it has no video stream.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand.startswith(b"3g"):
            return "3gp"
        return "mp4"
    # QuickTime files written without an ftyp box start straight with one of these atoms.
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header names its DocType within the first few dozen bytes.
        return "webm" if b"webm" in head[:64] else "mkv"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if _looks_like_ts(head, packet=188, offset=0) or _looks_like_ts(head, packet=192, offset=4):
        return "mpegts"
    return None


def probe(path: str | os.PathLike[str]) -> VideoMeta:
    """Size, length and frame rate of a video; FrameError when it is not one we can read."""
    meta, _index, _fps_cv = _probe(path)
    return meta


def extract_stills(
    path: str | os.PathLike[str],
    *,
    count: int,
    meta: VideoMeta | None = None,
    known_hashes: Sequence[int] = (),
    rng: random.Random | None = None,
    edge_fraction: float = 0.05,
    thumb_width: int = 400,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[Still]:
    """Yield up to ``count`` good, distinct stills spread over the video, one at a time.

    The middle of the video (without the first and last ``edge_fraction``) is split into
    ``count`` stretches and each gets a random candidate; rejected candidates (dark, washed
    out, flat, blurred, or a near-duplicate of a still taken now or in ``known_hashes``) are
    replaced by others from the same stretch within a budget. Fewer stills than asked for is a
    normal result (an all-black video yields none); FrameError means the file is unreadable.
    """
    if count <= 0:
        return
    if not 0 <= edge_fraction < 0.5:
        raise ValueError("edge_fraction must be in [0, 0.5)")
    # Not for security: the positions only need to differ between runs.
    rng = rng or random.Random()  # noqa: S311
    probed, index, fps_cv = _probe(path, decode_check=False)
    meta = meta or probed
    frame_ms = 1000.0 / (meta.fps if meta.fps > 0 else 25.0)

    start = meta.duration_ms * edge_fraction
    end = meta.duration_ms * (1 - edge_fraction)
    stretch = (end - start) / count
    budget = 2 * count + EXTRA_CANDIDATES
    taken: list[int] = [h & _MASK64 for h in known_hashes]
    done = 0
    decoded_any = False

    reader = _Reader(path, index=index, fps_cv=fps_cv, frame_ms=frame_ms)
    try:
        for i in range(count):
            lo, hi = start + i * stretch, start + (i + 1) * stretch
            for target, earliest in _candidates(lo, hi, index, rng, frame_ms, fps_cv, reader.seekable):
                if budget <= 0:
                    break
                if not reader.seekable and target < reader.position_ms:
                    continue  # a stream we cannot seek in only moves forward
                budget -= 1
                got = reader.frame_at(target, earliest_ms=earliest)
                if got is None:
                    continue
                decoded_any = True
                frame, timestamp_ms = got
                still = _judge(frame, timestamp_ms, taken, thumb_width)
                if still is None:
                    continue
                taken.append(still.dhash)
                done += 1
                yield still
                if on_progress is not None:
                    on_progress(done, count)
                break
            if budget <= 0:
                logger.info("Candidate budget spent after %d of %d stills: %s", done, count, path)
                break
    finally:
        reader.close()
    if not decoded_any and reader.attempts:
        raise FrameError("No frame could be decoded from this video (the file may be corrupt).")


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes; works on signed values (e.g. a bigint column)."""
    return ((a ^ b) & _MASK64).bit_count()


def dhash(gray_or_bgr: np.ndarray) -> int:
    """64-bit difference hash: is each pixel of a 9x8 grey thumbnail brighter than its right-hand neighbour."""
    gray = _to_gray(gray_or_bgr)
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA)
    bits = (small[:, :-1] > small[:, 1:]).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


# ---------------------------------------------------------------------------------------------
# Opening and probing


def _probe(path: str | os.PathLike[str], *, decode_check: bool = True) -> tuple[VideoMeta, _Index, float]:
    """VideoMeta, the keyframe index and OpenCV's own idea of the frame rate (which seeking uses)."""
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
    except OSError as exc:
        raise FrameError("The video file could not be found.") from exc
    if size == 0:
        raise FrameError("This file is empty.")

    cap = _open(name)
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps_cv = cap.get(cv2.CAP_PROP_FPS)
        frames_cv = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        if decode_check:
            ok, frame = cap.read()
            if not ok or frame is None or frame.size == 0:
                raise FrameError("No frame could be decoded from this video (the file may be corrupt).")
            height, width = frame.shape[:2]
    finally:
        cap.release()

    if width <= 0 or height <= 0:
        raise FrameError("This video has no picture size (the file may be corrupt).")
    index = _scan(name)
    if index.packets == 0:
        raise FrameError("No frame could be decoded from this video (the file may be corrupt).")
    if index.packets < 2 or index.last_ms <= index.first_ms:
        raise FrameError("This video has no length (it holds a single picture at most).")
    fps = _choose_fps(fps_cv, index)
    # The packets are the truth: streamed WebM and Matroska (browser recordings, live captures)
    # often carry no duration at all, and OpenCV then reports a negative frame count.
    duration_ms = index.last_ms + 1000.0 / fps
    claimed_ms = frames_cv / fps_cv * 1000.0 if fps_cv > 0 and frames_cv > 0 else 0.0
    if abs(claimed_ms - duration_ms) > max(1000.0, 0.05 * duration_ms):
        logger.info("Headers say %.0f ms, packets say %.0f ms: %s", claimed_ms, duration_ms, name)
    meta = VideoMeta(duration_ms=round(duration_ms), width=width, height=height, fps=round(fps, 3))
    return meta, index, fps_cv


def _open(name: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    if cap.isOpened():
        return cap
    cap.release()
    # OpenCV refuses files without a video stream; ask once more for audio only, to tell a
    # song from a broken file in the message.
    audio = cv2.VideoCapture(
        name, cv2.CAP_FFMPEG, [cv2.CAP_PROP_AUDIO_STREAM, 0, cv2.CAP_PROP_VIDEO_STREAM, -1]
    )
    has_audio = audio.isOpened()
    audio.release()
    if has_audio:
        raise FrameError("This file has no video stream (it seems to be audio only).")
    raise FrameError("This file is not a video we can read (it may be corrupt or in an unsupported format).")


def _scan(name: str) -> _Index:
    """List keyframes and the real time span by reading raw packets, without decoding any."""
    cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    keys: list[float] = []
    first = math.inf
    last = -math.inf
    packets = 0
    try:
        if not cap.isOpened() or not cap.set(cv2.CAP_PROP_FORMAT, -1):
            raise FrameError("This file is not a video we can read (it may be corrupt or in an unsupported format).")
        while cap.grab():
            ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            packets += 1
            first = min(first, ms)
            last = max(last, ms)
            if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                keys.append(ms)
    finally:
        cap.release()
    if packets == 0:
        return _Index(keyframes_ms=(), first_ms=0.0, last_ms=0.0, packets=0)
    return _Index(keyframes_ms=tuple(sorted(keys)), first_ms=first, last_ms=last, packets=packets)


def _choose_fps(fps_cv: float, index: _Index) -> float:
    """OpenCV's frame rate unless the packets disagree (some WebM files report a 1000 fps timebase)."""
    span = index.last_ms - index.first_ms
    measured = (index.packets - 1) * 1000.0 / span if index.packets > 1 and span > 0 else 0.0
    if measured <= 0:
        return fps_cv if fps_cv > 0 else 25.0
    if fps_cv <= 0 or not 0.5 <= fps_cv / measured <= 2.0:
        return measured
    return fps_cv


# ---------------------------------------------------------------------------------------------
# Picking and decoding


def _candidates(
    lo: float,
    hi: float,
    index: _Index,
    rng: random.Random,
    frame_ms: float,
    fps_cv: float,
    seekable: bool,
) -> list[tuple[float, float]]:
    """Positions to try in one stretch, as (target ms, earliest acceptable ms).

    Keyframes inside the stretch come first, in random order, because decoding next to one is
    cheap; random frame-accurate positions fill the rest of the budget.
    """
    first = bisect.bisect_left(index.keyframes_ms, lo)
    last = bisect.bisect_left(index.keyframes_ms, hi)
    keys = list(index.keyframes_ms[first:last])
    rng.shuffle(keys)
    offset = _KEYFRAME_OFFSET_FRAMES * 1000.0 / fps_cv if fps_cv > 0 else 0.0
    picks = [(k + offset, k) for k in keys[:CANDIDATES_PER_STRETCH]]
    while len(picks) < CANDIDATES_PER_STRETCH:
        at = rng.uniform(lo, max(lo, hi - frame_ms))
        picks.append((at, at))
    if not seekable:
        picks.sort()  # decoding can only move forward
    return picks


class _Reader:
    """One decoding VideoCapture that seeks only when seeking is cheaper than reading on."""

    def __init__(self, path: str | os.PathLike[str], *, index: _Index, fps_cv: float, frame_ms: float) -> None:
        self._cap = cv2.VideoCapture(os.fspath(path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise FrameError("This file is not a video we can read (it may be corrupt or in an unsupported format).")
        self._index = index
        self._fps_cv = fps_cv
        self._frame_ms = frame_ms
        # OpenCV only seeks when it believes the stream holds more than one frame; streamed
        # WebM without a duration reports a negative count and every seek is silently ignored.
        self.seekable = self._cap.get(cv2.CAP_PROP_FRAME_COUNT) > 1
        self.position_ms = -math.inf  # time of the frame last decoded
        self.attempts = 0

    def close(self) -> None:
        self._cap.release()

    def frame_at(self, target_ms: float, *, earliest_ms: float) -> tuple[np.ndarray, int] | None:
        """A frame at or after ``earliest_ms`` and its real timestamp, or None if none decoded.

        After a seek any frame from ``earliest_ms`` on is taken (the decoder lands just after a
        keyframe when asked to); when reading on, it is the frame shown at ``target_ms``.
        """
        self.attempts += 1
        tolerance = self._frame_ms / 2
        if self.seekable and not self._read_on_is_cheaper(target_ms):
            self._cap.set(cv2.CAP_PROP_POS_MSEC, target_ms)
            ok, frame = self._cap.read()
            if not ok or frame is None or frame.size == 0:
                logger.debug("No frame after seeking to %.0f ms", target_ms)
                self.position_ms = -math.inf
                return None
            self.position_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            # If the seek fell short (a frame count that is too small clamps OpenCV's seek),
            # read on rather than return a frame from somewhere else.
            if self.position_ms >= earliest_ms - tolerance:
                return frame, round(self.position_ms)
        # Read on to the target: grab() decodes without the costly colour conversion.
        while self.position_ms < target_ms - tolerance:
            if not self._cap.grab():
                return None
            self.position_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        ok, frame = self._cap.retrieve()
        if not ok or frame is None or frame.size == 0:
            return None
        return frame, round(self.position_ms)

    def _read_on_is_cheaper(self, target_ms: float) -> bool:
        """True when a seek would restart from a keyframe we have already decoded past."""
        if self.position_ms >= target_ms or self.position_ms == -math.inf:
            return False
        backoff = _SEEK_BACKOFF_FRAMES * 1000.0 / self._fps_cv if self._fps_cv > 0 else 0.0
        keys = self._index.keyframes_ms
        at = bisect.bisect_right(keys, target_ms - backoff) - 1
        restart = keys[at] if at >= 0 else 0.0
        return restart <= self.position_ms


# ---------------------------------------------------------------------------------------------
# Judging and encoding


def _judge(frame: np.ndarray, timestamp_ms: int, taken: Sequence[int], thumb_width: int) -> Still | None:
    """The Still for a good frame, or None when it is dark, washed out, flat, blurred or a repeat."""
    height, width = frame.shape[:2]
    gray = _to_gray(frame)
    small_h = max(1, round(_SHARPNESS_WIDTH * height / width))
    small = cv2.resize(gray, (_SHARPNESS_WIDTH, small_h), interpolation=cv2.INTER_AREA)
    brightness = float(small.mean())
    contrast = float(small.std())
    if not MIN_BRIGHTNESS <= brightness <= MAX_BRIGHTNESS or contrast < MIN_CONTRAST:
        logger.debug("Rejected %d ms: brightness %.0f, contrast %.1f", timestamp_ms, brightness, contrast)
        return None
    sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
    if sharpness < MIN_SHARPNESS:
        logger.debug("Rejected %d ms: sharpness %.1f", timestamp_ms, sharpness)
        return None
    digest = dhash(gray)
    if any(hamming(digest, other) <= DUPLICATE_DISTANCE for other in taken):
        logger.debug("Rejected %d ms: a near-duplicate", timestamp_ms)
        return None

    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    thumb_w = max(1, min(thumb_width, width))  # never upscale a small source
    thumb_h = max(1, round(height * thumb_w / width))
    thumb = cv2.resize(frame, (thumb_w, thumb_h), interpolation=cv2.INTER_AREA)
    ok_thumb, webp = cv2.imencode(".webp", thumb, [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])
    if not ok or not ok_thumb:
        logger.warning("Could not encode the frame at %d ms", timestamp_ms)
        return None
    return Still(
        timestamp_ms=timestamp_ms,
        width=width,
        height=height,
        jpeg=jpeg.tobytes(),
        thumbnail=webp.tobytes(),
        thumbnail_ext="webp",
        dhash=digest,
        brightness=round(brightness, 2),
        contrast=round(contrast, 2),
        sharpness=round(sharpness, 2),
        palette=_palette(thumb),
    )


def _palette(bgr: np.ndarray, k: int = PALETTE_SIZE) -> tuple[str, ...]:
    """``k`` dominant colours by k-means on a small downscale, the most common first.

    A few lines of numpy instead of cv2.kmeans, whose global random state would make the
    palette differ between runs on the same frame.
    """
    h, w = bgr.shape[:2]
    small_w = min(_PALETTE_WIDTH, w)
    small = cv2.resize(bgr, (small_w, max(1, round(h * small_w / w))), interpolation=cv2.INTER_AREA)
    pixels = small.reshape(-1, 3).astype(np.float32)
    gen = np.random.default_rng(0)
    # k-means++ seeding: each new centre is drawn far from those already chosen.
    centres = [pixels[gen.integers(len(pixels))]]
    for _ in range(1, k):
        d2 = np.min([((pixels - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = float(d2.sum())
        if total <= 0:
            centres.append(centres[0])
            continue
        centres.append(pixels[gen.choice(len(pixels), p=d2 / total)])
    centre_arr = np.array(centres, dtype=np.float32)
    for _ in range(12):
        labels = np.argmin(((pixels[:, None, :] - centre_arr[None, :, :]) ** 2).sum(axis=2), axis=1)
        moved = centre_arr.copy()
        for j in range(k):
            members = pixels[labels == j]
            if len(members):
                moved[j] = members.mean(axis=0)
        if np.allclose(moved, centre_arr, atol=0.5):
            centre_arr = moved
            break
        centre_arr = moved
    counts = np.bincount(labels, minlength=k)
    order = np.argsort(-counts, kind="stable")
    return tuple(
        "#{:02x}{:02x}{:02x}".format(*(int(round(float(v))) for v in centre_arr[j][::-1])) for j in order
    )


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _looks_like_ts(head: bytes, *, packet: int, offset: int) -> bool:
    """MPEG-TS: a 0x47 sync byte at the start of every 188-byte (or 192-byte M2TS) packet."""
    syncs = range(offset, len(head), packet)
    checked = [head[i] == 0x47 for i in syncs][:4]
    return len(checked) >= 2 and all(checked)
