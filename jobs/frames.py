"""Good still frames from a local video file: the only module that imports OpenCV (and PyAV).

Plain functions on paths and arrays, no Django, so the adapter can be tested on real videos and
swapped without touching the pipeline.

Why it is built this way (measured with tests/bench/bench_frames.py on a 10-minute 854x480
30 fps H.264 file with a keyframe every 5 s, on a shared 2-core machine):

- Decoding is the cost. OpenCV's FFmpeg backend seeks frame-accurately: it jumps to the keyframe
  at or before ``target - 16 frames`` and decodes forward to the target. A random position
  therefore costs up to a GOP of decoding (50-100 ms here), but a position 17 frames after a
  keyframe costs 18 decoded frames (about 10 ms). The first version read every frame up to the
  chosen ones, about 1 ms a frame: 15-30 s for 12 stills from this file.
- Keyframes are found by reading raw packets without decoding them (``CAP_PROP_FORMAT = -1``,
  ``CAP_PROP_LRF_HAS_KEY_FRAME``). A raw-mode seek lands on the keyframe before the requested
  time, so each stretch reads a GOP of packets at most; listing every keyframe of the file
  would cost about 0.1 s for these 10 minutes (5 microseconds a packet) and grow with length.
- The real duration comes from the last packets, not from the headers, which streamed WebM and
  Matroska files (browser recordings, live captures) often lack.
- Quality checks run on a 256 px wide grey copy; only accepted frames are encoded, on a worker
  thread while the next one is decoded.

All told, 12 stills from that file take about 0.3 s (ffmpeg's CLI, one fast seek per frame:
about 2 s), and memory does not grow with the length: one or two decoded frames are alive.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import cv2
import numpy as np

logger = logging.getLogger(__name__)

# A frame is "good" when it passes all of these. They are measured on a 256 px wide grey
# downscale, so they mean the same for a 360p and a 4K source. Mean luma below MIN_BRIGHTNESS is
# a black or near-black frame (fades, gaps between titles); above MAX_BRIGHTNESS a white or
# washed-out one. A white slide with black text averages about 230, so it still passes.
MIN_BRIGHTNESS = 20.0
MAX_BRIGHTNESS = 240.0
# Standard deviation of luma: a flat colour is below 3, a fade or fog about 10.
MIN_CONTRAST = 12.0
# Variance of the Laplacian: sharp 320x240 test frames measure 280-430 (180-290 when upscaled
# to 1080p), the same blurred with a Gaussian of sigma 1 px 40-75, of sigma 2 px 7-15.
MIN_SHARPNESS = 25.0
# Hamming distance between 64-bit difference hashes at or below which two frames count as the
# same shot; frames of a moving scene half a second apart usually differ by 10 bits or more.
DUPLICATE_DISTANCE = 8

# Rejected frames are replaced by other candidates from the same stretch within a budget, so an
# all-black video costs a bounded amount of decoding rather than a scan.
CANDIDATES_PER_STRETCH = 4
EXTRA_CANDIDATES = 8  # the budget for a run is 2 * count + EXTRA_CANDIDATES

JPEG_QUALITY = 90
WEBP_QUALITY = 80
PALETTE_SIZE = 5

# OpenCV seeks to the keyframe before ``target - 16 frames`` (decode and raw mode alike); aiming
# 17 frames past a keyframe (one frame of slack for rounding) lands exactly on it.
_SEEK_BACKOFF_FRAMES = 16
_KEYFRAME_OFFSET_FRAMES = _SEEK_BACKOFF_FRAMES + 1
# The duration is read from the packets after this point before the end the headers claim.
_TAIL_MS = 2000.0
_SHARPNESS_WIDTH = 256
_PALETTE_WIDTH = 48
_MASK64 = (1 << 64) - 1
# The containers we read, as FFmpeg names its demuxers. Given to FFmpeg as its whitelist, so a
# "video" that is really an HLS or concat playlist cannot make it open other files or URLs.
_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,flv,avi,mpegts,mpeg,ogg,asf"
_CONTENT_TYPES = {
    "avi": "video/x-msvideo",
    "ogg": "video/ogg",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "flv": "video/x-flv",
    "asf": "video/x-ms-asf",
}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1"})
_UNREADABLE = "This file is not a video we can read (it may be corrupt or in an unsupported format)."
_UNDECODABLE = "No frame could be decoded from this video (the file may be corrupt)."
_AUDIO_ONLY = "This file has no video stream (it seems to be audio only)."


class FrameError(Exception):
    """Raised with a message a user can read (e.g. 'This file has no video stream.')."""


@dataclass(frozen=True)
class VideoMeta:
    duration_ms: int
    width: int
    height: int
    fps: float
    # What to serve the file as; says nothing about its length, hence not compared.
    content_type: str = field(default="video/mp4", compare=False)


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
class _Header:
    """What OpenCV reports when it opens a file."""

    width: int
    height: int
    fps: float  # OpenCV's frame rate: its seek arithmetic counts in these frames
    frames: float  # may be negative or wrong, see _measure
    content_type: str

    @property
    def seekable(self) -> bool:
        # OpenCV only seeks when it believes there is more than one frame; streamed WebM
        # without a duration reports a negative count and every seek is silently ignored.
        return self.frames > 1 and self.fps > 0


# ---------------------------------------------------------------------------------------------
# Public functions


def content_type(file: str | os.PathLike[str] | BinaryIO) -> str:
    """The MIME type of a video file or open binary file ('video/mp4', 'video/webm'...), judged by
    its content, whatever its name says; FrameError when it holds no video we can read.

    FFmpeg (through PyAV) reads the container's headers only, no frame is decoded: quick enough
    for an upload being submitted. A file object is read from its start and left where it was.
    """
    if not hasattr(file, "read"):
        return _container_type(os.fspath(file))  # type: ignore[arg-type]
    position = file.tell()  # type: ignore[union-attr]
    file.seek(0)  # type: ignore[union-attr]
    try:
        return _container_type(file)  # type: ignore[arg-type]
    finally:
        file.seek(position)  # type: ignore[union-attr]


def _container_type(source: str | BinaryIO) -> str:
    try:
        container = av.open(source, options={"format_whitelist": _FORMATS, "protocol_whitelist": "file"})
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise FrameError(_UNREADABLE) from exc
    with container:
        videos = [
            stream
            for stream in container.streams.video
            # Cover art of a song is a one-picture "video" stream.
            if not stream.disposition & av.stream.Disposition.attached_pic
        ]
        if not videos:
            raise FrameError(_AUDIO_ONLY if container.streams.audio else _UNREADABLE)
        demuxer = container.format.name
        if demuxer.startswith("mov,"):
            return "video/quicktime" if container.metadata.get("major_brand") == "qt  " else "video/mp4"
        if demuxer.startswith("matroska"):
            return "video/webm" if videos[0].codec_context.name in _WEBM_CODECS else "video/x-matroska"
        return _CONTENT_TYPES.get(demuxer, "application/octet-stream")


def probe(path: str | os.PathLike[str]) -> VideoMeta:
    """Size, length, frame rate and type of a video; FrameError with a readable message if it has
    none (not a video, audio only, corrupt, a single picture).

    The one check of what a file is, for downloads and uploads alike. The duration is measured
    from the last packets rather than trusted from the headers.
    """
    name = os.fspath(path)
    header = _inspect(name, decode_check=True)
    meta = _measure(name, header)
    return VideoMeta(meta.duration_ms, meta.width, meta.height, meta.fps, content_type=header.content_type)


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

    The video without its first and last ``edge_fraction`` is split into ``count`` stretches,
    and each stretch offers random candidates until one is good: not dark, washed out, flat or
    blurred, and not a near-duplicate of a still taken in this run or of ``known_hashes``. Fewer
    stills than asked for is a normal result (an all-black video yields none); FrameError means
    the file cannot be read at all. Pass the ``meta`` from probe() to skip measuring again.
    """
    if count <= 0:
        return
    if not 0 <= edge_fraction < 0.5:
        raise ValueError("edge_fraction must be in [0, 0.5)")
    # Not for security: the positions only need to differ between runs.
    rng = rng or random.Random()
    name = os.fspath(path)
    header = _inspect(name, decode_check=False)
    meta = meta or _measure(name, header)
    reader = _open_reader(name, header, meta)
    finder = _KeyframeFinder(name, header) if header.seekable else None
    # Encoding (mostly the WebP thumbnail) runs on a worker thread while the next frame is
    # decoded: OpenCV releases the GIL, and 12 stills take about a third less time. At most two
    # decoded frames are alive, the one being encoded and the one being judged.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stills")
    pending: Future[Still] | None = None
    done = 0
    try:
        taken = [h & _MASK64 for h in known_hashes]
        search = _good_frames(
            reader, finder, meta, header, count=count, edge=edge_fraction, rng=rng, taken=taken
        )
        # The None at the end collects the last still from the encoder.
        for found in itertools.chain(search, [None]):
            encoding = pool.submit(_encode, *found, thumb_width) if found is not None else None
            if pending is not None:
                still = pending.result()
                done += 1
                yield still
                if on_progress is not None:
                    on_progress(done, count)
            pending = encoding
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reader.close()
        if finder is not None:
            finder.close()
    if reader.attempts and not reader.decoded:
        raise FrameError(_UNDECODABLE)


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes; works on signed values too (a bigint column)."""
    return ((a ^ b) & _MASK64).bit_count()


def dhash(gray_or_bgr: np.ndarray) -> int:
    """64-bit difference hash: is each pixel of a 9x8 grey thumbnail brighter than its right-hand neighbour.

    Bits are row-major, the most significant first. Images are first reduced to the same
    256 px wide grey copy the quality checks use, so a Still's ``dhash`` equals ``dhash()`` of
    its frame.
    """
    return _dhash_small(_gray_small(_to_gray(gray_or_bgr)))


# ---------------------------------------------------------------------------------------------
# Opening and measuring


def _inspect(name: str, *, decode_check: bool) -> _Header:
    try:
        size = os.path.getsize(name)
    except OSError as exc:
        raise FrameError("The video file could not be found.") from exc
    if size == 0:
        raise FrameError("This file is empty.")
    # PyAV says what the file is (with FFmpeg's format whitelist) before OpenCV opens it, which
    # would follow whatever a playlist file points at.
    kind = content_type(name)
    cap = _open(name)
    try:
        header = _Header(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=cap.get(cv2.CAP_PROP_FPS),
            frames=cap.get(cv2.CAP_PROP_FRAME_COUNT),
            content_type=kind,
        )
        if decode_check:
            ok, frame = cap.read()
            if not ok or frame is None or frame.size == 0:
                raise FrameError(_UNDECODABLE)
    finally:
        cap.release()
    if header.width <= 0 or header.height <= 0:
        raise FrameError(_UNREADABLE)
    return header


def _open(name: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    if cap.isOpened():
        return cap
    cap.release()
    raise FrameError(_UNREADABLE)


def _measure(name: str, header: _Header) -> VideoMeta:
    """VideoMeta with the duration and frame rate the packets show, whatever the headers say."""
    packets = _Packets(name, header.fps)
    try:
        claimed_ms = header.frames * 1000.0 / header.fps if header.seekable else 0.0
        if header.seekable:
            # Only the tail is read: a raw seek lands on the keyframe before the point asked.
            packets.seek(max(0.0, claimed_ms - _TAIL_MS))
        count, first_ms, last_ms = packets.span()
        if count == 0 and header.seekable:
            # The headers promise more than the file holds (a truncated download): read it all.
            packets.close()
            packets = _Packets(name, header.fps)
            count, first_ms, last_ms = packets.span()
    finally:
        packets.close()
    if count == 0:
        raise FrameError(_UNDECODABLE)
    if not header.seekable and count < 2:
        raise FrameError("This video has no length (it holds a single picture at most).")
    measured_fps = (count - 1) * 1000.0 / (last_ms - first_ms) if count > 1 and last_ms > first_ms else 0.0
    fps = header.fps
    # Some WebM files report the 1 kHz timebase as their frame rate.
    if measured_fps > 0 and (fps <= 0 or not 0.5 <= fps / measured_fps <= 2.0):
        fps = measured_fps
    if fps <= 0:
        raise FrameError("This video has no length (it holds a single picture at most).")
    duration_ms = last_ms + 1000.0 / fps
    if abs(claimed_ms - duration_ms) > max(1000.0, 0.05 * duration_ms):
        logger.info("Headers say %.0f ms, packets say %.0f ms: %s", claimed_ms, duration_ms, name)
    return VideoMeta(
        duration_ms=round(duration_ms), width=header.width, height=header.height, fps=round(fps, 3)
    )


class _Packets:
    """Raw video packets in file order, without decoding (OpenCV's CAP_PROP_FORMAT = -1)."""

    def __init__(self, name: str, fps: float) -> None:
        self._cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
        if not self._cap.isOpened() or not self._cap.set(cv2.CAP_PROP_FORMAT, -1):
            self._cap.release()
            raise FrameError(_UNREADABLE)
        self._fps = fps
        self._after_seek = False

    def close(self) -> None:
        self._cap.release()

    def seek(self, ms: float) -> None:
        """Go to the keyframe at or before ``ms - 16 frames``."""
        self._cap.set(cv2.CAP_PROP_POS_MSEC, ms)
        self._after_seek = True

    def next(self) -> tuple[float, bool] | None:
        """(presentation time in ms, is a keyframe) of the next packet, or None at the end."""
        if not self._cap.grab():
            return None
        is_key = bool(self._cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME))
        if self._after_seek and self._fps > 0:
            # Right after a seek POS_MSEC still echoes the requested time; PTS (counted in
            # OpenCV's frames) is already the packet's own.
            self._after_seek = False
            return self._cap.get(cv2.CAP_PROP_PTS) * 1000.0 / self._fps, is_key
        return self._cap.get(cv2.CAP_PROP_POS_MSEC), is_key

    def span(self) -> tuple[int, float, float]:
        """Packets left, and the earliest and latest presentation time among them."""
        count = 0
        first = math.inf
        last = -math.inf
        while (packet := self.next()) is not None:
            ms = packet[0]
            count += 1
            first = min(first, ms)
            last = max(last, ms)
        return count, first, last


class _KeyframeFinder:
    """Keyframes near a point, reading about one GOP of raw packets instead of the whole file."""

    def __init__(self, name: str, header: _Header) -> None:
        self._packets = _Packets(name, header.fps)
        self._backoff_ms = _SEEK_BACKOFF_FRAMES * 1000.0 / header.fps

    def close(self) -> None:
        self._packets.close()

    def find(self, at_ms: float, lo_ms: float, hi_ms: float, skip: set[int]) -> float | None:
        """The keyframe governing ``at_ms`` if it is in [lo, hi) and not in ``skip`` (rounded ms),
        else the next such one; None if the stretch has no other."""
        self._packets.seek(at_ms + self._backoff_ms)
        while (packet := self._packets.next()) is not None:
            ms, is_key = packet
            if ms >= hi_ms:
                return None
            if is_key and ms >= lo_ms and round(ms) not in skip:
                return ms
        return None


def _good_frames(
    reader: _Reader | _AvReader,
    finder: _KeyframeFinder | None,
    meta: VideoMeta,
    header: _Header,
    *,
    count: int,
    edge: float,
    rng: random.Random,
    taken: list[int],
) -> Iterator[tuple[np.ndarray, _Measures]]:
    """At most one good frame per stretch, trying a few candidates in each within a budget."""
    frame_ms = 1000.0 / meta.fps if meta.fps > 0 else 40.0
    start = meta.duration_ms * edge
    stretch = meta.duration_ms * (1 - 2 * edge) / count
    budget = 2 * count + EXTRA_CANDIDATES
    for i in range(count):
        lo = start + i * stretch
        for target, earliest in _picks(lo, lo + stretch, finder, rng, frame_ms, header):
            if budget <= 0:
                logger.info("Candidate budget spent at stretch %d of %d", i + 1, count)
                return
            if not header.seekable and target < reader.position_ms:
                continue  # without seeking, decoding only moves forward
            budget -= 1
            got = reader.frame_at(target, earliest_ms=earliest)
            if got is None:
                continue
            frame, timestamp_ms = got
            measures = _assess(frame, timestamp_ms, taken)
            if measures is not None:
                taken.append(measures.dhash)
                yield frame, measures
                break


def _picks(
    lo: float, hi: float, finder: _KeyframeFinder | None, rng: random.Random, frame_ms: float, header: _Header
) -> Iterator[tuple[float, float]]:
    """Candidates in one stretch, as (target ms, earliest acceptable ms), cheapest kind first.

    Each draws a random point; in a seekable file the keyframe that governs it (or the next
    one not tried yet) is used instead, as decoding next to a keyframe is cheap, and the point
    itself once the stretch has no untried keyframe left. Without seeking, the points come in
    order, as decoding only goes forward.
    """
    points = [rng.uniform(lo, max(lo, hi - frame_ms)) for _ in range(CANDIDATES_PER_STRETCH)]
    if finder is None:
        for at in sorted(points):
            yield at, at
        return
    offset_ms = _KEYFRAME_OFFSET_FRAMES * 1000.0 / header.fps
    tried: set[int] = set()
    for at in points:
        # Only keyframes whose decoded neighbour is still inside the stretch, to keep the spread.
        key = finder.find(at, lo, hi - offset_ms, skip=tried)
        if key is not None:
            tried.add(round(key))
            yield key + offset_ms, key
        else:
            yield at, at


def _open_reader(name: str, header: _Header, meta: VideoMeta) -> _Reader | _AvReader:
    """PyAV where it can seek: it decodes a keyframe alone, where OpenCV's seek decodes 17
    frames to reach one (measured: 12 stills of a 10-minute 480p video, 25 ms of decoding
    against 98 ms). OpenCV for the rest: files it cannot seek in, or PyAV cannot open."""
    if header.seekable:
        try:
            return _AvReader(name, meta)
        except (av.error.FFmpegError, StopIteration, IndexError) as exc:
            logger.info("PyAV cannot read %s (%s); decoding with OpenCV", name, exc)
    return _Reader(name, header, meta)


class _AvReader:
    """Seeks with PyAV to the keyframe at or before a target and decodes from there."""

    def __init__(self, name: str, meta: VideoMeta) -> None:
        self._container = av.open(name)
        try:
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            self._base = float(self._stream.time_base)
            # Timestamps count from the start of the stream, as OpenCV's and YouTube's do.
            self._start = float(self._stream.start_time or 0) * self._base
        except Exception:
            self._container.close()
            raise
        self._frames: Iterator[av.VideoFrame] | None = None
        self._frame_ms = 1000.0 / meta.fps if meta.fps > 0 else 40.0
        self._near_ms = 4 * self._frame_ms  # beyond this, a seek is cheaper than reading on
        self.position_ms = -math.inf
        self.attempts = 0
        self.decoded = 0

    def close(self) -> None:
        self._container.close()

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Frames from the current position, starting at a keyframe.

        Where a seek lands between keyframes (MPEG-TS), the frames before the next keyframe
        lack their references: they fail to decode or come out smeared, so they are skipped.
        """
        started = False
        for packet in self._container.demux(self._stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                continue
            for frame in decoded:
                started = started or frame.key_frame
                if started:
                    yield frame

    def _next(self) -> av.VideoFrame | None:
        assert self._frames is not None
        try:
            frame = next(self._frames)
        except (StopIteration, av.error.FFmpegError):
            return None
        self.decoded += 1
        if frame.time is not None:
            self.position_ms = (frame.time - self._start) * 1000.0
        else:  # no timestamp on this frame: one frame after the last
            self.position_ms += self._frame_ms
        return frame

    def _seek(self, target_ms: float, tolerance: float) -> av.VideoFrame | None:
        """The first frame decoded after seeking to the keyframe at or before ``target_ms``.

        Containers without an index (MPEG-TS) seek by bisecting bytes and may land on the
        keyframe after the target, or nowhere; then seek again earlier, further back each time.
        """
        back_ms = 0.0
        while True:
            seek_ms = max(0.0, target_ms - back_ms)
            try:
                self._container.seek(
                    int((seek_ms / 1000.0 + self._start) / self._base),
                    stream=self._stream,
                    backward=True,
                    any_frame=False,
                )
            except av.error.FFmpegError:
                logger.debug("PyAV could not seek to %.0f ms", seek_ms)
                return None
            self._frames = self._decode()
            self.position_ms = -math.inf
            frame = self._next()
            if (frame is not None and self.position_ms <= target_ms + tolerance) or seek_ms == 0.0:
                return frame
            # Landed past the target, or at the end of an index-less file: start earlier.
            back_ms = max(1000.0, back_ms * 2)

    def frame_at(self, target_ms: float, *, earliest_ms: float) -> tuple[np.ndarray, int] | None:
        """The first frame from ``earliest_ms`` on at or before ``target_ms``, or the frame shown
        at ``target_ms``, with its real timestamp in ms; None when nothing decodes there."""
        self.attempts += 1
        tolerance = self._frame_ms / 2
        ahead = target_ms - self.position_ms
        if self._frames is None or not (0 < ahead <= self._near_ms):
            frame = self._seek(target_ms, tolerance)
        else:
            frame = self._next()
        while frame is not None and self.position_ms < min(earliest_ms, target_ms) - tolerance:
            frame = self._next()
        if frame is None:
            self.position_ms = -math.inf
            self._frames = None
            return None
        return frame.to_ndarray(format="bgr24"), round(self.position_ms)


class _Reader:
    """One decoding VideoCapture that seeks only when reading on would cost more."""

    def __init__(self, name: str, header: _Header, meta: VideoMeta) -> None:
        self._cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise FrameError(_UNREADABLE)
        self._seekable = header.seekable
        self._frame_ms = 1000.0 / meta.fps if meta.fps > 0 else 40.0
        # A seek decodes at least 17 frames, so a target closer than that is read on to.
        self._near_ms = _KEYFRAME_OFFSET_FRAMES * 1000.0 / header.fps if header.fps > 0 else 0.0
        self.position_ms = -math.inf  # the frame last decoded
        self.attempts = 0
        self.decoded = 0

    def close(self) -> None:
        self._cap.release()

    def frame_at(self, target_ms: float, *, earliest_ms: float) -> tuple[np.ndarray, int] | None:
        """A decoded frame and its real timestamp in ms, or None.

        After a seek, any frame from ``earliest_ms`` on is taken (a seek aimed just past a
        keyframe lands a little after it); when reading on, the frame shown at ``target_ms``.
        """
        self.attempts += 1
        tolerance = self._frame_ms / 2
        ahead = target_ms - self.position_ms
        read_on = ahead > 0 and (self.position_ms >= earliest_ms - tolerance or ahead <= self._near_ms)
        if self._seekable and not read_on:
            self._cap.set(cv2.CAP_PROP_POS_MSEC, target_ms)
            ok, frame = self._cap.read()
            if not ok or frame is None or frame.size == 0:
                logger.debug("No frame after seeking to %.0f ms", target_ms)
                self.position_ms = -math.inf
                return None
            self.position_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            if self.position_ms >= earliest_ms - tolerance:
                self.decoded += 1
                return frame, round(self.position_ms)
            # The seek fell short (a frame count that is too small clamps OpenCV's seeks): read
            # on rather than return a frame from somewhere else.
        while self.position_ms < target_ms - tolerance:
            if not self._cap.grab():  # decodes without the colour conversion retrieve() does
                return None
            self.decoded += 1
            self.position_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        ok, frame = self._cap.retrieve()
        if not ok or frame is None or frame.size == 0:
            return None
        self.decoded += 1
        return frame, round(self.position_ms)


# ---------------------------------------------------------------------------------------------
# Judging and encoding


@dataclass(frozen=True)
class _Measures:
    timestamp_ms: int
    dhash: int
    brightness: float
    contrast: float
    sharpness: float


def _assess(frame: np.ndarray, timestamp_ms: int, taken: Sequence[int]) -> _Measures | None:
    """The measures of a good frame, or None when it is dark, washed out, flat, blurred or a repeat.

    All on a small grey copy, cheapest check first: a rejected frame costs about a millisecond.
    """
    small = _gray_small(_to_gray(frame))
    brightness = float(small.mean())
    contrast = float(small.std())
    if not MIN_BRIGHTNESS <= brightness <= MAX_BRIGHTNESS or contrast < MIN_CONTRAST:
        logger.debug("Rejected %d ms: brightness %.0f, contrast %.1f", timestamp_ms, brightness, contrast)
        return None
    sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
    if sharpness < MIN_SHARPNESS:
        logger.debug("Rejected %d ms: sharpness %.1f", timestamp_ms, sharpness)
        return None
    digest = _dhash_small(small)
    if any(hamming(digest, other) <= DUPLICATE_DISTANCE for other in taken):
        logger.debug("Rejected %d ms: a near-duplicate", timestamp_ms)
        return None
    return _Measures(
        timestamp_ms=timestamp_ms,
        dhash=digest,
        brightness=round(brightness, 2),
        contrast=round(contrast, 2),
        sharpness=round(sharpness, 2),
    )


def _encode(frame: np.ndarray, measures: _Measures, thumb_width: int) -> Still:
    """JPEG, WebP thumbnail and palette of an accepted frame (about 8 ms at 480p, mostly WebP)."""
    height, width = frame.shape[:2]
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    thumb = _shrink(frame, max(1, thumb_width))
    ok_thumb, webp = cv2.imencode(".webp", thumb, [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])
    if not ok or not ok_thumb:
        raise FrameError("A frame of this video could not be saved as an image.")
    return Still(
        timestamp_ms=measures.timestamp_ms,
        width=width,
        height=height,
        jpeg=jpeg.tobytes(),
        thumbnail=webp.tobytes(),
        thumbnail_ext="webp",
        dhash=measures.dhash,
        brightness=measures.brightness,
        contrast=measures.contrast,
        sharpness=measures.sharpness,
        palette=_palette(thumb),
    )


def _palette(bgr: np.ndarray, k: int = PALETTE_SIZE) -> tuple[str, ...]:
    """``k`` dominant colours by k-means on a 48 px wide copy, the most common first."""
    pixels = _shrink(bgr, _PALETTE_WIDTH).reshape(-1, 3).astype(np.float32)
    # k-means++ seeding with a fixed seed, then cv2.kmeans from those labels: the same frame
    # always gets the same palette (cv2's own seeding draws from a global random state).
    gen = np.random.default_rng(0)
    centres = np.empty((k, 3), dtype=np.float32)
    centres[0] = pixels[gen.integers(len(pixels))]
    nearest = ((pixels - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        total = float(nearest.sum())
        centres[j] = pixels[gen.choice(len(pixels), p=nearest / total)] if total > 0 else centres[0]
        nearest = np.minimum(nearest, ((pixels - centres[j]) ** 2).sum(axis=1))
    labels = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 0.5)
    labels = labels.astype(np.int32).reshape(-1, 1)
    _compactness, labels, centres = cv2.kmeans(pixels, k, labels, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    counts = np.bincount(labels.ravel(), minlength=k)
    order = np.argsort(-counts, kind="stable")
    return tuple(_hex(centres[j]) for j in order)


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (min(255, max(0, round(float(v)))) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def _gray_small(gray: np.ndarray) -> np.ndarray:
    """A fixed-width grey copy, so measures mean the same at any source resolution."""
    height, width = gray.shape[:2]
    if width < _SHARPNESS_WIDTH:
        return cv2.resize(gray, (_SHARPNESS_WIDTH, max(1, round(height * _SHARPNESS_WIDTH / width))))
    return _shrink(gray, _SHARPNESS_WIDTH)


def _shrink(image: np.ndarray, width: int) -> np.ndarray:
    """Downscale to ``width`` (never up), low-pass filtered so fine detail does not alias.

    Halving with pyrDown first is several times faster than one INTER_AREA resize by a
    fractional factor (14 ms from 1080p to 400 px wide), which only does the last step.
    """
    height, current = image.shape[:2]
    if current <= width:
        return image
    while current >= 2 * width:
        image = cv2.pyrDown(image)
        height, current = image.shape[:2]
    if current == width:
        return image
    return cv2.resize(image, (width, max(1, round(height * width / current))), interpolation=cv2.INTER_AREA)


def _dhash_small(small: np.ndarray) -> int:
    tiny = cv2.resize(small, (9, 8), interpolation=cv2.INTER_AREA)
    bits = (tiny[:, :-1] > tiny[:, 1:]).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
