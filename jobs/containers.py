"""Where a video's keyframes are, from its container's own index: a fragmented mp4's ``sidx``
and ``moof`` boxes, a Matroska or WebM file's Cues and clusters. Pure Python, no PyAV.

Why: to read a remote video quickly, the frames (jobs/frames.py) tell the range reader the
bytes their seeks will read, so that it fetches them all at once (jobs/ytdlp/stream.py,
``prefetch``). A plain mp4's index, which FFmpeg hands over whole, says where every sample is
and how large. The two formats streaming sites serve do not: FFmpeg learns a fragmented mp4's
samples (YouTube's DASH formats: a ``sidx`` that says where each fragment starts, then a
``moof`` and an ``mdat`` per keyframe) only as it reads each fragment's ``moof``, and a WebM's
Cues give only the cluster each keyframe is in, no size. So nothing was prefetched, and each
seek waited for its own reads (a fragment's moof, then its keyframe): 83 requests and 5.7 MB
for 12 stills of a 10-minute fragmented mp4, against 60 and 1.9 MB for the same video as a
plain mp4. Here the container's index is read (its bytes are at the start or the end of the
file, which FFmpeg has read already) into a list of keyframes: where a seek to each starts
reading, and where its keyframe ends, known when its ``moof`` or cluster header is at hand,
else estimated from the ones that are. A wrong estimate costs only a read more: what is
prefetched is a hint, and anything missing is read as before.

Everything is read through a seekable binary file (the range reader), left where it was.
Malformed or unexpected input gives None or fewer keyframes, never an exception of its own (a
read that fails raises as any read of that file does).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

logger = logging.getLogger(__name__)

# A keyframe not yet placed is assumed to take up to this many times the largest share of its
# fragment (cluster) seen so far: most come whole in the first fetch, the rest once placed.
MARGIN = 1.25
_MAX_INDEX = 8 * 1024 * 1024  # a sidx or Cues larger than this is not read (10 h of 2 s GOPs: 1 MB)
_TOP_BOXES = 64  # boxes before the first fragment (ftyp, moov, sidx, free...)

# Matroska element IDs (with their length marker bits, as written).
_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_SEEKHEAD, _SEEK, _SEEK_ID, _SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
_INFO, _TIMECODE_SCALE = 0x1549A966, 0x2AD7B1
_TRACKS, _TRACK_ENTRY, _TRACK_NUMBER, _TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x83
_CUES, _CUE_POINT, _CUE_TIME, _CUE_TRACK_POSITIONS = 0x1C53BB6B, 0xBB, 0xB3, 0xB7
_CUE_TRACK, _CUE_CLUSTER_POSITION, _CUE_RELATIVE_POSITION = 0xF7, 0xF1, 0xF0
_CLUSTER, _SIMPLE_BLOCK, _BLOCK_GROUP, _BLOCK = 0x1F43B675, 0xA3, 0xA0, 0xA1
_UNKNOWN = -1


@dataclass(frozen=True)
class Keyframe:
    seconds: float  # presentation time, as the index gives it (not counted from the stream's start)
    start: int  # the first byte a seek to it reads: its fragment's moof, its cluster
    stop: int  # the byte after its fragment or cluster (the next keyframe's start)
    head: int | None = None  # how far its own bytes begin after ``start``, when known
    size: int | None = None  # its own bytes, when known


@dataclass(frozen=True)
class KeyIndex:
    """The keyframes of one video stream, in time order, and the estimate of their ends."""

    kind: str  # "fmp4" or "matroska"
    keyframes: list[Keyframe]
    track: int  # the track's ID (mp4) or number (Matroska)
    share: float = 0.0  # a keyframe's bytes over its fragment's, the largest seen (0: none seen)
    head: int = 0  # bytes before a keyframe's own, the most seen

    def at(self, seconds: float) -> int:
        """The index of the keyframe at or before ``seconds`` (-1 before the first)."""
        lo, hi = 0, len(self.keyframes)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.keyframes[mid].seconds <= seconds:
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    def end(self, k: Keyframe) -> int:
        """The last byte of the keyframe's own bytes: known, or estimated (never past its fragment)."""
        if k.head is not None and k.size is not None:
            return k.start + k.head + k.size - 1
        head = k.head if k.head is not None else self.head
        guess = head + max(4096, int(self.share * MARGIN * (k.stop - k.start)))
        return min(k.stop, k.start + guess) - 1

    def span(self, i: int, seconds: float) -> int:
        """The last byte the frames from the ``i``-th keyframe on to ``seconds`` take, estimated
        by time (bytes come about evenly along a fragment's duration, after its keyframe's)."""
        k = self.keyframes[i]
        after = self.keyframes[i + 1].seconds if i + 1 < len(self.keyframes) else None
        if after is None or after <= k.seconds:
            return k.stop - 1
        key = self.end(k)
        fraction = min(1.0, max(0.0, (seconds - k.seconds) / (after - k.seconds)))
        return min(k.stop - 1, key + int(fraction * (k.stop - 1 - key)))


# ---------------------------------------------------------------------------------------------
# Reading


class _Peek:
    """Reads at offsets of a file (the range reader), putting its position back afterwards."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.size = 0

    def __enter__(self) -> _Peek:
        self._at = self._file.tell()
        self.size = self._file.seek(0, 2)
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.seek(self._at)

    def read(self, pos: int, n: int) -> bytes:
        if pos < 0 or n <= 0 or pos >= self.size:
            return b""
        self._file.seek(pos)
        out = b""
        while len(out) < n:
            piece = self._file.read(n - len(out))
            if not piece:
                break
            out += piece
        return out


def key_index(file: BinaryIO, *, track: int | None = None, calibrate: bool = True) -> KeyIndex | None:
    """The keyframes of a fragmented mp4 with a sidx or of a Matroska/WebM file with Cues, of
    the given track (mp4: its track ID, PyAV's ``stream.id``; Matroska: the first video track);
    None for any other file, or one whose index cannot be read. ``calibrate``: place the first
    and last keyframes exactly, for the estimates (a read each, if not read already)."""
    try:
        with _Peek(file) as peek:
            magic = peek.read(0, 8)
            if magic[:4] == _EBML.to_bytes(4, "big"):
                return _matroska(peek, calibrate)
            if magic[4:8] in (b"ftyp", b"styp"):
                return _fragmented(peek, track, calibrate)
    except (ValueError, IndexError, struct.error) as exc:
        logger.debug("Container index unreadable: %s", exc)
    return None


def locate(file: BinaryIO, index: KeyIndex, keyframes: Sequence[Keyframe]) -> list[Keyframe]:
    """The keyframes with their own bytes placed exactly, from their fragment's moof or their
    cluster's first block, read through ``file`` (best already prefetched); those that cannot
    be placed are left as they were."""
    with _Peek(file) as peek:
        return _locate(peek, index, keyframes)


def _locate(peek: _Peek, index: KeyIndex, keyframes: Sequence[Keyframe]) -> list[Keyframe]:
    out = []
    for k in keyframes:
        placed = None
        try:
            if k.head is None or k.size is None:
                if index.kind == "fmp4":
                    placed = _moof_keyframe(peek, k.start, index.track)
                else:
                    placed = _cluster_keyframe(peek, k.start, index.track)
        except (ValueError, IndexError, struct.error) as exc:
            logger.debug("Keyframe at %d not placed: %s", k.start, exc)
        if placed is not None and k.start + placed[0] + placed[1] <= k.stop:
            k = Keyframe(k.seconds, k.start, k.stop, placed[0], placed[1])
        out.append(k)
    return out


def _calibrated(kind: str, peek: _Peek, keyframes: list[Keyframe], track: int, calibrate: bool) -> KeyIndex:
    """The index with its estimate learnt from the first and last keyframes (FFmpeg read both
    to open the file and measure its length, so they cost no request)."""
    index = KeyIndex(kind, keyframes, track)
    if not keyframes or not calibrate:
        return index
    ends = {0, len(keyframes) - 1}
    seen = _locate(peek, index, [keyframes[i] for i in sorted(ends)])
    for i, k in zip(sorted(ends), seen, strict=True):
        keyframes[i] = k
    known = [k for k in keyframes if k.head is not None and k.size is not None]
    share = max((k.size / (k.stop - k.start) for k in known if k.stop > k.start), default=0.1)  # type: ignore[operator]
    head = max((k.head for k in known), default=0)  # type: ignore[type-var]
    return KeyIndex(kind, keyframes, track, share=min(1.0, share), head=head + 64)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# ISO BMFF (mp4): sidx, moof


def _box(peek: _Peek, pos: int) -> tuple[bytes, int, int]:
    """Type, size and header length of the box at ``pos`` (size 0 runs to the end of the file)."""
    header = peek.read(pos, 16)
    if len(header) < 8:
        raise ValueError("short box header")
    size, kind = struct.unpack(">I4s", header[:8])
    length = 8
    if size == 1:
        (size,) = struct.unpack(">Q", header[8:16])
        length = 16
    elif size == 0:
        size = peek.size - pos
    if size < length:
        raise ValueError(f"bad box size {size}")
    return kind, size, length


def _fragmented(peek: _Peek, track: int | None, calibrate: bool) -> KeyIndex | None:
    pos = 0
    for _ in range(_TOP_BOXES):
        if pos >= peek.size:
            return None
        kind, size, length = _box(peek, pos)
        if kind == b"sidx" and size <= _MAX_INDEX:
            found = _sidx(peek.read(pos + length, size - length), pos + size)
            if found is not None and (track is None or found[0] == track):
                keyframes = found[1]
                return _calibrated("fmp4", peek, keyframes, found[0], calibrate) if keyframes else None
        if kind in (b"moof", b"mdat"):
            return None  # no sidx before the fragments: not one we can index
        pos += size
    return None


def _sidx(body: bytes, anchor: int) -> tuple[int, list[Keyframe]] | None:
    """The track and the fragments a segment index lists, as keyframes (each fragment starts
    with one: FFmpeg's frag_keyframe, YouTube's DASH formats). None for a hierarchical sidx
    (references to other sidx boxes) or one whose fragments do not start with a keyframe."""
    version = body[0]
    track, timescale = struct.unpack(">II", body[4:12])
    if version == 0:
        earliest, first, at = *struct.unpack(">II", body[12:20]), 20
    else:
        earliest, first, at = *struct.unpack(">QQ", body[12:28]), 28
    (count,) = struct.unpack(">H", body[at + 2 : at + 4])
    at += 4
    if not timescale:
        return None
    keyframes = []
    pos, time = anchor + first, earliest
    for _ in range(count):
        reference, duration, sap = struct.unpack(">III", body[at : at + 12])
        at += 12
        if reference >> 31 or not sap >> 31:
            return None
        size = reference & 0x7FFFFFFF
        keyframes.append(Keyframe(time / timescale, pos, pos + size))
        pos += size
        time += duration
    return track, keyframes


def _moof_keyframe(peek: _Peek, start: int, track: int) -> tuple[int, int] | None:
    """(Offset from ``start``, size) of the first sample of ``track`` in the moof at ``start``."""
    kind, size, length = _box(peek, start)
    if kind != b"moof" or size > _MAX_INDEX:
        return None
    moof = peek.read(start, size)
    for kind, body in _children(moof, length, size):
        if kind != b"traf":
            continue
        base, default_size, track_id = start, None, None
        for inner, data in _children(body, 0, len(body)):
            if inner == b"tfhd":
                flags = int.from_bytes(data[1:4], "big")
                (track_id,) = struct.unpack(">I", data[4:8])
                at = 8
                if flags & 0x01:  # base-data-offset
                    (base,) = struct.unpack(">Q", data[at : at + 8])
                    at += 8
                at += 4 * bool(flags & 0x02) + 4 * bool(flags & 0x08)
                if flags & 0x10:  # default-sample-size
                    (default_size,) = struct.unpack(">I", data[at : at + 4])
            elif inner == b"trun" and track_id == track:
                flags = int.from_bytes(data[1:4], "big")
                (count,) = struct.unpack(">I", data[4:8])
                at, offset = 8, 0
                if flags & 0x01:  # data-offset
                    (offset,) = struct.unpack(">i", data[at : at + 4])
                    at += 4
                at += 4 * bool(flags & 0x04)  # first-sample-flags
                at += 4 * bool(flags & 0x100)  # the first sample's duration
                if flags & 0x200:
                    (sample,) = struct.unpack(">I", data[at : at + 4])
                else:
                    sample = default_size
                if not count or not sample:
                    return None
                return base + offset - start, sample
    return None


def _children(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        length = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            length = 16
        if size < length or pos + size > end:
            return
        yield kind, data[pos + length : pos + size]
        pos += size


# ---------------------------------------------------------------------------------------------
# Matroska, WebM: Cues, clusters


def _vint(data: bytes, at: int, *, marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``at``: (value, length); IDs keep their marker bit,
    sizes lose it (an all-ones size is _UNKNOWN)."""
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML number")
    value = first if marker else first & ((0x80 >> (length - 1)) - 1)
    for i in range(1, length):
        value = value << 8 | data[at + i]
    if not marker and value == (1 << (7 * length)) - 1:
        return _UNKNOWN, length
    return value, length


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """ID, size and header length of the element at ``at`` in ``data``."""
    ident, a = _vint(data, at, marker=True)
    size, b = _vint(data, at + a, marker=False)
    return ident, size, a + b


def _elements(data: bytes, at: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
    end = len(data) if end is None else end
    while at < end:
        ident, size, length = _element(data, at)
        if size == _UNKNOWN or at + length + size > end:
            return
        yield ident, data[at + length : at + length + size]
        at += length + size


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _matroska(peek: _Peek, calibrate: bool) -> KeyIndex | None:
    head = peek.read(0, 64)
    _, size, length = _element(head, 0)
    at = length + size  # the EBML header's end: the Segment
    header = peek.read(at, 16)
    ident, segment_size, length = _element(header, 0)
    if ident != _SEGMENT:
        return None
    offset = at + length
    segment_end = peek.size if segment_size == _UNKNOWN else min(peek.size, offset + segment_size)
    # The top-level elements before the first cluster, and those the SeekHead points to (FFmpeg
    # writes the Cues after the clusters, YouTube before them).
    where: dict[int, int] = {}
    first_cluster = None
    pos = offset
    for _ in range(_TOP_BOXES):
        if pos >= segment_end:
            break
        ident, size, length = _element(peek.read(pos, 16), 0)
        if ident == _CLUSTER:
            first_cluster = pos
            break
        where.setdefault(ident, pos)
        if ident == _SEEKHEAD and size != _UNKNOWN and size <= _MAX_INDEX:
            for seek_id, seek in _elements(peek.read(pos + length, size)):
                if seek_id == _SEEK:
                    fields = dict(_elements(seek))
                    if _SEEK_ID in fields and _SEEK_POSITION in fields:
                        target = _uint(fields[_SEEK_ID])
                        where.setdefault(target, offset + _uint(fields[_SEEK_POSITION]))
        if size == _UNKNOWN:
            break
        pos += length + size
    if _CUES not in where or _TRACKS not in where:
        return None
    scale = _uint(_body(peek, where[_INFO]).get(_TIMECODE_SCALE, b"")) if _INFO in where else 0
    scale = scale or 1_000_000
    track = _video_track(_read_element(peek, where[_TRACKS]))
    if track is None:
        return None
    cues = _read_element(peek, where[_CUES])
    # Where the last cluster ends: the first top-level element after it, else the segment's end.
    after = [p for p in where.values() if first_cluster is not None and p > first_cluster]
    points = sorted(_cue_points(cues, track, offset))
    keyframes: list[Keyframe] = []
    for i, (time, cluster, relative) in enumerate(points):
        if keyframes and keyframes[-1].start == cluster:
            continue  # a second cue in the same cluster: the seek reads from the cluster alike
        later = [p[1] for p in points[i + 1 :] if p[1] > cluster][:1]
        stop = later[0] if later else min([p for p in after if p > cluster], default=segment_end)
        # CueRelativePosition counts from the cluster's data: after its ID and size, 12 bytes
        # at most as muxers write them (8 for the size, which they fill in afterwards).
        head = None if relative is None else relative + 12
        keyframes.append(Keyframe(time * scale / 1e9, cluster, stop, head))
    return _calibrated("matroska", peek, keyframes, track, calibrate) if keyframes else None


def _read_element(peek: _Peek, pos: int) -> bytes:
    ident, size, length = _element(peek.read(pos, 16), 0)
    if size == _UNKNOWN or size > _MAX_INDEX:
        raise ValueError(f"element {ident:x} too large to read")
    return peek.read(pos + length, size)


def _body(peek: _Peek, pos: int) -> dict[int, bytes]:
    return dict(_elements(_read_element(peek, pos)))


def _video_track(tracks: bytes) -> int | None:
    for ident, entry in _elements(tracks):
        if ident == _TRACK_ENTRY:
            fields = dict(_elements(entry))
            if _uint(fields.get(_TRACK_TYPE, b"")) == 1 and _TRACK_NUMBER in fields:
                return _uint(fields[_TRACK_NUMBER])
    return None


def _cue_points(cues: bytes, track: int, offset: int) -> Iterator[tuple[int, int, int | None]]:
    """(CueTime, absolute cluster position, block offset inside the cluster's data or None)."""
    for ident, point in _elements(cues):
        if ident != _CUE_POINT:
            continue
        time = None
        positions = []
        for inner, data in _elements(point):
            if inner == _CUE_TIME:
                time = _uint(data)
            elif inner == _CUE_TRACK_POSITIONS:
                positions.append(dict(_elements(data)))
        for fields in positions:
            if time is None or _uint(fields.get(_CUE_TRACK, b"")) != track:
                continue
            if _CUE_CLUSTER_POSITION not in fields:
                continue
            relative = _uint(fields[_CUE_RELATIVE_POSITION]) if _CUE_RELATIVE_POSITION in fields else None
            yield time, offset + _uint(fields[_CUE_CLUSTER_POSITION]), relative


def _cluster_keyframe(peek: _Peek, start: int, track: int) -> tuple[int, int] | None:
    """(Offset from ``start``, size) of the cluster's first block of ``track``, read element
    header by element header (an audio block may come first)."""
    ident, size, length = _element(peek.read(start, 16), 0)
    if ident != _CLUSTER:
        return None
    end = None if size == _UNKNOWN else start + length + size
    pos = start + length
    for _ in range(_TOP_BOXES):
        if end is not None and pos >= end:
            return None
        header = peek.read(pos, 16)
        if len(header) < 2:
            return None
        ident, size, length = _element(header, 0)
        if size == _UNKNOWN:
            return None
        if ident in (_SIMPLE_BLOCK, _BLOCK_GROUP):
            block = header[length:] if ident == _SIMPLE_BLOCK else _group_block(peek, pos + length, size)
            if block and _vint(block, 0, marker=False)[0] == track:
                return pos - start, length + size
        pos += length + size
    return None


def _group_block(peek: _Peek, pos: int, size: int) -> bytes:
    """The start of a BlockGroup's Block (its track number comes first)."""
    data = peek.read(pos, min(size, 64))
    at = 0
    while at < len(data) - 2:
        ident, inner, length = _element(data, at)
        if ident == _BLOCK:
            return data[at + length :]
        if inner == _UNKNOWN:
            return b""
        at += length + inner
    return b""
