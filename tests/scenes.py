"""Labelled videos made from real photographs: the generator, its ground truth, and scores.

The frame picker is judged on what a person sees: does it give one still per distinct scene,
none from a fade, a black gap or a blurred stretch, and no two of the same shot? Synthetic
patterns cannot answer that, so these videos are cut from the photographs scikit-image ships
(and, where Debian's gnome-backgrounds is installed, a few of its wallpapers for the bench only):
slow pans and zooms of a crop window over a larger photo, frozen holds, hard cuts, cross-fades,
fades through black, a stretch blurred with a Gaussian, a solid-colour stretch, a dark but
detailed star field, a low-contrast texture, and one scene shown a second time.

Every frame is drawn from a list of clips, and the ground truth is derived from the same list,
so the two cannot drift apart. A *scene* is a photograph: its name is the scene id, and a photo
shown twice is one scene. The truth is a list of segments ``(start_s, end_s, scene, kind)``:

- ``scene``: one photo, moving (pan or zoom), fully visible.        good
- ``hold``: one photo, frozen.                                       good
- ``fade``: one photo fading in from or out to black (any alpha < 1). bad, scene = the photo
- ``blur``: one photo under a Gaussian blur (sigma 4 at 640 px wide). bad, scene = the photo
- ``crossfade``: two photos mixed.                                   bad, scene None
- ``black``: nothing on screen.                                      bad, scene None
- ``flat``: a solid colour.                                          bad, scene None

Near-duplicates: two frames are near-duplicates when they show the same photo (alone: good,
fade or blur). Pans and zooms are kept slow on purpose, so any two views of one photo overlap by
an intersection-over-union of at least MIN_VIEW_IOU (the builder checks it, as does a test);
"same scene id" and "overlapping view" therefore agree, and view_iou() gives the overlap for
anyone who wants the finer measure.

Presets: ``small`` (320x180, about 36 s, 7 scenes, a second or two to make) for the tests, and
``1min``, ``3min``, ``10min`` (and ``60min``) for the bench. Everything is seeded: the same
preset gives the same timeline and the same pixels.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from itertools import combinations, pairwise
from pathlib import Path
from typing import NamedTuple

import av
import cv2
import numpy as np

GOOD_KINDS = frozenset({"scene", "hold"})
BAD_KINDS = frozenset({"fade", "blur", "crossfade", "black", "flat"})
# Kinds in which exactly one photo is on screen, so the frame has a view of it.
ONE_PHOTO_KINDS = frozenset({"scene", "hold", "fade", "blur"})

MIN_VIEW_IOU = 0.5
BLUR_SIGMA_AT_640 = 4.0
# The widest a crop window gets, as a share of the largest 16:9 window the photo holds. The
# photo is scaled once so that the narrowest window is drawn at about 1:1.
_ZOOM_RANGE = (0.62, 0.9)
_FLAT_COLOUR = (96, 128, 160)  # BGR: a muted blue-grey, mid brightness, no detail at all

SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",  # dark (mean luma about 19) but full of detail
    "immunohistochemistry",
    "camera",
    "brick",  # a low-contrast texture
    "grass",
    "gravel",
    "colorwheel",
    "retina",
    "cell",
    "coins",
    "moon",  # very low contrast (luma std about 13)
    "page",
    "text",
    "clock",
)
# Grey photographs: pairs of them are "different photos with similar colours".
GREY_PHOTOS = frozenset(
    {"camera", "brick", "grass", "gravel", "cell", "coins", "moon", "page", "text", "clock"}
)
GNOME_BACKGROUNDS = Path("/usr/share/backgrounds/gnome")


# ---------------------------------------------------------------------------------------------
# Photos


@lru_cache(maxsize=64)
def _source_photo(name: str) -> np.ndarray:
    """The photo as BGR uint8: a scikit-image sample by name, or a file path."""
    if name.startswith("/"):
        image = cv2.imread(name, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read {name}")
        return image
    import skimage.data  # only the generator needs it, and it is slow to import

    image = getattr(skimage.data, name)()
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


def gnome_photos(limit: int = 2) -> list[str]:
    """Paths of a few gnome-backgrounds wallpapers cv2 can read, or [] when none are installed.

    Only one of each light/dark pair: the two are the same design in other colours, which would
    make a "different scene" label unfair. The wood texture comes first, as a second low-contrast
    texture.
    """
    if not GNOME_BACKGROUNDS.is_dir():
        return []
    files = [
        p
        for p in sorted(GNOME_BACKGROUNDS.iterdir())
        if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"} and not p.stem.endswith("-d")
    ]
    files.sort(key=lambda p: (not p.stem.startswith("wood"), p.name))
    return [str(p) for p in files[:limit]]


def _photo_label(photo: str) -> str:
    return Path(photo).stem if photo.startswith("/") else photo


# ---------------------------------------------------------------------------------------------
# Timeline


class View(NamedTuple):
    """A crop window: centre as fractions of the photo, zoom as a share of the largest window."""

    cx: float
    cy: float
    zoom: float


_CENTRE = View(0.5, 0.5, 0.8)


@dataclass(frozen=True)
class Clip:
    """One photo (or a solid colour when photo is None) on screen from start_s to end_s."""

    photo: str | None
    start_s: float
    end_s: float
    view_from: View = _CENTRE
    view_to: View = _CENTRE
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    blur: tuple[float, float] | None = None  # absolute seconds

    @property
    def static(self) -> bool:
        return self.view_from == self.view_to

    def alpha(self, t: float) -> float:
        a = 1.0
        if self.fade_in_s > 0:
            a = min(a, (t - self.start_s) / self.fade_in_s)
        if self.fade_out_s > 0:
            a = min(a, (self.end_s - t) / self.fade_out_s)
        return max(0.0, min(1.0, a))

    def view(self, t: float) -> View:
        span = self.end_s - self.start_s
        u = 0.0 if span <= 0 else min(1.0, max(0.0, (t - self.start_s) / span))
        return View(*(a + (b - a) * u for a, b in zip(self.view_from, self.view_to, strict=True)))

    def blurred(self, t: float) -> bool:
        return self.blur is not None and self.blur[0] <= t < self.blur[1]


class Segment(NamedTuple):
    start_s: float
    end_s: float
    scene: str | None
    kind: str


@dataclass(frozen=True)
class Timeline:
    """The clips of a video, and everything known about its frames."""

    name: str
    size: tuple[int, int]  # width, height
    fps: int
    duration_s: float
    clips: tuple[Clip, ...]
    keyint_s: float = 2.0

    # -- ground truth ------------------------------------------------------------------------

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        """Maximal time ranges with one (scene, kind), covering [0, duration_s)."""
        cuts = {0.0, self.duration_s}
        for c in self.clips:
            cuts.update((c.start_s, c.end_s, c.start_s + c.fade_in_s, c.end_s - c.fade_out_s))
            if c.blur:
                cuts.update(c.blur)
        points = sorted(x for x in cuts if 0.0 <= x <= self.duration_s)
        out: list[Segment] = []
        for a, b in pairwise(points):
            if b - a < 1e-9:
                continue
            scene, kind = self._classify((a + b) / 2)
            if out and out[-1].scene == scene and out[-1].kind == kind and abs(out[-1].end_s - a) < 1e-9:
                out[-1] = out[-1]._replace(end_s=b)
            else:
                out.append(Segment(a, b, scene, kind))
        return tuple(out)

    def _active(self, t: float) -> list[Clip]:
        return [c for c in self.clips if c.start_s <= t < c.end_s]

    def _classify(self, t: float) -> tuple[str | None, str]:
        active = self._active(t)
        if not active:
            return None, "black"
        if len(active) > 1:
            return None, "crossfade"
        clip = active[0]
        if clip.photo is None:
            return None, "flat"
        scene = _photo_label(clip.photo)
        if clip.alpha(t) < 1.0:
            return scene, "fade"
        if clip.blurred(t):
            return scene, "blur"
        return scene, "hold" if clip.static else "scene"

    @cached_property
    def _starts(self) -> list[float]:
        return [s.start_s for s in self.segments]

    def frame_time(self, ms: float) -> float:
        """The time in seconds of the frame shown at ``ms`` (frames sit on a 1/fps grid)."""
        index = min(self.frame_count - 1, max(0, math.floor(ms / 1000.0 * self.fps + 1e-6)))
        return index / self.fps

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)

    def segment_at(self, t: float) -> Segment:
        t = min(max(t, 0.0), self.duration_s - 1e-9)
        return self.segments[bisect.bisect_right(self._starts, t) - 1]

    def scene_at(self, t: float) -> str | None:
        """The scene a good frame at ``t`` s shows, None when the frame is bad."""
        seg = self.segment_at(t)
        return seg.scene if seg.kind in GOOD_KINDS else None

    def bad_at(self, t: float) -> bool:
        return self.segment_at(t).kind in BAD_KINDS

    def photo_at(self, t: float) -> str | None:
        """The one photo on screen at ``t`` (good, fading or blurred), else None."""
        seg = self.segment_at(t)
        return seg.scene if seg.kind in ONE_PHOTO_KINDS else None

    @cached_property
    def scenes(self) -> tuple[str, ...]:
        """Distinct scenes with good frames, in order of first appearance."""
        seen: dict[str, None] = {}
        for seg in self.segments:
            if seg.kind in GOOD_KINDS and seg.scene is not None and seg.end_s - seg.start_s >= 1 / self.fps:
                seen.setdefault(seg.scene)
        return tuple(seen)

    def view_box(self, t: float) -> tuple[str, tuple[float, float, float, float]] | None:
        """(photo, (x0, y0, x1, y1) in photo pixels) of the single photo on screen, else None."""
        active = self._active(t)
        if len(active) != 1 or active[0].photo is None:
            return None
        clip = active[0]
        return _photo_label(clip.photo), _box(_prepared(clip.photo, self.size), clip.view(t), self.size)

    def view_iou(self, t1: float, t2: float) -> float:
        """How much the views at two times overlap: 0 for different photos or no single photo."""
        a, b = self.view_box(t1), self.view_box(t2)
        if a is None or b is None or a[0] != b[0]:
            return 0.0
        return _iou(a[1], b[1])

    def near_duplicate(self, t1: float, t2: float) -> bool:
        a, b = self.photo_at(t1), self.photo_at(t2)
        return a is not None and a == b

    # -- pixels ------------------------------------------------------------------------------

    def render(self, t: float) -> np.ndarray:
        """The BGR frame at ``t`` seconds, before compression."""
        w, h = self.size
        layers = [(clip.alpha(t), clip) for clip in self._active(t)]
        layers = [(a, clip) for a, clip in layers if a > 0]
        if len(layers) == 1 and layers[0][0] == 1.0:
            return self._draw(layers[0][1], t)
        out = np.zeros((h, w, 3), np.uint8)
        for a, clip in layers:
            # Saturating adds of rounded, scaled layers: a cross-fade's two alphas sum to 1.
            out = cv2.add(out, cv2.convertScaleAbs(self._draw(clip, t), alpha=a))
        return out

    def _draw(self, clip: Clip, t: float) -> np.ndarray:
        w, h = self.size
        if clip.photo is None:
            return np.full((h, w, 3), _FLAT_COLOUR, np.uint8)
        photo = _prepared(clip.photo, self.size)
        x0, y0, x1, y1 = (round(v) for v in _box(photo, clip.view(t), self.size))
        # A whole-pixel crop, resized: a sub-pixel affine warp pans more smoothly but costs three
        # times as much, and a pixel of judder every few frames changes nothing that is judged.
        image = cv2.resize(photo[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_LINEAR)
        if clip.blurred(t):
            image = cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA_AT_640 * w / 640)
        return image

    def frames(self) -> Iterable[np.ndarray]:
        """Every frame in order; a frozen, full-alpha clip is drawn once."""
        last_key: object = None
        last: np.ndarray | None = None
        for i in range(self.frame_count):
            t = i / self.fps
            active = self._active(t)
            key: object = None
            if len(active) == 1 and active[0].static and active[0].alpha(t) == 1.0:
                key = (active[0], active[0].blurred(t))
            elif not active:
                key = "black"
            if key is None or key != last_key or last is None:
                last = self.render(t)
            last_key = key
            yield last

    def cache_key(self) -> str:
        """Changes whenever anything that shapes the pixels does (for caching bench videos)."""
        stamp = repr((self, _GENERATOR_VERSION, BLUR_SIGMA_AT_640, _FLAT_COLOUR, _ZOOM_RANGE))
        for clip in self.clips:
            if clip.photo and clip.photo.startswith("/"):
                stat = Path(clip.photo).stat()
                stamp += f"{clip.photo}:{stat.st_size}:{stat.st_mtime_ns}"
        return hashlib.sha256(stamp.encode()).hexdigest()[:12]


_GENERATOR_VERSION = 1


@lru_cache(maxsize=64)
def _prepared(photo: str, size: tuple[int, int]) -> np.ndarray:
    """The photo scaled once so its narrowest crop window is about the output width."""
    image = _source_photo(photo)
    h, w = image.shape[:2]
    aspect = size[0] / size[1]
    widest = min(w, h * aspect)
    scale = size[0] / (widest * _ZOOM_RANGE[0])
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return image


def _box(photo: np.ndarray, view: View, size: tuple[int, int]) -> tuple[float, float, float, float]:
    h, w = photo.shape[:2]
    aspect = size[0] / size[1]
    bw = min(w, h * aspect) * view.zoom
    bh = bw / aspect
    x0 = min(max(view.cx * w - bw / 2, 0.0), w - bw)
    y0 = min(max(view.cy * h - bh / 2, 0.0), h - bh)
    return x0, y0, x0 + bw, y0 + bh


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# Building timelines


@dataclass
class _Step:
    """One shot of a script: a photo (None for the flat colour), how long, how it moves, and how
    it joins the shot before it."""

    photo: str | None
    seconds: float
    motion: str = "pan"  # pan, zoom, hold
    join: str = "cut"  # cut, crossfade, fade (through black)
    blur: tuple[float, float] | None = None  # relative to the shot: (start share, end share)
    same_view_as: int | None = None  # index of an earlier step: show that view again
    view: tuple[View, View] | None = field(default=None, repr=False)


_CROSSFADE_S = 1.0
_FADE_S = 0.75


def _motion(rng: random.Random, motion: str) -> tuple[View, View]:
    """A slow move whose first and last views overlap by at least MIN_VIEW_IOU."""
    lo, hi = _ZOOM_RANGE
    if motion == "hold":
        v = View(rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6), rng.uniform(lo + 0.05, hi))
        return v, v
    if motion == "zoom":
        z_wide = rng.uniform(0.8, hi)
        z_close = z_wide * rng.uniform(0.78, 0.85)
        cx, cy = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
        views = (View(0.5, 0.5, z_wide), View(cx, cy, z_close))
        return views if rng.random() < 0.5 else views[::-1]
    z = rng.uniform(lo + 0.03, 0.8)
    angle = rng.uniform(0, 2 * math.pi)
    # About a sixth of the window's width over the whole shot, in a random direction.
    shift = 0.16 * z
    c = (0.5 - math.cos(angle) * shift / 2, 0.5 - math.sin(angle) * shift / 2)
    return View(c[0], c[1], z), View(1 - c[0], 1 - c[1], z)


def _slow_enough(photo: str, size: tuple[int, int], view: tuple[View, View]) -> tuple[View, View]:
    """The move, shortened towards its middle until its ends overlap by MIN_VIEW_IOU + 0.05: a
    share of a tall photo's height is more of the window than the same share of its width."""
    image = _prepared(photo, size)
    a, b = view
    while _iou(_box(image, a, size), _box(image, b, size)) < MIN_VIEW_IOU + 0.05:
        mid = View(*((x + y) / 2 for x, y in zip(a, b, strict=True)))
        a = View(*((x + m) / 2 for x, m in zip(a, mid, strict=True)))
        b = View(*((y + m) / 2 for y, m in zip(b, mid, strict=True)))
    return a, b


def _layout(name: str, size: tuple[int, int], fps: int, keyint_s: float, steps: Sequence[_Step], *, seed: int,
            tail_black_s: float = 1.0) -> Timeline:  # fmt: skip
    rng = random.Random(seed)
    clips: list[Clip] = []
    t = 0.0
    for i, step in enumerate(steps):
        view = step.view or (
            steps[step.same_view_as].view if step.same_view_as is not None else _motion(rng, step.motion)
        )
        if step.photo is not None and step.same_view_as is None:
            view = _slow_enough(step.photo, size, view)
        step.view = view
        fade_in = 0.0
        if i > 0:
            if step.join == "crossfade":
                t -= _CROSSFADE_S
                prev = clips[-1]
                clips[-1] = Clip(**{**prev.__dict__, "fade_out_s": _CROSSFADE_S})
                fade_in = _CROSSFADE_S
            elif step.join == "fade":
                prev = clips[-1]
                clips[-1] = Clip(**{**prev.__dict__, "fade_out_s": _FADE_S})
                t += rng.uniform(0.5, 1.5)  # black between the fade out and the fade in
                fade_in = _FADE_S
        start = round(t, 3)
        end = round(t + step.seconds, 3)
        blur = None
        if step.blur is not None:
            blur = (
                round(start + step.blur[0] * step.seconds, 3),
                round(start + step.blur[1] * step.seconds, 3),
            )
        clips.append(Clip(step.photo, start, end, view[0], view[1], fade_in_s=fade_in, blur=blur))
        t = end
    last = clips[-1]
    clips[-1] = Clip(**{**last.__dict__, "fade_out_s": _FADE_S})
    # A whole number of frames, so the last frame ends the video exactly.
    duration = round((t + tail_black_s) * fps) / fps
    timeline = Timeline(name, size, fps, duration, tuple(clips), keyint_s)
    for clip in clips:
        if clip.photo is not None:
            box = _prepared(clip.photo, size)
            overlap = _iou(_box(box, clip.view_from, size), _box(box, clip.view_to, size))
            assert overlap >= MIN_VIEW_IOU, (clip, overlap)
    return timeline


def small() -> Timeline:
    """About 36 s at 320x180, 7 scenes: every kind of stretch once. Made in a second or two."""
    steps = [
        _Step("astronaut", 4.0, "pan"),
        _Step("coffee", 4.0, "hold"),
        _Step("hubble_deep_field", 4.0, "zoom", join="crossfade"),
        _Step("brick", 4.5, "pan", join="fade"),
        _Step("chelsea", 6.0, "pan", blur=(0.35, 0.7)),
        _Step(None, 2.5, "hold"),
        _Step("rocket", 4.0, "pan"),
        _Step("camera", 3.5, "hold", join="crossfade"),
        _Step("astronaut", 3.0, join="fade", same_view_as=0),
    ]
    return _layout("small", (320, 180), 25, 2.0, steps, seed=13)


def full(name: str, *, seconds: float, size: tuple[int, int], scenes: int, seed: int,
         extra_photos: Sequence[str] = ()) -> Timeline:  # fmt: skip
    """A long video of ``scenes`` photos (plus one shown again) with every kind of stretch.

    Shots last about seconds / scenes each, between 0.6x and 1.4x of that. Joins: half cuts,
    a quarter cross-fades, a quarter fades through black; a quarter of the shots are holds. The
    hubble star field and the brick texture are always in; one shot has a blurred middle third;
    a flat stretch sits in the middle; the opening scene comes back near the end.
    """
    rng = random.Random(seed)
    pool = list(dict.fromkeys([*extra_photos, *SKIMAGE_PHOTOS]))
    must = ["hubble_deep_field", "brick"]
    rest = [p for p in pool if p not in must]
    rng.shuffle(rest)
    # The opener is any photo but the two that must be in; the rest come in a seeded order.
    others = [*must, *rest[1 : max(1, scenes - len(must))]]
    rng.shuffle(others)
    photos = [rest[0], *others][:scenes]
    weights = [rng.uniform(0.6, 1.4) for _ in range(len(photos) + 1)]  # +1: the repeat
    flat_s = max(2.0, seconds * 0.01)
    budget = seconds - flat_s - 1.0 - 1.5 * len(photos) / 4
    unit = budget / sum(weights)
    steps: list[_Step] = []
    for i, photo in enumerate(photos):
        motion = rng.choice(["pan", "pan", "zoom", "hold"])
        join = rng.choice(["cut", "cut", "crossfade", "fade"])
        steps.append(_Step(photo, round(max(3.0, weights[i] * unit), 2), motion, join))
        if i == len(photos) // 2:
            steps.append(_Step(None, round(flat_s, 2), "hold", "cut"))
    blurred = next(s for s in steps[1:] if s.photo is not None and s.motion != "hold")
    blurred.blur = (0.33, 0.66)
    steps.append(_Step(photos[0], round(max(3.0, weights[-1] * unit), 2), join="fade", same_view_as=0))
    return _layout(name, size, 25, 5.0, steps, seed=seed)


PRESETS = {
    # name: (seconds, size, distinct photos, seed); the 10- and 60-minute ones add up to two
    # gnome-backgrounds wallpapers when the package is installed.
    "1min": (60, (854, 480), 6, 1),
    "3min": (180, (640, 360), 12, 3),
    "10min": (600, (854, 480), 20, 10),
    "60min": (3600, (854, 480), 20, 60),
}


def preset(name: str, *, size: tuple[int, int] | None = None) -> Timeline:
    """small (the tests' set), or one of PRESETS (the bench's), optionally drawn at another size
    (the same shots and times: the bench's YouTube-like encodes are 640x360 to save time)."""
    if name == "small":
        timeline = small()
    else:
        seconds, default_size, scenes, seed = PRESETS[name]
        extra = gnome_photos() if seconds >= 600 else ()
        timeline = full(
            name, seconds=seconds, size=default_size, scenes=scenes, seed=seed, extra_photos=extra
        )
    if size is None or size == timeline.size:
        return timeline
    return _resized(timeline, size)


def _resized(timeline: Timeline, size: tuple[int, int]) -> Timeline:
    return dataclasses.replace(timeline, name=f"{timeline.name}@{size[0]}x{size[1]}", size=size)


# ---------------------------------------------------------------------------------------------
# Writing videos


@dataclass(frozen=True)
class Encoding:
    name: str
    suffix: str
    codec: str
    options: dict[str, str]
    container_options: dict[str, str]
    pix_fmt: str = "yuv420p"


def encoding(name: str, timeline: Timeline) -> Encoding:
    """h264: an upload-like file (x264 ultrafast, no B-frames, a keyframe every keyint_s, no
    scene-cut keyframes, faststart). youtube: x264 with B-frames and scene-cut keyframes.
    fmp4: the same in fragmented MP4 (frag_keyframe+empty_moov). vp9: libvpx-vp9 in WebM. av1:
    SVT-AV1 in WebM, as YouTube serves much of its video (decoded by libdav1d)."""
    gop = max(1, round(timeline.fps * timeline.keyint_s))
    if name == "h264":
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0"
        return Encoding(name, ".mp4", "libx264", {"preset": "ultrafast", "x264-params": params},
                        {"movflags": "+faststart"})  # fmt: skip
    if name in ("youtube", "fmp4"):
        params = f"keyint={gop}:min-keyint={timeline.fps}:bframes=3"
        options = {"preset": "veryfast", "x264-params": params}
        if name == "youtube":
            return Encoding(name, ".mp4", "libx264", options, {"movflags": "+faststart"})
        return Encoding(
            name, ".mp4", "libx264", options, {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
        )
    if name == "vp9":
        options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "g": str(gop)}
        return Encoding(name, ".webm", "libvpx-vp9", options, {})
    if name == "av1":
        # Its fastest presets are 12 and 13; 10 is still several times real time at this size.
        options = {"preset": "10", "svtav1-params": f"keyint={gop}"}
        return Encoding(name, ".webm", "libsvtav1", options, {})
    raise ValueError(f"unknown encoding {name}")


def write(timeline: Timeline, outputs: dict[str, Path]) -> None:
    """Encode the timeline into every {encoding name: path} at once: frames are drawn once, and
    outputs with the same encoder settings (youtube, fmp4) share one encode."""
    w, h = timeline.size
    containers = []
    encoders: dict[tuple[str, str], tuple[av.video.stream.VideoStream, list]] = {}
    try:
        for enc_name, path in outputs.items():
            enc = encoding(enc_name, timeline)
            container = av.open(str(path), "w", options=enc.container_options)
            containers.append(container)
            key = (enc.codec, repr(sorted(enc.options.items())))
            if key in encoders:
                first, targets = encoders[key]
                stream = container.add_stream_from_template(first)
                targets.append((container, stream))
                continue
            stream = container.add_stream(enc.codec, rate=timeline.fps, options=enc.options)
            stream.width, stream.height, stream.pix_fmt = w, h, enc.pix_fmt
            if enc.codec == "libvpx-vp9":
                stream.codec_context.gop_size = int(enc.options["g"])
                stream.codec_context.bit_rate = 800_000
            stream.codec_context.open()
            encoders[key] = (stream, [(container, stream)])
        for _, targets in encoders.values():
            extradata = targets[0][1].codec_context.extradata
            for _, stream in targets[1:]:
                stream.codec_context.extradata = extradata  # the template is taken before open

        def mux(targets: list, packets: list[av.Packet]) -> None:
            for packet in packets:
                for container, stream in targets:
                    packet.stream = stream
                    container.mux(packet)

        for i, image in enumerate(timeline.frames()):
            # Every encoding takes yuv420p: convert once, not once per output.
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, timeline.fps)
            for stream, targets in encoders.values():
                mux(targets, stream.encode(frame))
        for stream, targets in encoders.values():
            mux(targets, stream.encode(None))
    finally:
        for container in containers:
            container.close()


@dataclass(frozen=True)
class SceneVideo:
    path: Path
    timeline: Timeline
    encoding: str


def make(timeline: Timeline, folder: Path, encodings: Sequence[str] = ("h264",)) -> dict[str, SceneVideo]:
    """The timeline's videos in ``folder``, made once: file names carry the timeline's cache key,
    so an existing file with the right name is reused."""
    folder.mkdir(parents=True, exist_ok=True)
    key = timeline.cache_key()
    paths = {e: folder / f"{timeline.name}-{e}-{key}{encoding(e, timeline).suffix}" for e in encodings}
    missing = {e: p.with_name("partial-" + p.name) for e, p in paths.items() if not p.exists()}
    if missing:
        write(timeline, missing)
        for e, partial in missing.items():
            for stale in folder.glob(f"{timeline.name}-{e}-*"):
                stale.unlink()  # an older version of this video
            partial.rename(paths[e])
    return {e: SceneVideo(p, timeline, e) for e, p in paths.items()}


def write_pans(path: Path, photos: Sequence[str], *, seconds: float, shift: float,
               size: tuple[int, int] = (320, 180), fps: int = 25, fade_out_s: float = 0.0,
               picture: tuple[int, int] | None = None) -> list[tuple[float, float, float, str]]:  # fmt: skip
    """A camera turning fast across each photo in turn, ``shift`` of the frame's width a frame
    (a game world's camera turn crosses the screen in a second or so), hard cuts between; the
    last ``fade_out_s`` of each photo fades to black while the camera goes on turning. Returns
    each photo's (start, end, start of its fade, name), in seconds. ``picture``: the size of
    the picture inside black bars round it (a letterboxed film, a pillarboxed phone video)."""
    frame_w, frame_h = size
    w, h = picture or size
    per_photo = round(seconds * fps)
    spans = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = frame_w, frame_h, "yuv420p"
        canvas = np.zeros((frame_h, frame_w, 3), np.uint8)
        top_bar, left_bar = (frame_h - h) // 2, (frame_w - w) // 2
        for n, name in enumerate(photos):
            photo = _source_photo(name)
            wide = w + shift * w * per_photo + 2
            scale = max(wide / photo.shape[1], h / photo.shape[0])
            big = cv2.resize(photo, (math.ceil(photo.shape[1] * scale), math.ceil(photo.shape[0] * scale)),
                             interpolation=cv2.INTER_CUBIC)  # fmt: skip
            top = (big.shape[0] - h) // 2
            fade_from = per_photo - round(fade_out_s * fps)
            for i in range(per_photo):
                x = round(i * shift * w)
                image = big[top : top + h, x : x + w]
                if i >= fade_from:
                    image = (image * (1 - (i - fade_from + 1) / (per_photo - fade_from + 1))).astype(np.uint8)
                canvas[top_bar : top_bar + h, left_bar : left_bar + w] = image
                frame = av.VideoFrame.from_ndarray(canvas, format="bgr24")
                frame.pts, frame.time_base = n * per_photo + i, Fraction(1, fps)
                out.mux(stream.encode(frame))
            start = n * per_photo / fps
            spans.append((start, start + per_photo / fps, start + fade_from / fps, name))
        out.mux(stream.encode(None))
    return spans


# ---------------------------------------------------------------------------------------------
# Decoding chosen frames


def _stream_start(stream: av.video.stream.VideoStream) -> float:
    return float((stream.start_time or 0) * stream.time_base)


def decode_at(path: Path | str, times_ms: Sequence[float], *, read_on_ms: float = 2000.0,
              thread_type: str = "AUTO", decoded: bool = False) -> list:  # fmt: skip
    """The BGR frames shown at each time (ms from the stream's start), decoded exactly; with
    ``decoded``, the decoded frames themselves (av.VideoFrame), not converted.

    Seeks to the keyframe before a target unless the target is at most ``read_on_ms`` ahead,
    then decodes on to it: the honest cost of "this exact frame" (a uniform sampler, or
    PySceneDetect's picks). A target that is a keyframe costs one decoded frame.
    """
    order = sorted(range(len(times_ms)), key=lambda i: times_ms[i])
    out: list[np.ndarray | av.VideoFrame | None] = [None] * len(times_ms)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = thread_type
        start = _stream_start(stream)
        half = 500.0 / float(stream.average_rate or 30)
        frames = None
        last: av.VideoFrame | None = None
        last_ms = -math.inf
        for i in order:
            target = times_ms[i]
            if frames is None or not (last_ms - half <= target <= last_ms + read_on_ms):
                container.seek(
                    int((target / 1000.0 + start) / stream.time_base), stream=stream, backward=True
                )
                frames = container.decode(stream)
                last, last_ms = None, -math.inf
            while last is None or last_ms < target - half:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                if frame.time is None:
                    continue
                last, last_ms = frame, (frame.time - start) * 1000.0
            if last is None:
                raise ValueError(f"no frame at {target} ms in {path}")
            out[i] = last if decoded else last.to_ndarray(format="bgr24")
    return [f for f in out if f is not None]


def keyframe_times(path: Path | str) -> list[int]:
    """Presentation times (ms from the stream's start) of every keyframe, from the packets alone."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = _stream_start(stream)
        return sorted(
            round((float(p.pts * p.time_base) - start) * 1000.0)
            for p in container.demux(stream)
            if p.is_keyframe and p.pts is not None
        )


# ---------------------------------------------------------------------------------------------
# Scoring a selection


@dataclass(frozen=True)
class Score:
    asked: int
    delivered: int
    scenes: int  # distinct scenes in the video
    covered: int  # distinct scenes among the good frames delivered
    bad: int  # frames from a fade, blur, cross-fade, black or flat stretch
    duplicate_pairs: int  # pairs of delivered frames showing the same photo
    misplaced: int = 0  # frames whose pixels do not match the truth at their timestamp

    @property
    def target(self) -> int:
        return min(self.asked, self.scenes)

    @property
    def coverage(self) -> float:
        return self.covered / self.target if self.target else 1.0


def score(timeline: Timeline, times_ms: Sequence[float], *, asked: int,
          images: Sequence[np.ndarray] | None = None) -> Score:  # fmt: skip
    """How good a selection of frames at ``times_ms`` is, against the ground truth.

    Only good frames (scene, hold) cover a scene: a blurred or faded still is not one worth
    keeping. Duplicates count every pair of delivered frames that show the same photo alone,
    good or bad (a blurred copy of a kept frame is still a repeat). With ``images`` (the decoded
    frames, any size), each is compared with the truth rendered at its time, and the ones that
    do not match (a timestamp that is off) are counted as misplaced.
    """
    times = [timeline.frame_time(ms) for ms in times_ms]
    covered = {timeline.scene_at(t) for t in times} - {None}
    bad = sum(timeline.bad_at(t) for t in times)
    dups = sum(timeline.near_duplicate(a, b) for a, b in combinations(times, 2))
    misplaced = 0
    if images is not None:
        misplaced = sum(not matches(timeline, t, image) for t, image in zip(times, images, strict=True))
    return Score(asked, len(times), len(timeline.scenes), len(covered), bad, dups, misplaced)


def _tiny(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)


def matches(timeline: Timeline, t: float, image: np.ndarray, *, tolerance: float = 10.0) -> bool:
    """Whether a decoded frame looks like the truth at ``t`` (mean grey difference at 64x36),
    allowing for one frame of slack either way (a timestamp rounded to the neighbour)."""
    tiny = _tiny(image)
    step = 1 / timeline.fps
    return any(
        float(np.abs(tiny - _tiny(timeline.render(min(max(t + d, 0), timeline.duration_s - step)))).mean())
        <= tolerance
        for d in (0.0, -step, step)
    )


# ---------------------------------------------------------------------------------------------
# Labelled pairs for choosing a near-duplicate measure


class LabelledPair(NamedTuple):
    image_a: np.ndarray
    image_b: np.ndarray
    label: str  # "same" (one scene: a near-duplicate) or "different"
    case: str  # which kind of pair, to see where a measure fails


def pair_times(
    timeline: Timeline, *, per_case: int = 6, seed: int = 0
) -> list[tuple[float, float, str, str]]:
    """(t_a, t_b, label, case) by the ground truth; see labelled_pairs()."""
    rng = random.Random(seed)
    step = 1 / timeline.fps
    goods = [s for s in timeline.segments if s.kind in GOOD_KINDS and s.end_s - s.start_s > 4 * step]

    def inside(seg: Segment, lo: float = 0.0, hi: float = 1.0) -> float:
        span = seg.end_s - seg.start_s - 2 * step
        return round((seg.start_s + step + span * rng.uniform(lo, hi)) * timeline.fps) / timeline.fps

    cases: dict[str, list[tuple[float, float]]] = {}
    moving = [s for s in goods if s.kind == "scene"]
    cases["same: panned or zoomed"] = [(inside(s, 0, 0.2), inside(s, 0.8, 1)) for s in moving]
    cases["same: hold"] = [(inside(s), inside(s)) for s in goods if s.kind == "hold"]
    by_scene: dict[str, list[Segment]] = {}
    for s in goods:
        by_scene.setdefault(s.scene or "", []).append(s)
    cases["same: shown twice"] = [
        (inside(a), inside(b))
        for segs in by_scene.values()
        for a, b in combinations(segs, 2)
        if _clip_of(timeline, a) is not _clip_of(timeline, b)
    ]
    after, across = [], []
    for i, s in enumerate(timeline.segments):
        if s.kind != "crossfade" or i == 0 or i + 1 >= len(timeline.segments):
            continue
        before, nxt = timeline.segments[i - 1], timeline.segments[i + 1]
        if nxt.kind in GOOD_KINDS:
            first = math.ceil(nxt.start_s * timeline.fps + 1) / timeline.fps
            after.append((first, inside(nxt, 0.5, 1)))
            if before.kind in GOOD_KINDS:
                across.append((math.floor(before.end_s * timeline.fps - 1) / timeline.fps, first))
    cases["same: just after a cross-fade"] = after
    cases["different: either side of a cross-fade"] = across
    blurred = [s for s in timeline.segments if s.kind == "blur"]
    cases["same: blurred and sharp"] = [
        (inside(b), inside(g))
        for b in blurred
        for g in goods
        if _clip_of(timeline, g) is _clip_of(timeline, b)
    ]
    grey = [s for s in goods if s.scene in GREY_PHOTOS]
    cases["different: similar colours"] = [
        (inside(a), inside(b)) for a, b in combinations(grey, 2) if a.scene != b.scene
    ]
    cases["different: other photos"] = [
        (inside(a), inside(b)) for a, b in combinations(goods, 2) if a.scene != b.scene
    ]
    out = []
    for case, pairs in cases.items():
        picked = pairs if len(pairs) <= per_case else rng.sample(pairs, per_case)
        out += [(a, b, case.split(":")[0], case) for a, b in picked]
    return out


def _clip_of(timeline: Timeline, seg: Segment) -> Clip:
    mid = (seg.start_s + seg.end_s) / 2
    return next(c for c in timeline.clips if c.start_s <= mid < c.end_s)


def labelled_pairs(video: SceneVideo, *, per_case: int = 6, seed: int = 0) -> list[LabelledPair]:
    """Pairs of decoded frames labelled "same" scene or "different" by the ground truth.

    Cases (``LabelledPair.case``): the start and end of one pan or zoom; two frames of a hold;
    a scene and its second showing; the first frame after a cross-fade and a later one (the
    outgoing photo's ghost is gone but the view is new); a blurred frame and a sharp one of the
    same shot (all "same"); the last frame before a cross-fade and the first after it; two grey
    photographs; any two different photos (all "different"). At most ``per_case`` of each.
    """
    times = pair_times(video.timeline, per_case=per_case, seed=seed)
    flat = [t * 1000.0 for a, b, _, _ in times for t in (a, b)]
    images = decode_at(video.path, flat)
    return [
        LabelledPair(images[2 * i], images[2 * i + 1], label, case)
        for i, (_, _, label, case) in enumerate(times)
    ]


# ---------------------------------------------------------------------------------------------
# Command line: make videos ahead of a benchmark, e.g. under nice(1)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Make the labelled scene videos (cached by content).")
    parser.add_argument("preset", choices=["small", *PRESETS])
    parser.add_argument("--size", help="WIDTHxHEIGHT, default the preset's")
    parser.add_argument("--encodings", default="h264", help="comma-separated: h264,youtube,fmp4,vp9")
    parser.add_argument("--out", type=Path, default=Path("test-output/bench-videos"))
    parser.add_argument("--truth", action="store_true", help="print the ground truth")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    timeline = preset(args.preset, size=size)  # type: ignore[arg-type]
    for video in make(timeline, args.out, args.encodings.split(",")).values():
        print(video.path)
    if args.truth:
        for seg in timeline.segments:
            print(f"{seg.start_s:8.2f} {seg.end_s:8.2f}  {seg.kind:9}  {seg.scene or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
