"""Stills worth keeping from a local video file: the only module that imports PyAV and OpenCV.

Plain functions on paths and arrays, no Django, so the adapter can be tested on real videos and
swapped without touching the pipeline.

How a selection is made (issue 13; the figures come from tests/bench/bench_scenes.py and the
labelled videos of tests/scenes.py):

1. Candidates. A fixed number of points (four per frame asked for or already taken, 24 to 96,
   whatever the length) spread over the whole video. At each, PyAV seeks to the keyframe
   before it, reads that keyframe's packet and, unless another point took it, decodes that
   keyframe alone (``skip_frame = "NONKEY"``): the cheapest frame there is. A point whose
   keyframe is taken uses the next keyframe; failing that (a short video, long GOPs) it is
   decoded exactly, going on from the previous point when that one was decoded so too (one
   pass through a GOP, not one per point), within a budget of decoded frames shared out along
   the video.
2. Judging, on a 256 px wide copy that swscale makes while converting: exposure, contrast, the
   variance of the Laplacian, Hasler and Süsstrunk's colourfulness, and a signature. Only
   black, flat, white and edgeless frames are refused outright, so a dark star field with real
   detail is kept; blur is judged against the other frames of the same scene (an out-of-focus
   pattern measures as sharp as a soft micrograph in focus).
3. Scenes. Candidates are taken best-looking first; one is a new scene only when it is not a
   near-duplicate (similarity() >= SIMILAR) of a scene already found, and it is kept unless
   the video already has a frame of that scene (``avoid``). So a blurred or faded copy loses
   to the sharp frame of its scene, N stills show N scenes when the video has them, and "pull
   more" finds only new ones. A frame far less detailed than the video's typical one also
   looks at the keyframes either side of it, for a sharper frame of its scene. Before a frame
   is kept, the frame 4 after it is the still, and it must be steady on both sides: from the
   candidate to it, and from it to the frame 4 after it (and 4 further, when a change is
   large), so it is in no fade or cross-fade, not even at the start of one (see _settled). A
   frame the camera moved from (a fast pan or turn) is compared once moved back.
4. Encoding only what is kept, each still as soon as it is kept, on two threads while the
   next ones are decoded: a JPEG, a JPEG thumbnail that swscale scales from the decoded frame, and a
   palette by k-means on a colour histogram, not on the pixels (the WebP thumbnail and the
   k-means palette on pixels were 56% of the old extractor's time; JPEG is 16 times cheaper
   than WebP at 400 px, with a better PSNR and 1.8 times the bytes).

Memory does not grow with the length: a fixed number of candidates, of which only the 256 px
copies are kept, and at most HELD_PIXELS of decoded frames; other full-size frames are decoded
again for the stills kept.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import os
import random
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import BinaryIO

import av
import cv2
import numpy as np

# The signature's format and the measure live in the gallery, which ranks "more like this" by it.
from gallery.similarity import GRID as _GRID
from gallery.similarity import Descriptor as _Descriptor
from gallery.similarity import descriptor_similarity, descriptors_alike
from gallery.similarity import unpack as _unpack

from . import containers

logger = logging.getLogger(__name__)

# --- Candidates ------------------------------------------------------------------------------
MIN_CANDIDATES = 24
MAX_CANDIDATES = 96
CANDIDATES_PER_FRAME = 4  # per frame asked for and per frame the video already has
# Frames decoded beyond the keyframes, for points that share one (a short video, long GOPs),
# and how far past its keyframe such a point may be.
EXACT_BUDGET_FRAMES = 450
EXACT_REACH_MS = 2500.0
# Decoded frames held for candidates decoded exactly, so a kept one is not decoded again from its
# keyframe (up to 2.5 s of frames): at most this many pixels, 75 MB of 4:2:0 frames, whatever the
# length (every such candidate of a 480p video, eight at 1080p).
HELD_PIXELS = 50_000_000
# A still must not be in a fade or a cross-fade: it is the frame this many after its candidate,
# and its change from the candidate and to the frame this many after it are judged (see
# _settled and _steady). Measured at 64x36 on the labelled videos: a fade changes the mean
# brightness by 14-90% of itself over these frames; a cross-fade changes by 0.25-0.7 of the
# contrast (mean absolute difference over standard deviation), steadily (the correlation of
# one change with the next 0.83-0.97); a slow pan or zoom changes by 0.17 at most, a spinning
# test pattern by 0.37 but with a correlation near 0.
STEADY_FRAMES = 4
STEADY_BRIGHTNESS = 0.02
STEADY_CHANGE = 0.2
STEADY_BLEND = 0.6
# A frame moved from the one STEADY_FRAMES before it (a pan) is judged on what both show, once
# moved back (see _steady_when_aligned): when phase correlation finds the move this clearly,
# and the move is at most this share of the frame.
PAN_RESPONSE = 0.1
PAN_REACH = 0.34

# --- Quality ---------------------------------------------------------------------------------
# Measured on a 256 px wide copy, so they mean the same at 360p and 4K. Absolute floors only
# for what is never worth keeping: black, a flat colour, white.
MIN_BRIGHTNESS = 8.0  # the hubble deep field averages 19 and is kept
MAX_BRIGHTNESS = 245.0
MIN_CONTRAST = 6.0  # luma standard deviation: a flat colour is below 3
MIN_SHARPNESS = 2.0  # variance of the Laplacian: no edge at all (a soft micrograph measures 7)
# A frame with less than this share of the video's typical detail (sharpness over contrast
# squared) may be a blurred stretch whose sharp frames went unsampled: the keyframes either side
# of it are looked at too, and a sharper frame of the same scene there is taken instead. (A
# blurred astronaut measures 0.05 of its sharp frames, a micrograph in focus 0.02 of the video.)
SUSPECT_DETAIL = 0.25

# Black bars (letterbox, pillarbox): lines at an edge whose brightest pixel is at most BAR_LUMA
# in every lit candidate, when there are at least BAR_CANDIDATES of them; a bar is at least
# BAR_MIN of the frame, and bars on both sides together at most BAR_MAX of it.
BAR_LUMA = 24
BAR_CANDIDATES = 4
BAR_MIN = 0.02
BAR_MAX = 0.8  # a 9:16 phone video in a 16:9 frame is 32% of its width

# --- Near-duplicates -------------------------------------------------------------------------
# similarity() at or above which two frames show the same scene. Chosen on 184 labelled pairs
# of tests/scenes.py (small, 1min, 3min; see tests/jobs/test_frames_scenes.py): the same scene
# (pans, zooms, holds, a scene shown twice, blurred and sharp, just after a cross-fade) scored
# 0.80 to 1.00, different photos (similar colours, either side of a cross-fade) 0.64 at most.
# The threshold sits between the two.
SIMILAR = 0.72

JPEG_QUALITY = 90
THUMB_QUALITY = 80  # JPEG: a 400 px thumbnail in about 1 ms, WebP took 6-8
PALETTE_SIZE = 5
_PALETTE_ROUNDS = 8  # k-means rounds at most: the frames tried settled in 3 to 7

_WIDTH = 256
_TINY = (64, 36)
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
# Decoders that read skip_frame once, when they open: libdav1d (AV1, as YouTube serves much of
# its video) told NONKEY for the first keyframe then skips every other frame for good, and each
# still's steadiness was judged against the next keyframe, 2 s on: no still at all was kept. For
# them only the packets sent tell keyframes apart.
_SKIP_READ_ONCE = frozenset({"libdav1d"})
# A display matrix's rotation (degrees counter-clockwise, as PyAV reads it) as cv2.rotate codes.
_ROTATIONS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
_QUARTER_TURNS = (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_90_CLOCKWISE)
_OPEN_OPTIONS = {"format_whitelist": _FORMATS, "protocol_whitelist": "file"}
_UNREADABLE = "This file is not a video we can read (it may be corrupt or in an unsupported format)."
_UNDECODABLE = "No frame could be decoded from this video (the file may be corrupt)."
_AUDIO_ONLY = "This file has no video stream (it seems to be audio only)."
_NO_LENGTH = "This video has no length (it holds a single picture at most)."
_TAIL_MS = 2000.0


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
    # The index promises much more than the file holds: the end is missing (a download cut
    # short, often by a wrong Content-Length). What is there is still readable.
    truncated: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Still:
    timestamp_ms: int  # the real presentation time of the decoded frame
    width: int
    height: int
    jpeg: bytes  # full resolution
    thumbnail: bytes
    thumbnail_ext: str  # "jpg": the file name's extension, which also sets its content type
    dhash: int  # unsigned 64-bit difference hash
    brightness: float  # mean luma 0..255
    contrast: float  # luma standard deviation
    sharpness: float  # variance of the Laplacian on a fixed-width grey downscale
    palette: tuple[str, ...]  # '#rrggbb', most dominant first
    signature: str = ""  # for similarity(): ASCII, at most 172 characters
    colourfulness: float = 0.0  # Hasler and Süsstrunk's M
    thumbnail_type: str = "image/jpeg"


@dataclass(frozen=True)
class Selection:
    """What select_stills() kept, and why it kept fewer than asked when it did."""

    stills: list[Still]
    asked: int
    scenes: int  # distinct good scenes found among the candidates (not counting ``avoid``)
    message: str  # "" when every frame asked for was kept


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
        with _reading(file) as source:  # type: ignore[arg-type]
            return _container_type(source)
    finally:
        file.seek(position)  # type: ignore[union-attr]


def _container_type(source: str | BinaryIO) -> str:
    try:
        container = av.open(source, options=_OPEN_OPTIONS)
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise FrameError(_UNREADABLE) from exc
    with container:
        return _type_of(container, _video_stream(container))


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first real video stream; FrameError when there is none."""
    videos = [
        stream
        for stream in container.streams.video
        # Cover art of a song is a one-picture "video" stream.
        if not stream.disposition & av.stream.Disposition.attached_pic
    ]
    if not videos:
        raise FrameError(_AUDIO_ONLY if container.streams.audio else _UNREADABLE)
    return videos[0]


def _type_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> str:
    demuxer = container.format.name
    if demuxer.startswith("mov,"):
        return "video/quicktime" if container.metadata.get("major_brand") == "qt  " else "video/mp4"
    if demuxer.startswith("matroska"):
        return "video/webm" if stream.codec_context.name in _WEBM_CODECS else "video/x-matroska"
    return _CONTENT_TYPES.get(demuxer, "application/octet-stream")


def probe(path: str | os.PathLike[str] | BinaryIO) -> VideoMeta:
    """Size, length and frame rate of a video; FrameError with a readable message if it has none.

    The duration is measured from the last packets rather than trusted from the headers, which
    streamed WebM and Matroska files (browser recordings, live captures) often lack. ``path``
    may also be a seekable binary file (the HTTP range reader): it is read from its start. The
    size is as players show it: a phone's portrait video, stored as turned landscape frames, is
    taller than wide.
    """
    with _reading(path) as source, _open(source) as container:
        stream = _video_stream(container)
        _prefetch_tail(source, container, stream)
        meta = _measure(container, stream)
        kind = _type_of(container, stream)
        container.seek(0)
        first = _first_frame(container, stream)
        if first is None:
            raise FrameError(_UNDECODABLE)
    if _turn(first) in _QUARTER_TURNS:  # a phone's portrait video: its size as shown
        meta = replace(meta, width=meta.height, height=meta.width)
    return replace(meta, content_type=kind)


def select_stills(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    count: int,
    meta: VideoMeta | None = None,
    avoid: Sequence[str] = (),
    known_hashes: Sequence[int] = (),
    rng: random.Random | None = None,
    edge_fraction: float = 0.0,
    thumb_width: int = 400,
    on_progress: Callable[[int, int], None] | None = None,
) -> Selection:
    """Up to ``count`` good stills of different scenes, in time order, and a plain reason when fewer.

    ``avoid``: signatures of the frames the video already has ("pull more frames"): nothing
    kept is a near-duplicate of them. ``known_hashes``: dHashes of older frames stored without
    a signature, avoided by hash distance. Fewer stills than asked is a normal result (an
    all-black video gives none); FrameError means the file cannot be read at all. Pass the
    ``meta`` from probe() to skip measuring again; ``edge_fraction`` of the length is skipped
    at each end.
    """
    if count <= 0:
        return Selection([], count, 0, "")
    if not 0 <= edge_fraction < 0.5:
        raise ValueError("edge_fraction must be in [0, 0.5)")
    # Not for security: the points only need to differ between runs.
    rng = rng or random.Random()
    # Each still is encoded as soon as it is kept, while the next candidates decode: OpenCV's
    # JPEG encoder and PyAV's decoder both release the GIL, so the encoding mostly leaves the
    # critical path (it was a quarter of the time on a 10-minute video).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stills") as pool:
        encoding: dict[int, Future[Still]] = {}

        def encode(k: _Kept) -> None:
            if k.frame is not None:
                encoding[k.timestamp_ms] = pool.submit(_encode, k)

        with _reading(path) as source, _open(source) as container:
            stream = _video_stream(container)
            meta = meta or _measure(container, stream)
            decoder = _Decoder(container, stream, meta, thumb_width=thumb_width)
            wanted = min(MAX_CANDIDATES, max(MIN_CANDIDATES, CANDIDATES_PER_FRAME * (count + len(avoid))))
            points = _points(meta, wanted, edge_fraction, rng)
            decoder.prefetch(source, points)
            candidates = decoder.candidates(points)
            if decoder.attempts and not decoder.decoded:
                raise FrameError(_UNDECODABLE)
            decoder.crop_bars(candidates)
            kept, scenes, changing = _choose(
                candidates, decoder, count=count, avoid=avoid, known_hashes=known_hashes, on_kept=encode
            )
            kept = decoder.fetch(kept)
        stills = []
        for i, k in enumerate(kept):
            stills.append((encoding.get(k.timestamp_ms) or pool.submit(_encode, k)).result())
            if on_progress is not None:
                on_progress(i + 1, len(kept))
    why = _why(len(stills), count, scenes, bool(avoid or known_hashes), changing=changing)
    return Selection(stills, count, scenes, why)


def similarity(a: str, b: str) -> float:
    """How alike two frames look, 0 to 1, from their signatures: gallery.similarity's measure
    ("more like this" ranks by it too), with OpenCV's correlation."""
    x, y = _unpack(a), _unpack(b)
    return _similarity(x, y) if x is not None and y is not None else 0.0


def near_duplicate(a: str, b: str) -> bool:
    return similarity(a, b) >= SIMILAR


def _similarity(x: _Descriptor, y: _Descriptor, *, at_least: float = 0.0) -> float:
    return descriptor_similarity(x, y, at_least=at_least, correlate=_shifted_correlation)


def _similar(x: _Descriptor, y: _Descriptor) -> bool:
    return descriptors_alike(x, y, threshold=SIMILAR, correlate=_shifted_correlation)


def signature(image: np.ndarray) -> str:
    """The signature similarity() compares, of a BGR image of any size."""
    return _describe(cv2.resize(_small(image), _TINY, interpolation=cv2.INTER_AREA)).signature


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes; works on signed values too (a bigint column)."""
    return ((a ^ b) & _MASK64).bit_count()


def dhash(gray_or_bgr: np.ndarray) -> int:
    """64-bit difference hash: is each pixel of a 9x8 grey thumbnail brighter than its right-hand neighbour.

    Bits are row-major, the most significant first. Images are first reduced to the same
    256 px wide copy the quality checks use, so a Still's ``dhash`` equals ``dhash()`` of its frame.
    """
    image = gray_or_bgr if gray_or_bgr.ndim == 2 else cv2.cvtColor(gray_or_bgr, cv2.COLOR_BGR2GRAY)
    return _dhash(_shrink(image, _WIDTH))


# ---------------------------------------------------------------------------------------------
# Opening and measuring


class _Interrupted(Exception):
    """Stands, inside PyAV, for a SystemExit raised in a read (see _Interruptible)."""


class _Interruptible:
    """A file object for PyAV that lets a SystemExit or KeyboardInterrupt through.

    PyAV calls ``read`` and ``seek`` from FFmpeg's C code and passes on only an ``Exception``
    raised there; anything else (django-q's TimeoutException is a SystemExit, raised by the
    SIGALRM of Q_TIMEOUT in whatever the worker was doing, often a read of the HTTP range
    reader) goes to Cython's "unraisable" handler, which for a SystemExit ends the process at
    once: the job would stay "running", its video held, until the reaper. So the interruption
    is kept, PyAV gets an ordinary exception (and again on every later call, so it stops), and
    ``_reading`` raises the interruption itself when PyAV is done.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.interruption: BaseException | None = None

    def _call(self, fn: Callable[..., object], *args: object) -> object:
        if self.interruption is not None:
            raise _Interrupted
        try:
            return fn(*args)
        except Exception:
            raise
        except BaseException as exc:
            self.interruption = exc
            raise _Interrupted from exc

    def read(self, n: int = -1) -> bytes:
        return self._call(self._raw.read, n)  # type: ignore[return-value]

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._call(self._raw.seek, offset, whence)  # type: ignore[return-value]

    def tell(self) -> int:
        return self._call(self._raw.tell)  # type: ignore[return-value]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def prefetch(self) -> Callable[..., object]:
        """The reader's own prefetch, when it has one (the range reader's): called from Python,
        not from FFmpeg, so an interruption there needs no keeping."""
        fetch = getattr(self._raw, "prefetch", None)
        if fetch is None:
            raise AttributeError("prefetch")
        return fetch


@contextlib.contextmanager
def _reading(path: str | os.PathLike[str] | BinaryIO) -> Iterator[str | BinaryIO]:
    """The path as FFmpeg opens it, or the file object wrapped so that a SystemExit raised
    while PyAV reads it (a task's timeout) still ends the call as a SystemExit."""
    if not hasattr(path, "read"):
        yield os.fspath(path)  # type: ignore[arg-type]
        return
    wrapper = _Interruptible(path)  # type: ignore[arg-type]
    try:
        yield wrapper  # type: ignore[misc]
    except BaseException:
        if wrapper.interruption is not None:
            raise wrapper.interruption from None
        raise
    if wrapper.interruption is not None:
        # PyAV took the failed read for the end of the file and carried on.
        raise wrapper.interruption


def _open(name: str | BinaryIO) -> av.container.InputContainer:
    if isinstance(name, str):
        try:
            size = os.path.getsize(name)
        except OSError as exc:
            raise FrameError("The video file could not be found.") from exc
    else:
        # A file object (the range reader): PyAV reads it from where it stands.
        size = name.seek(0, os.SEEK_END)
        name.seek(0)
    if size == 0:
        raise FrameError("This file is empty.")
    try:
        container = av.open(name, metadata_errors="ignore", options=_OPEN_OPTIONS)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise FrameError(_UNREADABLE) from exc
    try:
        stream = _video_stream(container)
        if not stream.codec_context.width or not stream.codec_context.height:
            raise FrameError(_UNREADABLE)
    except FrameError:
        container.close()
        raise
    return container


def _start_s(stream: av.video.stream.VideoStream) -> float:
    # Timestamps count from the start of the stream, as players and YouTube's do (an MPEG-TS
    # often starts at 1.4 s).
    return float((stream.start_time or 0) * stream.time_base)


def _seekable(container: av.container.InputContainer) -> bool:
    # A WebM written to a pipe has no duration and no cues: seeking in it silently fails.
    return container.duration is not None and container.duration > 0


def _measure(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoMeta:
    """VideoMeta with the duration and frame rate the packets show, whatever the headers say."""
    base = float(stream.time_base)
    start = _start_s(stream)
    claimed_ms = (container.duration or 0) / 1000.0
    from_start = True
    fell_back = False
    try:
        if _seekable(container) and claimed_ms > _TAIL_MS:
            # Only the tail is read: a seek lands on the keyframe before the point asked.
            at = (claimed_ms - _TAIL_MS) / 1000.0 + start
            container.seek(int(at / base), stream=stream, backward=True)
            from_start = False
        count, first_ms, last_ms = _span(container, stream, base, start)
        if count == 0 and not from_start:
            # The headers promise more than the file holds (a truncated download): read it all.
            container.seek(0)
            from_start = fell_back = True
            count, first_ms, last_ms = _span(container, stream, base, start)
    except av.error.FFmpegError as exc:
        raise FrameError(_UNREADABLE) from exc
    if count == 0:
        raise FrameError(_UNDECODABLE)
    if from_start and count < 2:
        raise FrameError(_NO_LENGTH)
    rate = float(stream.average_rate or stream.guessed_rate or 0)
    measured = (count - 1) * 1000.0 / (last_ms - first_ms) if count > 1 and last_ms > first_ms else 0.0
    # Some WebM files report their 1 kHz timebase as the frame rate.
    if measured > 0 and (rate <= 0 or not 0.5 <= rate / measured <= 2.0):
        rate = measured
    if rate <= 0:
        raise FrameError(_NO_LENGTH)
    duration_ms = last_ms + 1000.0 / rate
    if claimed_ms and abs(claimed_ms - duration_ms) > max(1000.0, 0.05 * duration_ms):
        logger.info("Headers say %.0f ms, packets say %.0f ms", claimed_ms, duration_ms)
    width, height = stream.codec_context.width, stream.codec_context.height
    truncated = fell_back and claimed_ms - duration_ms > max(1000.0, 0.05 * claimed_ms)
    return VideoMeta(
        duration_ms=round(duration_ms), width=width, height=height, fps=round(rate, 3), truncated=truncated
    )


def _prefetch_tail(source: str | BinaryIO, container: av.container.InputContainer,
                   stream: av.video.stream.VideoStream) -> None:  # fmt: skip
    """Tell a reader that can fetch ahead (the range reader) the bytes _measure reads at the
    end, from the container's index: one parallel fetch instead of a read-ahead that grows a
    request at a time."""
    fetch = getattr(source, "prefetch", None)
    claimed_ms = (container.duration or 0) / 1000.0
    if fetch is None or not _seekable(container) or claimed_ms <= _TAIL_MS:
        return
    entries = stream.index_entries
    at = int(((claimed_ms - _TAIL_MS) / 1000.0 + _start_s(stream)) / float(stream.time_base))
    i = entries.search_timestamp(at, backward=True)
    # A fragmented mp4's index grows as its fragments are read: it may not reach the end yet;
    # its sidx (a WebM's Cues) says where the fragment (cluster) of that time starts.
    if i < 0 or entries[i].pos < 0 or entries[len(entries) - 1].timestamp < at:
        index = containers.key_index(source, track=stream.id, calibrate=False)  # type: ignore[arg-type]
        k = index.at(at * float(stream.time_base)) if index is not None else -1
        if index is not None and k >= 0:
            fetch([(index.keyframes[k].start, index.keyframes[-1].stop - 1)])
        return
    end = max((entries[j].pos + entries[j].size - 1 for j in range(i, len(entries))), default=-1)
    if end > entries[i].pos:
        fetch([(entries[i].pos, end)])


def _span(container: av.container.InputContainer, stream: av.video.stream.VideoStream, base: float,
          start: float) -> tuple[int, float, float]:  # fmt: skip
    """Packets left, and the earliest and latest presentation time among them (ms from start)."""
    count, first, last = 0, math.inf, -math.inf
    for packet in _demux(container, stream):
        if packet.pts is None or packet.size == 0:
            continue
        ms = (packet.pts * base - start) * 1000.0
        count += 1
        first, last = min(first, ms), max(last, ms)
    return count, first, last


def _demux(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.Packet]:
    """container.demux(stream), ended cleanly where PyAV 18 fails: a stream that appears in the
    middle of a file (a broadcast capture whose program table changes, a damaged MPEG-TS) has no
    PyAV stream, and the empty packets demux() sends at the end for every stream look it up
    and raise IndexError. New streams come after ours, so our stream's own flush comes first."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except (StopIteration, IndexError):
            return
        yield packet


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.VideoFrame | None:
    try:
        for packet in _demux(container, stream):
            try:
                for frame in packet.decode():
                    return frame
            except av.error.FFmpegError:
                continue
    except av.error.FFmpegError:
        return None
    return None


def _points(meta: VideoMeta, wanted: int, edge: float, rng: random.Random) -> list[float]:
    """``wanted`` points (ms) spread evenly over the video, each at random in its own slot."""
    lo = meta.duration_ms * edge
    span = meta.duration_ms * (1 - 2 * edge)
    frame_ms = 1000.0 / meta.fps if meta.fps > 0 else 40.0
    wanted = max(1, min(wanted, int(span / frame_ms)))
    slot = span / wanted
    return [min(lo + (i + rng.uniform(0.15, 0.85)) * slot, lo + span - frame_ms) for i in range(wanted)]


# ---------------------------------------------------------------------------------------------
# Decoding candidates


@dataclass
class _Candidate:
    timestamp_ms: int
    small: np.ndarray  # BGR, _WIDTH wide
    keyframe: bool
    # Times and small copies of the frames STEADY_FRAMES, twice and (when _settled asks for it)
    # three times that later, when they were decoded along (exact and sequential decoding).
    # Only small copies: memory stays flat.
    later: list[tuple[int, np.ndarray]] | None = None
    # The decoded frame STEADY_FRAMES later, held while HELD_PIXELS allow: the still if this
    # candidate is kept, without decoding its GOP again.
    held: av.VideoFrame | None = None
    measures: _Measures = field(init=False)


@dataclass(frozen=True)
class _Kept:
    """A still's full-size frame (BGR), its time, its small copy and measures."""

    timestamp_ms: int
    frame: np.ndarray | None  # None until fetched (files that cannot seek: a second pass)
    small: np.ndarray
    measures: _Measures
    thumb: np.ndarray | None = None  # BGR, made with the frame


@dataclass
class _Live:
    """An exact decode in progress: the frames still to come, the keyframe they follow, and
    the last frame decoded (and its time)."""

    frames: Iterator[av.VideoFrame]
    key_ms: float
    last: av.VideoFrame | None = None
    at_ms: float = -math.inf


class _Decoder:
    """Frames of one open video: keyframes by seeking, exact frames within a budget."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 meta: VideoMeta, *, thumb_width: int = 400) -> None:  # fmt: skip
        self._container = container
        self._stream = stream
        # Frame threads would make every seek decode several frames before the first comes out.
        stream.thread_type = "SLICE"
        self._base = float(stream.time_base)
        self._start = _start_s(stream)
        self._frame_ms = 1000.0 / meta.fps if meta.fps > 0 else 40.0
        self._seekable = _seekable(container)
        self._exact_left = EXACT_BUDGET_FRAMES
        self._skips = stream.codec_context.name not in _SKIP_READ_ONCE
        # A reformatter for each kind of copy: it keeps its swscale context, which
        # frame.reformat() makes anew each call (3-10 times the cost of the conversion at 256
        # px), and so does one reformatter asked for another size or filter than the last time
        # (the small copies, full frames and thumbnails took turns: 0.8 ms a conversion).
        # Each converts on one thread: swscale's own threads (one per core unless told) cost
        # more CPU than they save on copies this size, with the decoder's slice threads on the
        # cores already. One thread made the 256 px copy of a 480p frame 0.37 -> 0.23 ms of CPU,
        # the full-size BGR frame 0.26 -> 0.16, a 1080p one 0.98 -> 0.82 (only a 4K frame's
        # wall time gained from them, 3.4 -> 2.7 ms).
        self._reformatter = av.video.reformatter.VideoReformatter()
        self._full_reformatter = av.video.reformatter.VideoReformatter()
        self._thumb_reformatter = av.video.reformatter.VideoReformatter()
        self._thumb_width = max(1, thumb_width)
        self._held_pixels = 0
        # Black bars round the picture (a letterboxed film, a phone video pillarboxed), as shares
        # of the upright frame's height and width: top, bottom, left, right (see crop_bars).
        self._bars: tuple[float, float, float, float] | None = None
        self._unsteady: set[int] = set()  # times of candidates steady() refused
        self._prefetch: Callable[[list[tuple[int, int]]], object] | None = None
        self._index: containers.KeyIndex | None = None
        self.attempts = 0
        self.decoded = 0

    def _ms(self, frame: av.VideoFrame) -> float:
        # From the stream's time base: a frame drained from the decoder carries none of its own.
        return (frame.pts * self._base - self._start) * 1000.0

    def _pts(self, ms: float, *, backward: bool = True) -> int:
        """The stream timestamp of ``ms``; for a backward seek or search, a quarter frame later.
        A time rounded to the millisecond (a candidate's), or a product truncated to an integer,
        falls just short of its own keyframe's timestamp, and the seek lands on the keyframe
        before: a whole GOP earlier (130 frames decoded instead of 5 for one still of a
        10-minute YouTube-like file, whose time base is 1/12800 s)."""
        slack = self._frame_ms / 4 if backward else 0.0
        return round(((max(0.0, ms) + slack) / 1000.0 + self._start) / self._base)

    def _seek(self, ms: float, *, backward: bool = True) -> bool:
        try:
            self._container.seek(self._pts(ms, backward=backward), stream=self._stream, backward=backward)
            self._stream.codec_context.flush_buffers()
        except av.error.FFmpegError:
            logger.debug("PyAV could not seek to %.0f ms", ms)
            return False
        return True

    def _frames(
        self, *, keyframes_only: bool, packets: Iterable[av.Packet] | None = None
    ) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position; after a seek that lands between keyframes
        (MPEG-TS) the frames before the next keyframe lack their references and are skipped.

        With ``keyframes_only`` the other packets are not even sent to the decoder, and each
        keyframe is drained out of it at once: a decoder that reorders B-frames would otherwise
        hold it back until the next keyframe, a whole GOP of packets later. After that the
        decoder must be flushed, which every seek does. ``packets``: where to read from instead of
        the current position (a packet already read, then the rest, see _landing).
        """
        context = self._stream.codec_context
        if self._skips:
            context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"
        started = False
        for packet in _demux(self._container, self._stream) if packets is None else packets:
            if keyframes_only and not packet.is_keyframe:
                continue
            try:
                decoded = packet.decode()
                if keyframes_only and not decoded and packet.size:
                    decoded = context.decode(None)
            except av.error.FFmpegError:
                continue
            for frame in decoded:
                started = started or frame.key_frame
                if started and frame.pts is not None:
                    self.decoded += 1
                    yield frame
            if keyframes_only and started:
                return  # drained: nothing more comes out until the next seek

    def _from(
        self, ms: float, *, keyframes_only: bool
    ) -> tuple[av.VideoFrame, Iterator[av.VideoFrame]] | None:
        """The keyframe at or before ``ms``, and the frames after it. Containers without an index
        (MPEG-TS) seek by bisecting bytes and may land after the point; then seek again, further
        back each time."""
        back = 0.0
        while True:
            target = max(0.0, ms - back)
            if not self._seek(target):
                return None
            frames = self._frames(keyframes_only=keyframes_only)
            first = next(frames, None)
            if first is not None and self._ms(first) <= ms + self._frame_ms / 2:
                return first, frames
            if target == 0.0:
                return None if first is None else (first, frames)
            back = max(1000.0, back * 2)

    def _landing(self, ms: float, *, backward: bool = True) -> tuple[float, Iterator[av.Packet]] | None:
        """The time of the keyframe a seek to ``ms`` lands on (at or before it; with ``backward``
        false, after it if the container lands there at all), read from its packet without
        decoding it, and the packets from it on. Containers without an index (MPEG-TS) seek by
        bisecting bytes and may land after the point: a backward seek is then tried again,
        further back each time. Knowing the keyframe first spares decoding one already taken."""
        back = 0.0
        while True:
            target = max(0.0, ms - back)
            if not self._seek(target, backward=backward):
                return None
            packets = _demux(self._container, self._stream)
            try:
                first = next((p for p in packets if p.is_keyframe and p.pts is not None and p.size), None)
            except av.error.FFmpegError:
                return None
            at = (first.pts * self._base - self._start) * 1000.0 if first is not None else math.inf
            if not backward:
                return (at, itertools.chain([first], packets)) if first is not None and at > ms else None
            if first is not None and (at <= ms + self._frame_ms / 2 or target == 0.0):
                return at, itertools.chain([first], packets)
            if target == 0.0:
                return None
            back = max(1000.0, back * 2)

    def _keyframe_after(self, ms: float, taken: Collection[int] = ()) -> av.VideoFrame | None:
        """The first keyframe after ``ms`` (a seek without the backward flag) unless it is one of
        ``taken``, if the container lands after it at all; MPEG-TS may land anywhere, which the
        caller's check absorbs."""
        landing = self._landing(ms, backward=False)
        if landing is None or round(landing[0]) in taken:
            return None
        frame = self._first_keyframe(landing[1])
        return frame if frame is not None and self._ms(frame) > ms else None

    def neighbours(self, candidate: _Candidate, known: Mapping[int, _Candidate]) -> list[_Candidate]:
        """The keyframes just before and just after a candidate, as candidates: those among
        ``known`` (the candidates by time) as they are, the others decoded. The keyframe's time
        is read from its packet first, so a keyframe already judged is not decoded again (on
        the 3-minute labelled video, the neighbours of blurred frames were candidates already
        nearly every time)."""
        if not self._seekable:
            return []
        found: list[_Candidate | None] = []
        before = self._landing(candidate.timestamp_ms - self._frame_ms)
        if before is not None and round(before[0]) < candidate.timestamp_ms:
            found.append(known.get(round(before[0])) or self._keyframe_of(before[1]))
        after = self._landing(candidate.timestamp_ms + self._frame_ms / 2, backward=False)
        if after is not None:
            found.append(known.get(round(after[0])) or self._keyframe_of(after[1]))
        return [c for c in found if c is not None]

    def _keyframe_of(self, packets: Iterator[av.Packet]) -> _Candidate | None:
        frame = self._first_keyframe(packets)
        return self._candidate(frame, keyframe=True) if frame is not None else None

    def _first_keyframe(self, packets: Iterator[av.Packet]) -> av.VideoFrame | None:
        """The keyframe a landing's packets start with, decoded alone."""
        return next(self._frames(keyframes_only=True, packets=packets), None)

    def _exact(self, ms: float) -> tuple[av.VideoFrame, _Ahead] | None:
        """The frame shown at ``ms`` (decoding on from the keyframe before it), and the frames
        STEADY_FRAMES, twice and three times that after it, decoded when asked for."""
        found = self._from(ms, keyframes_only=False)
        if found is None:
            return None
        shown, frames = found
        for frame in frames:
            if self._ms(frame) > ms + self._frame_ms / 2:
                return shown, _Ahead(itertools.chain([frame], frames))
            shown = frame
        return shown, _Ahead(iter(()))

    def prefetch(self, source: str | BinaryIO, points: Sequence[float]) -> None:
        """Tell a reader that can fetch ahead (the HTTP range reader's ``prefetch``) the bytes
        ``candidates`` will read: the keyframe at or before each point; when a point shares
        it, the keyframe after, or when that is taken too, the frames on to the point. From the
        container's index (an mp4's; none where the index gives no sizes, as Matroska's cues).
        It fetches them all at once, so the round trips of the seeks overlap instead of adding
        up; anything missed is read as before. A fragmented mp4 and a WebM, whose index entries
        say too little, are prefetched from their own index instead (_prefetch_indexed)."""
        fetch = getattr(source, "prefetch", None) if self._seekable else None
        self._prefetch = fetch
        if fetch is None:
            return
        self._index = containers.key_index(source, track=self._stream.id)  # type: ignore[arg-type]
        if self._index is not None:
            self._prefetch_indexed(source, self._index, points)  # type: ignore[arg-type]
            return
        entries = self._stream.index_entries
        if not len(entries):
            return
        # A fragmented mp4's index grows as its fragments are read: points past it are left.
        indexed = entries[len(entries) - 1].timestamp
        keys: dict[int, tuple[int, int]] = {}
        runs: list[tuple[int, int]] = []
        for ms in points:
            at = self._pts(ms)
            if at > indexed:
                break
            i = entries.search_timestamp(at, backward=True)
            if i in keys:  # shared with an earlier point: candidates() takes the keyframe after
                k = i + 1
                while k < len(entries) and not entries[k].is_keyframe:
                    k += 1
                if k in keys or k >= len(entries):
                    # ...unless that is taken too; then it may decode on from the keyframe
                    # to the point, and the frames after it the steadiness check looks at.
                    if (at - entries[i].timestamp) * self._base * 1000.0 <= EXACT_REACH_MS:
                        j = entries.search_timestamp(at, backward=True, any_frame=True)
                        j = min(len(entries) - 1, max(i, j) + 3 * STEADY_FRAMES + 4)
                        if entries[j].pos > entries[i].pos:
                            runs.append((entries[i].pos, entries[j].pos + entries[j].size - 1))
                    continue
                i = k
            if 0 <= i < len(entries) and entries[i].pos >= 0 and entries[i].size > 0:
                keys[i] = (entries[i].pos, entries[i].pos + entries[i].size - 1)
        if keys or runs:
            fetch([*keys.values(), *runs])

    def _prefetch_indexed(
        self, source: BinaryIO, index: containers.KeyIndex, points: Sequence[float]
    ) -> None:
        """prefetch() from the container's own index: the same keyframes, each from where the
        seek starts reading (its fragment's moof, its cluster) to its end, estimated where
        unknown; then, their headers now at hand, the rest of those the estimate fell short of,
        all at once again. Where points share a keyframe, its whole fragment: decoding on from
        point to point there goes on through the fragments (a short video is read whole)."""
        assert self._prefetch is not None
        keys: dict[int, containers.Keyframe] = {}
        runs: list[tuple[int, int]] = []
        for ms in points:
            at = self._pts(ms) * self._base
            i = index.at(at)
            if i < 0:
                continue
            if i in keys:  # as prefetch(): the keyframe after, or the frames on to the point
                if i + 1 in keys or i + 1 >= len(index.keyframes):
                    key = index.keyframes[i]
                    if (at - key.seconds) * 1000.0 <= EXACT_REACH_MS:
                        runs.append((key.start, key.stop - 1))
                    continue
                i += 1
            keys[i] = index.keyframes[i]
        guessed = list(keys.values())
        if not guessed and not runs:
            return
        self._prefetch([(k.start, index.end(k)) for k in guessed] + runs)
        placed = containers.locate(source, index, guessed)
        short = [(index.end(g) + 1, index.end(k)) for g, k in zip(guessed, placed, strict=True)]
        if any(a <= b for a, b in short):
            self._prefetch([(a, b) for a, b in short if a <= b])

    def prefetch_steady(self, best: Iterable[_Candidate], count: int) -> None:
        """Tell a reader that can fetch ahead the bytes ``steady`` will read for the best
        keyframe candidates of ``count`` different scenes (those _choose tries first): each
        keyframe and the frames after it that the steadiness check decodes."""
        fetch = self._prefetch
        if fetch is None:
            return
        entries = self._stream.index_entries
        ranges, picked = [], []
        for c in best:
            if len(picked) >= count:
                break
            if any(_similar(c.measures.descriptor, other) for other in picked):
                continue
            picked.append(c.measures.descriptor)
            if not c.keyframe or c.later is not None:
                continue
            at = self._pts(c.timestamp_ms)
            i = entries.search_timestamp(at, backward=True)
            # The frames up to three times STEADY_FRAMES on, and a few more for B-frames reordered.
            j = min(len(entries) - 1, i + 3 * STEADY_FRAMES + 4)
            if i >= 0 and entries[i].pos >= 0 and entries[j].pos > entries[i].pos and entries[j].size > 0:
                ranges.append((entries[i].pos, entries[j].pos + entries[j].size - 1))
            elif self._index is not None and (k := self._index.at(at * self._base)) >= 0:
                # Index entries without sizes (a WebM's): the cluster's bytes, estimated by time.
                later = (c.timestamp_ms + (2 * STEADY_FRAMES + 4) * self._frame_ms) / 1000.0 + self._start
                ranges.append((self._index.keyframes[k].start, self._index.span(k, later)))
        if ranges:
            fetch(ranges)

    def candidates(self, points: Sequence[float]) -> list[_Candidate]:
        """A candidate per point, in time order: the keyframe before it when no other point took
        that one (one seek, one decoded frame); else, within EXACT_REACH_MS of the keyframe and
        the budget, the frame shown at the point, decoding on from the keyframe, or on from the
        previous point while that decoding is within reach of its last keyframe (the points of
        a GOP are then read in one pass, not each from its keyframe again)."""
        if not self._seekable:
            return self._sequential(points)
        out: list[_Candidate] = []
        taken: set[int] = set()
        live: _Live | None = None
        end = points[-1] + self._frame_ms if points else 0.0
        for i, ms in enumerate(points):
            self.attempts += 1
            # The budget is shared out along the video: a point decodes exactly only while more
            # is left than the points after it are owed, so the end gets its share too.
            exact = self._exact_left > EXACT_BUDGET_FRAMES * (len(points) - i - 1) / len(points)
            if live is not None and exact and ms <= live.key_ms + EXACT_REACH_MS:
                candidate = self._decode_on(live, ms, taken, end=end)
                if candidate is not None:
                    out.append(candidate)
                    continue
            live = None
            landing = self._landing(ms)
            if landing is None:
                continue
            key_ms, packets = landing
            frame = None
            if round(key_ms) not in taken:
                frame = self._first_keyframe(packets)
            else:
                # Another point took this keyframe: the one after the point, if it is new (a
                # short scene between two keyframes close together is found so).
                frame = self._keyframe_after(ms, taken)
                if frame is not None and self._ms(frame) >= end:
                    frame = None  # past the last point: past the edge skipped, or the meta's end
            if frame is not None and round(self._ms(frame)) not in taken:
                taken.add(round(self._ms(frame)))
                out.append(self._candidate(frame, keyframe=True))
            elif round(key_ms) in taken and exact and ms - key_ms <= EXACT_REACH_MS:
                landing = self._landing(ms)
                if landing is None:
                    continue
                key_ms, packets = landing
                live = _Live(self._frames(keyframes_only=False, packets=packets), key_ms)
                candidate = self._decode_on(live, ms, taken, end=end)
                if candidate is not None:
                    out.append(candidate)
                else:
                    live = None
        return out

    def _decode_on(self, live: _Live, ms: float, taken: set[int], *, end: float) -> _Candidate | None:
        """The frame shown at ``ms``, decoding on in ``live`` (within the budget), with the frames
        steady() looks at decoded along; None when the budget or the video ends first, or when
        that frame is at ``end`` or after it.

        Points closer than the frames decoded for one are overrun: the next takes the first
        frame not yet looked at, so dense points march on, and without ``end`` past the last
        point (past the edge skipped, or the end the meta gives).
        """
        shown = live.last
        for frame in live.frames:
            self._exact_left -= 1
            if self._exact_left < 0:
                return None
            at = self._ms(frame)
            if frame.key_frame:
                live.key_ms = at
            if at > ms + self._frame_ms / 2 and shown is not None:
                if self._ms(shown) >= end:
                    return None
                ahead = list(itertools.islice(itertools.chain([frame], live.frames), 2 * STEADY_FRAMES))
                fresh = round(self._ms(shown)) not in taken
                small = self._small(shown) if fresh else None
                later = self._later(ahead) if fresh else []
                if small is not None:
                    # Decoding stops after the frame twice STEADY_FRAMES on unless _settled will
                    # look further (the next point goes on from there): most frames do not ask.
                    more = self._further(small, later, live.frames)
                    ahead += more
                    later += self._later(more)
                self._exact_left -= len(ahead) - 1
                live.key_ms = max([live.key_ms, *(self._ms(f) for f in ahead if f.key_frame)])
                live.last = ahead[-1]
                live.at_ms = self._ms(live.last)
                if small is None:
                    return None
                taken.add(round(self._ms(shown)))
                candidate = _Candidate(round(self._ms(shown)), small, bool(shown.key_frame), later)
                if later and self._held_pixels + shown.width * shown.height <= HELD_PIXELS:
                    self._held_pixels += shown.width * shown.height
                    candidate.held = ahead[STEADY_FRAMES - 1]
                return candidate
            shown = frame
        return None

    def _sequential(self, points: Sequence[float]) -> list[_Candidate]:
        """Files that cannot seek (a WebM written to a pipe): one pass, taking the first frame
        from each point on, and the frames _settled looks at kept along, as there is no going
        back for them (such files are short browser or live recordings)."""
        self._container.seek(0)
        frames = self._frames(keyframes_only=False)
        out: list[_Candidate] = []
        pending = list(points)
        for frame in frames:
            if not pending:
                break
            if self._ms(frame) < pending[0] - self._frame_ms / 2:
                continue
            self.attempts += 1
            while pending and pending[0] <= self._ms(frame) + self._frame_ms / 2:
                pending.pop(0)
            small = self._small(frame)
            later = self._later(list(itertools.islice(frames, 2 * STEADY_FRAMES)))
            later += self._later(self._further(small, later, frames))
            out.append(_Candidate(round(self._ms(frame)), small, False, later))
        self.attempts += len(pending)
        return out

    def _candidate(self, frame: av.VideoFrame, *, keyframe: bool) -> _Candidate:
        # later is None: not decoded along, steady() decodes the frames after it.
        return _Candidate(round(self._ms(frame)), self._small(frame), keyframe)

    def _later(self, ahead: Sequence[av.VideoFrame]) -> list[tuple[int, np.ndarray]]:
        """Times and small copies of every STEADY_FRAMES-th of the frames decoded after a
        candidate (the first of ``ahead`` is the one just after it); fewer at the end."""
        return [(round(self._ms(f)), self._small(f)) for f in ahead[STEADY_FRAMES - 1 :: STEADY_FRAMES]]

    @staticmethod
    def _further(
        small: np.ndarray, later: Sequence[tuple[int, np.ndarray]], frames: Iterator[av.VideoFrame]
    ) -> list[av.VideoFrame]:
        """The next STEADY_FRAMES of ``frames`` when _settled will look at the frame three
        times STEADY_FRAMES after a candidate, given the frames ``later`` once and twice that
        after it (the same call steady() makes, so the same answer); else none."""
        if len(later) < 2:
            return []
        asked = False

        def ahead(n: int) -> np.ndarray | None:
            nonlocal asked
            if n == 2:
                return later[1][1]
            asked = True
            return None

        _settled(small, later[0][1], ahead)
        return list(itertools.islice(frames, STEADY_FRAMES)) if asked else []

    def _small(self, frame: av.VideoFrame) -> np.ndarray:
        """The _WIDTH wide BGR copy everything is judged on: one swscale call scales and
        converts, far cheaper than converting the full frame first."""
        turn = _turn(frame)
        width, height = _scaled(frame, _WIDTH, turn)
        small = self._reformatter.reformat(
            frame, width=width, height=height, format="bgr24", interpolation="BILINEAR", threads=1
        )
        return _cut(_upright(small.to_ndarray(), turn), self._bars)

    def _images(self, frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray]:
        """A still's full-size BGR frame and its thumbnail, upright and never upscaled.
        swscale's area filter makes the thumbnail from the decoded frame in a fraction of a
        millisecond, a tenth of what halving and resizing the BGR frame took."""
        turn = _turn(frame)
        full = _upright(self._full_reformatter.reformat(frame, format="bgr24", threads=1).to_ndarray(), turn)
        if full.shape[1] <= self._thumb_width:
            full = _cut(full, self._bars)
            return full, full
        width, height = _scaled(frame, self._thumb_width, turn)
        thumb = self._thumb_reformatter.reformat(
            frame, width=width, height=height, format="bgr24", interpolation="AREA", threads=1
        )
        return _cut(full, self._bars), _cut(_upright(thumb.to_ndarray(), turn), self._bars)

    def crop_bars(self, candidates: Sequence[_Candidate]) -> None:
        """Find black bars round the picture on the candidates, and from now on leave them out of
        every copy: the candidates' own and those still to come, the stills and thumbnails.

        Films come letterboxed and phone videos pillarboxed: the bars made every still of such a
        video carry them, its palette start with their black, and its sharpness count their edge.
        A bar is rows (or columns) at an edge that are dark in every candidate that is not dark
        all over, so a night scene whose sky is black in some frames keeps it."""
        lit = [c.small for c in candidates if sum(cv2.mean(c.small)[:3]) / 3 >= MIN_BRIGHTNESS]
        if len(lit) < BAR_CANDIDATES:
            return
        height, width = lit[0].shape[:2]
        if any(small.shape[:2] != (height, width) for small in lit):
            return  # the picture changes size mid-video
        # A line is dark in every candidate when it is dark in the brightest of them at each
        # pixel: one pass over the copies, not one per line and candidate.
        brightest = cv2.cvtColor(lit[0], cv2.COLOR_BGR2GRAY)
        for small in lit[1:]:
            np.maximum(brightest, cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), out=brightest)
        across, down = brightest.max(axis=1), brightest.max(axis=0)
        top, bottom = _dark_run(across), _dark_run(across[::-1])
        left, right = _dark_run(down), _dark_run(down[::-1])
        rows, cols = _bars(top, bottom, height), _bars(left, right, width)
        if not any(rows + cols):
            return
        self._bars = (rows[0] / height, rows[1] / height, cols[0] / width, cols[1] / width)
        for c in candidates:
            c.small = _cut(c.small, self._bars)
            if c.later is not None:
                c.later = [(at, _cut(small, self._bars)) for at, small in c.later]

    def steady(self, candidate: _Candidate) -> _Kept | None:
        """The still for a candidate: the frame STEADY_FRAMES after it when it is steady on
        both sides (see _settled), else None.

        The frame three times STEADY_FRAMES after the candidate is decoded only when _settled
        needs it: most stills change too little to ask. A candidate found unsteady once is not
        decoded again: a keyframe can be tried as itself and then as the neighbour of a blurred
        frame (twice in a run on the 3-minute labelled video).
        """
        if candidate.timestamp_ms in self._unsteady:
            return None
        kept = self._still(candidate)
        if kept is None:
            self._unsteady.add(candidate.timestamp_ms)
        return kept

    def _still(self, candidate: _Candidate) -> _Kept | None:
        full: av.VideoFrame | None = None
        if candidate.later is not None:
            later = candidate.later
            if not later:
                return None  # the last frames of the video
            at, small = later[0]
            steady = _settled(candidate.small, small, lambda n: later[n - 1][1] if len(later) >= n else None)
        elif self._seekable:
            exact = self._exact(candidate.timestamp_ms)
            full = exact[1].frame(0) if exact is not None else None
            if exact is None or full is None:
                return None  # the last frames of the video, or a frame that no longer decodes
            at, small = round(self._ms(full)), self._small(full)
            ahead = exact[1]
            steady = _settled(candidate.small, small, lambda n: _map(self._small, ahead.frame(n - 1)))
        else:
            return None
        if not steady:
            return None
        if full is None and candidate.held is not None:
            full = candidate.held
        if full is None and self._seekable:
            exact = self._exact(at)
            full = exact[0] if exact is not None else None
            if full is None:
                return None
        image, thumb = self._images(full) if full is not None else (None, None)
        return _Kept(at, image, small, _measure_frame(small), thumb)

    def fetch(self, kept: Sequence[_Kept]) -> list[_Kept]:
        """Full-size frames for stills found in a file that cannot seek: a second pass."""
        missing = sorted({k.timestamp_ms for k in kept if k.frame is None})
        if not missing:
            return list(kept)
        found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._container.seek(0)
        for frame in self._frames(keyframes_only=False):
            at = round(self._ms(frame))
            if at in missing:
                found[at] = self._images(frame)
            if at >= missing[-1]:
                break
        out = []
        for k in kept:
            images = (k.frame, k.thumb) if k.frame is not None else found.get(k.timestamp_ms)
            if images is None:
                raise FrameError(_UNDECODABLE)
            out.append(_Kept(k.timestamp_ms, images[0], k.small, k.measures, images[1]))
        return out


class _Ahead:
    """The frames STEADY_FRAMES (0), twice (1) and three times that (2) after a frame, decoded
    when first asked for."""

    def __init__(self, frames: Iterator[av.VideoFrame]) -> None:
        self._frames = frames
        self._found: list[av.VideoFrame] = []

    def frame(self, i: int) -> av.VideoFrame | None:
        while len(self._found) <= i:
            found = next(itertools.islice(self._frames, STEADY_FRAMES - 1, None), None)
            if found is None:
                return None  # the end of the video
            self._found.append(found)
        return self._found[i]


def _turn(frame: av.VideoFrame) -> int | None:
    """The cv2.rotate code that shows the frame as players do, None when it is upright.

    Phones record portrait video as landscape frames with a display matrix saying "turn this
    90 degrees" (stream side data, which FFmpeg hands on to every frame it decodes, after a seek
    too): without it every still of such a video lay on its side. Mirroring, which no camera
    writes, is left.
    """
    return _ROTATIONS.get(round(frame.rotation) % 360)


def _scaled(frame: av.VideoFrame, width: int, turn: int | None) -> tuple[int, int]:
    """The size to scale the decoded frame to so that it is ``width`` wide as shown."""
    sideways = turn in _QUARTER_TURNS
    shown_w, shown_h = (frame.height, frame.width) if sideways else (frame.width, frame.height)
    height = max(1, round(shown_h * width / shown_w))
    return (height, width) if sideways else (width, height)


def _upright(image: np.ndarray, turn: int | None) -> np.ndarray:
    return image if turn is None else cv2.rotate(image, turn)


def _cut(image: np.ndarray, bars: tuple[float, float, float, float] | None) -> np.ndarray:
    """The image without its bars (shares of its height and width), contiguous for OpenCV."""
    if bars is None:
        return image
    height, width = image.shape[:2]
    top, bottom = round(bars[0] * height), height - round(bars[1] * height)
    left, right = round(bars[2] * width), width - round(bars[3] * width)
    return np.ascontiguousarray(image[top:bottom, left:right])


def _bars(start: int, end: int, size: int) -> tuple[int, int]:
    """The dark lines at both ends of one side, when they are bars; else none."""
    return (start, end) if BAR_MIN * size <= max(start, end) and start + end <= BAR_MAX * size else (0, 0)


def _dark_run(maxima: np.ndarray) -> int:
    """How many lines from the start are black all along (their brightest pixel at most
    BAR_LUMA), plus one: the line where the picture starts is a blend of the two."""
    lit = np.flatnonzero(maxima > BAR_LUMA)
    run = int(lit[0]) if len(lit) else len(maxima)
    return run + 1 if 0 < run < len(maxima) else run


def _map(fn: Callable[[av.VideoFrame], np.ndarray], frame: av.VideoFrame | None) -> np.ndarray | None:
    return fn(frame) if frame is not None else None


def _settled(small: np.ndarray, still: np.ndarray, ahead: Callable[[int], np.ndarray | None]) -> bool:
    """Whether a still, the frame STEADY_FRAMES after its candidate (``small``), is in no fade
    or cross-fade: steady from the candidate to it, which passes over the last frames of a
    fade-in, and steady from it to the frame STEADY_FRAMES after it. ``ahead(n)`` is the frame
    n times STEADY_FRAMES after the candidate (2 or 3), None past the end of the video.

    Both sides, because a still just inside the start of a fade-out or a cross-fade looks like
    the shot before it (the first frame of a cross-fade is that shot alone): only the frames
    after it show the change. Judged on the candidate and the still alone, such stills passed
    at every fade-out and cross-fade of tests/scenes.py's small video (6 candidates, stills 0
    to 2 frames in) and 11 times in its 3-minute one; "pull more" on the small video kept one
    about once in 50 runs.
    """
    ahead = functools.cache(ahead)
    if not _steady(small, still, lambda: ahead(2)):
        return False
    following = ahead(2)
    if following is None:
        return False  # the last frames of the video: what follows the still cannot be seen
    return _steady(still, following, lambda: ahead(3))


def _steady(small: np.ndarray, later: np.ndarray, after: Callable[[], np.ndarray | None]) -> bool:
    """Whether a frame is not in a fade or a blend of two shots (a cross-fade), from it, the
    frame STEADY_FRAMES after it (``later``) and, only when the change to it is large, the one
    twice STEADY_FRAMES after it (``after()``, None at the end of the video).

    A fade changes the mean brightness. A cross-fade changes every pixel in the same direction
    at a steady rate, so the change over the next few frames correlates with the change over
    the few after (0.83-0.97 on the labelled videos); motion, even fast, moves edges elsewhere
    (about 0 for a spinning pattern).
    """
    now, then = _tiny_grey(small), _tiny_grey(later)
    faded, calm = _change(now, then)
    if not faded and calm:
        return True
    if _steady_when_aligned(now, then):
        return True  # the camera moved (a pan, a turn), nothing faded
    if faded:
        return False
    first = then - now
    last = after()
    if last is None:
        return False  # changing at the very end of the video: no way to tell
    second = _tiny_grey(last) - then
    if float(first.std()) == 0.0 or float(second.std()) == 0.0:
        return True
    return float(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < STEADY_BLEND


def _steady_when_aligned(now: np.ndarray, then: np.ndarray) -> bool:
    """Whether ``then`` is ``now`` moved, the camera panning or turning, and steady once moved
    back: the brightness and change checks of _steady on the part both frames show.

    A fast pan brings new parts of the picture in from one side: the mean brightness changes by
    more than a fade's threshold and every pixel changes, so a game world's camera turn or a
    travel video's pan (750 px a second at 480p) was refused as a fade at every candidate.
    Phase correlation finds the move at 64x36 in microseconds. A fade or a cross-fade does not
    move: moved back, its change is all still there (and a fade while panning keeps its change
    of brightness)."""
    # Copies: OpenCV 5.0's phaseCorrelate windows its inputs in place.
    (dx, dy), response = cv2.phaseCorrelate(now.copy(), then.copy(), _window())
    height, width = now.shape
    if response < PAN_RESPONSE or math.hypot(dx, dy) < 0.5:
        return False  # no move: _steady's own checks
    if abs(dx) > PAN_REACH * width or abs(dy) > PAN_REACH * height:
        return False
    # Moved back: then(x) = now(x - d), so now(x) = then(x + d), which warpAffine makes of -d.
    back = cv2.warpAffine(
        then, np.float32([[1, 0, -dx], [0, 1, -dy]]), (width, height), flags=cv2.INTER_LINEAR
    )
    mx, my = math.ceil(abs(dx)) + 1, math.ceil(abs(dy)) + 1
    faded, calm = _change(now[my : height - my, mx : width - mx], back[my : height - my, mx : width - mx])
    return not faded and calm


def _change(now: np.ndarray, then: np.ndarray) -> tuple[bool, bool]:
    """Whether the mean brightness changed as in a fade from ``now`` to ``then`` (tiny grey
    copies), and whether their pixels changed little, relative to the contrast."""
    brightness, contrast = float(now.mean()), float(now.std())
    faded = abs(float(then.mean()) - brightness) > STEADY_BRIGHTNESS * brightness + 0.5
    return faded, float(np.abs(then - now).mean()) <= STEADY_CHANGE * contrast + 0.5


@functools.cache
def _window() -> np.ndarray:
    return cv2.createHanningWindow(_TINY, cv2.CV_32F)


def _tiny_grey(small: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, _TINY, interpolation=cv2.INTER_AREA).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Judging


@dataclass(frozen=True)
class _Measures:
    brightness: float
    contrast: float
    sharpness: float
    highlight: float  # 99th percentile of luma: a fade dims it, a dark photo keeps its stars
    colourfulness: float
    clipped: float  # share of pixels at pure black or white
    signature: str
    descriptor: _Descriptor  # the signature unpacked: what is compared

    @property
    def detail(self) -> float:
        """Sharpness relative to contrast: the same for a frame and its faded copy, far lower when blurred."""
        return self.sharpness / (self.contrast**2 + 1.0)

    @property
    def quality(self) -> float:
        """Which of two good frames looks better: sharper, better exposed, more colourful."""
        exposure = 1.0 - abs(self.brightness - 118.0) / 118.0
        return (
            math.log1p(self.sharpness)
            + 0.5 * math.log1p(self.colourfulness)
            + 0.5 * math.log1p(self.contrast)
            + 0.5 * exposure
            - 2.0 * self.clipped
        )


def _small(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[1] < _WIDTH:
        height = max(1, round(image.shape[0] * _WIDTH / image.shape[1]))
        return cv2.resize(image, (_WIDTH, height), interpolation=cv2.INTER_LINEAR)
    return _shrink(image, _WIDTH)


def _measure_frame(small: np.ndarray) -> _Measures:
    """All a frame is judged by, from its small copy (about half a millisecond).

    The Laplacian of 8-bit luma fits in 16 bits (at most 4 * 255 either way), and meanStdDev
    sums integers exactly in doubles either way: the same variance as in floats, for less than
    half the memory traffic. The dHash is left to _dhash_of, for the few frames that need it.
    """
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mean, std = cv2.meanStdDev(grey)
    _, spread = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    tiny = cv2.resize(small, _TINY, interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist)
    descriptor = _describe(tiny)
    sig = descriptor.signature
    return _Measures(
        brightness=round(float(mean[0, 0]), 2),
        contrast=round(float(std[0, 0]), 2),
        sharpness=round(float(spread[0, 0]) ** 2, 2),
        highlight=float(np.searchsorted(cumulative, 0.99 * cumulative[-1])),
        colourfulness=round(_colourfulness(tiny), 2),
        clipped=float(hist[:3].sum() + hist[253:].sum()) / grey.size,
        signature=sig,
        # Compared as stored: the same quantised values as a signature read from the database.
        descriptor=_unpack(sig),  # type: ignore[arg-type]
    )


def _dhash_of(small: np.ndarray) -> int:
    """The dHash of a frame from its small copy: only for stills kept, and for candidates
    checked against older frames stored without a signature."""
    return _dhash(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))


def _colourfulness(bgr: np.ndarray) -> float:
    """Hasler and Süsstrunk's M: the spread and mean of the opponent colours r-g and y-b.

    One conversion of the interleaved pixels to floats, then the channels as columns: the same
    float32 arithmetic as splitting them first, without three copies.
    """
    pixels = bgr.reshape(-1, 3).astype(np.float32)
    b, g, r = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return math.hypot(float(rg.std()), float(yb.std())) + 0.3 * math.hypot(float(rg.mean()), float(yb.mean()))


def _bad(m: _Measures) -> str | None:
    """Why a frame is never worth keeping, whatever the video: black, flat, white, no edge at all."""
    if m.brightness < MIN_BRIGHTNESS:
        return "black"
    if m.brightness > MAX_BRIGHTNESS:
        return "washed out"
    if m.contrast < MIN_CONTRAST:
        return "flat"
    if m.sharpness < MIN_SHARPNESS:
        return "blurred"
    return None


def _choose(candidates: list[_Candidate], decoder: _Decoder, *, count: int, avoid: Sequence[str],
            known_hashes: Sequence[int],
            on_kept: Callable[[_Kept], None] = lambda k: None) -> tuple[list[_Kept], int, int]:  # fmt: skip
    """The best-looking frame of up to ``count`` different scenes, how many scenes there are, and
    how many good-looking candidates were turned down as changing (fades, or too near the end);
    ``on_kept`` hears of each still as soon as it is kept for good."""
    good = []
    for c in candidates:
        c.measures = _measure_frame(c.small)
        reason = _bad(c.measures)
        if reason:
            logger.debug("Rejected %d ms: %s", c.timestamp_ms, reason)
        else:
            good.append(c)
    good.sort(key=lambda c: c.measures.quality, reverse=True)
    known = [h & _MASK64 for h in known_hashes]
    existing = [d for d in map(_unpack, avoid) if d is not None]
    kept: list[_Kept] = []
    scenes: list[_Descriptor] = []  # one per scene found, kept or not
    typical = float(np.median([c.measures.detail for c in good])) if good else 0.0
    decoder.prefetch_steady(good, count)
    by_time = {c.timestamp_ms: c for c in candidates}
    changing = 0
    for c in good:
        if any(_similar(c.measures.descriptor, other) for other in scenes):
            continue  # a worse-looking frame of a scene already found
        if len(kept) < count and not _already(c.measures, c.small, existing, known):
            suspect = c.measures.detail < SUSPECT_DETAIL * typical
            options = _sharper_nearby(c, decoder, by_time) if suspect else [c]
            still = next((k for k in map(decoder.steady, options) if k is not None), None)
            if still is None:
                logger.debug("Rejected %d ms: changing (a fade or cross-fade)", c.timestamp_ms)
                changing += 1
                continue  # the scene's next best frame may be steady
            if not _already(still.measures, still.small, existing, known):
                kept.append(still)
                on_kept(still)
        scenes.append(c.measures.descriptor)
    kept.sort(key=lambda k: k.timestamp_ms)
    return kept, len(scenes), changing


def _sharper_nearby(c: _Candidate, decoder: _Decoder, known: Mapping[int, _Candidate]) -> list[_Candidate]:
    """Sharper frames of the candidate's scene at the keyframes either side of it, best first,
    then the candidate itself; ``known``: the candidates by time, measured already.

    Only for frames far less detailed than the video's typical one: the scene may be soft (a
    micrograph), or this may be its blurred stretch while its sharp frames went unsampled.
    """
    better = []
    for other in decoder.neighbours(c, known):
        if other.timestamp_ms not in known:
            other.measures = _measure_frame(other.small)
        if (
            _bad(other.measures) is None
            and other.measures.quality > c.measures.quality
            and _similar(other.measures.descriptor, c.measures.descriptor)
        ):
            better.append(other)
    better.sort(key=lambda o: o.measures.quality, reverse=True)
    return [*better, c]


def _already(m: _Measures, small: np.ndarray, existing: Sequence[_Descriptor], known: Sequence[int]) -> bool:
    """Whether the video already has a frame of this scene (by signature, or by dHash for frames
    stored before signatures)."""
    if any(_similar(m.descriptor, d) for d in existing):
        return True
    own = _dhash_of(small) if known else 0
    return any(hamming(own, h) <= 8 for h in known)


def _why(kept: int, asked: int, scenes: int, had_frames: bool, *, changing: int = 0) -> str:
    if kept >= asked:
        return ""
    asked_for = f"{asked} frame{'s' if asked != 1 else ''} you asked for"
    if kept == 0 and scenes == 0 and changing:
        # Good-looking frames, none of them steady: a clip of a few frames (a still needs a few
        # after it to show it is no fade), or one that fades or blends all along.
        return (
            "No steady moment to keep: this video is only a few frames long, or changes all the time "
            f"(fades, cross-fades), so we kept none of the {asked_for}."
        )
    if kept == 0 and scenes == 0:
        return f"No frame of this video was sharp and well exposed enough to keep, of the {asked_for}."
    if had_frames and kept == 0:
        return f"Every distinct scene of this video has a frame already: none of the {asked_for} was new."
    if had_frames:
        return (
            f"This video shows only {kept} more distinct scene{'s' if kept != 1 else ''} unlike the frames "
            f"it already has, so we kept {kept} of the {asked_for}."
        )
    return (
        f"This video shows only {scenes} distinct scene{'s' if scenes != 1 else ''}, so we kept {kept} of "
        f"the {asked_for}."
    )


# ---------------------------------------------------------------------------------------------
# Signatures: 72 bytes of 4-bit 16x9 grey thumbnail, then 32 + 16 + 8 histogram bins of a byte


def _describe(tiny: np.ndarray) -> _Descriptor:
    """The descriptor of a BGR image already reduced to _TINY."""
    grey = cv2.cvtColor(tiny, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grid = cv2.resize(grey, _GRID, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(tiny, cv2.COLOR_BGR2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
    # Both are never negative: truncating is flooring, and multiplying by 1/16 is exact, so the
    # bins are those of floor division and clipping, for a third of the numpy calls.
    relative = grey * (100.0 / (float(grey.mean()) + 1.0))
    luma = np.bincount(np.minimum((relative * 0.0625).astype(np.intp), 15).ravel(), minlength=16)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    strength = np.log1p(cv2.magnitude(gx, gy) / (float(grey.std()) + 1.0))
    edges = np.bincount(np.minimum((strength * (8 / 3)).astype(np.intp), 7).ravel(), minlength=8)
    hists = (h.astype(np.float32) / max(float(h.sum()), 1e-6) for h in (colour, luma, edges))
    return _Descriptor(grid, *hists)


def _shifted_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation of the middle of ``a`` (12x7) with any same-sized window of ``b``."""
    centre = a[1:-1, 2:-2]
    if float(centre.max()) == float(centre.min()):
        # A flat thumbnail correlates with nothing; two flat ones are alike.
        return 1.0 if float(b.max()) == float(b.min()) else 0.0
    best = float(cv2.matchTemplate(b, centre, cv2.TM_CCOEFF_NORMED).max())
    return best if math.isfinite(best) else 0.0


# ---------------------------------------------------------------------------------------------
# Encoding


def _encode(kept: _Kept) -> Still:
    """JPEG, JPEG thumbnail and palette of a kept frame (about 3 ms at 480p)."""
    frame, thumb = kept.frame, kept.thumb
    assert frame is not None and thumb is not None
    height, width = frame.shape[:2]
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    ok_thumb, thumb_jpeg = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
    if not ok or not ok_thumb:
        raise FrameError("A frame of this video could not be saved as an image.")
    m = kept.measures
    return Still(
        timestamp_ms=kept.timestamp_ms,
        width=width,
        height=height,
        jpeg=jpeg.tobytes(),
        thumbnail=thumb_jpeg.tobytes(),
        thumbnail_ext="jpg",
        dhash=_dhash_of(kept.small),
        brightness=m.brightness,
        contrast=m.contrast,
        sharpness=m.sharpness,
        palette=_palette(kept.small),
        signature=m.signature,
        colourfulness=m.colourfulness,
    )


def _palette(bgr: np.ndarray, k: int = PALETTE_SIZE) -> tuple[str, ...]:
    """``k`` colours that stand for the frame, the most common first: k-means in CIE Lab on a
    64 px copy, run on its colour histogram (4096 bins, each its pixels' mean colour and
    count) rather than on the pixels, which makes it cheap (k-means on many pixels cost 13% of
    the old extractor). Each colour is the mean of the pixels it stands for.

    The colour search finds frames by these colours, so they must cover the picture. Taking
    the fullest histogram bins instead (the last version) did not: a flat background fills one
    bin while a gradient spreads over hundreds, so skimage's colour wheel got black, white and
    three near-blacks, and no green or blue to be found by.
    """
    pixels = _shrink(bgr, 64).reshape(-1, 3).astype(np.int32)
    bins = (pixels[:, 0] >> 4) << 8 | (pixels[:, 1] >> 4) << 4 | (pixels[:, 2] >> 4)
    counts = np.bincount(bins, minlength=4096)
    filled = np.flatnonzero(counts)
    weights = counts[filled].astype(np.float32)
    sums = [np.bincount(bins, weights=pixels[:, c], minlength=4096)[filled] for c in range(3)]
    colours = (np.stack(sums, axis=1) / weights[:, None]).astype(np.float32)  # BGR, one row per filled bin
    points = cv2.cvtColor((colours / 255.0).reshape(1, -1, 3), cv2.COLOR_BGR2Lab).reshape(-1, 3)
    centres = _seeds(points, weights, k)
    label = np.full(len(points), -1)
    for _ in range(_PALETTE_ROUNDS):
        # Squared distances to every centre at once: |p|^2 - 2 p.c + |c|^2 (|p|^2 is the same
        # for every centre, so it does not change which is nearest).
        nearest = ((centres * centres).sum(axis=1) - 2.0 * points @ centres.T).argmin(axis=1)
        if np.array_equal(nearest, label):
            break  # settled: members and mass are this labelling's already
        label = nearest
        members = (label[:, None] == np.arange(len(centres))) * weights[:, None]
        mass = members.sum(axis=0)
        centres = np.where(mass[:, None] > 0, members.T @ points / np.maximum(mass, 1e-9)[:, None], centres)
    means = members.T @ colours / np.maximum(mass, 1e-9)[:, None]
    chosen = [means[i] for i in np.argsort(-mass, kind="stable") if mass[i] > 0]
    while chosen and len(chosen) < k:
        chosen.append(chosen[-1])
    return tuple(_hex(c) for c in chosen)


def _seeds(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` starting centres, the same every time: the fullest bin, then each time the
    bin whose weight times squared distance to the nearest centre so far is largest (k-means++
    without its dice). Fewer when the frame has fewer colours."""
    chosen = [int(np.argmax(weights))]
    nearest = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < k:
        score = weights * nearest
        best = int(np.argmax(score))
        if score[best] <= 0:
            break
        chosen.append(best)
        nearest = np.minimum(nearest, ((points - points[best]) ** 2).sum(axis=1))
    return points[chosen].astype(np.float32)


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (min(255, max(0, round(float(v)))) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


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


def _dhash(grey: np.ndarray) -> int:
    tiny = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA)
    bits = (tiny[:, :-1] > tiny[:, 1:]).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")
