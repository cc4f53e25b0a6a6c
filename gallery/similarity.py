"""How alike two frames look, from their signatures (`Frame.signature`), and the coarse keys that
find the likely alike ones through an index ("More like this").

Pure numpy and no Django: jobs/frames.py makes the signatures (with OpenCV) and judges
near-duplicates with this same measure, imported from here, because `gallery` never imports
`jobs` and "more like this" ranks by the measure the frames issue chose.

A signature is 128 bytes, base64: 72 bytes of a 4-bit 16x9 grey thumbnail, then 32 + 16 + 8
histogram bins of a byte each (hue and saturation, luma, gradient strength).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GRID = (16, 9)  # width, height of the grey thumbnail
SIGNATURE_BYTES = 128


@dataclass(frozen=True)
class Descriptor:
    grid: np.ndarray  # 9x16 float32
    colour: np.ndarray  # 32 bins summing to about 1
    luma: np.ndarray  # 16
    edges: np.ndarray  # 8

    @property
    def signature(self) -> str:
        g = self.grid
        span = float(g.max() - g.min())
        levels = (
            np.zeros(g.shape, np.uint8) if span <= 0 else np.round((g - g.min()) / span * 15).astype(np.uint8)
        )
        flat = levels.ravel()
        packed = (flat[0::2] << 4 | flat[1::2]).astype(np.uint8)
        hists = np.concatenate([self.colour, self.luma, self.edges])
        data = packed.tobytes() + np.round(np.clip(hists, 0, 1) * 255).astype(np.uint8).tobytes()
        return base64.b64encode(data).decode("ascii")


def unpack(sig: str) -> Descriptor | None:
    """The descriptor a signature holds; None for an empty or malformed one."""
    try:
        data = base64.b64decode(sig.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(data) != SIGNATURE_BYTES:
        return None
    packed = np.frombuffer(data[:72], np.uint8)
    levels = np.empty(144, np.float32)
    levels[0::2], levels[1::2] = packed >> 4, packed & 15
    hists = np.frombuffer(data[72:], np.uint8).astype(np.float32) / 255.0
    return Descriptor(levels.reshape(GRID[1], GRID[0]), hists[:32], hists[32:48], hists[48:56])


def similarity(a: str, b: str) -> float:
    """How alike two frames look, 0 (nothing alike) to 1, from their signatures.

    Half structure (the correlation of 16x9 grey thumbnails, best over small shifts, so a slow
    pan or zoom stays alike) and half statistics that survive a pan: a hue and saturation
    histogram, a luma histogram and a gradient-strength histogram, both relative to the frame's
    own brightness, so a faded or blurred copy stays close to its scene.
    """
    x, y = unpack(a), unpack(b)
    return descriptor_similarity(x, y) if x is not None and y is not None else 0.0


def descriptor_similarity(
    x: Descriptor,
    y: Descriptor,
    *,
    at_least: float = 0.0,
    correlate: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> float:
    """similarity() of two descriptors; below ``at_least`` it may return any lower value early.
    `correlate`: shifted_correlation, or the same computed otherwise (jobs/frames.py passes
    OpenCV's matchTemplate, 4 times as fast, for the thousands of comparisons of a selection)."""
    correlate = correlate or shifted_correlation
    statistics = _statistics(x, y)
    if (2 + statistics) / 6 < at_least:
        return statistics / 6  # cannot reach it even with a perfect structure: skip the matching
    structure = max(correlate(x.grid, y.grid), correlate(y.grid, x.grid))
    return (2 * structure + statistics) / 6


def descriptors_alike(
    x: Descriptor,
    y: Descriptor,
    *,
    threshold: float,
    correlate: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> bool:
    """descriptor_similarity(x, y) >= threshold, with as little template matching as that
    answer needs: none when a perfect structure could not reach it, one direction when it is
    enough (the structure is the better of the two), both only when the first falls short."""
    correlate = correlate or shifted_correlation
    statistics = _statistics(x, y)
    if (2 + statistics) / 6 < threshold:
        return False
    if (2 * correlate(x.grid, y.grid) + statistics) / 6 >= threshold:
        return True
    return (2 * correlate(y.grid, x.grid) + statistics) / 6 >= threshold


def _statistics(x: Descriptor, y: Descriptor) -> float:
    """The histogram part of the similarity, 0 to 4 (six times its weight)."""
    return (
        float(np.minimum(x.colour, y.colour).sum())
        + float(np.minimum(x.luma, y.luma).sum())
        + 2 * float(np.minimum(x.edges, y.edges).sum())
    )


def shifted_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation of the middle of ``a`` (12x7) with any same-sized window of ``b``:
    OpenCV's matchTemplate with TM_CCOEFF_NORMED, in numpy (15 windows of 84 values, gathered
    by one index array), to within 1e-7."""
    centre = a[1:-1, 2:-2]
    if float(centre.max()) == float(centre.min()):
        # A flat thumbnail correlates with nothing; two flat ones are alike.
        return 1.0 if float(b.max()) == float(b.min()) else 0.0
    t = centre.ravel().astype(np.float64)
    t -= t.mean()
    w = b.ravel().astype(np.float64)[_WINDOWS]
    w -= w.mean(axis=1, keepdims=True)
    numerator = w @ t
    denominator = np.sqrt((w * w).sum(axis=1) * float(t @ t))
    # A flat window of b correlates with nothing (OpenCV answers 0 there too).
    scores = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 1e-9)
    best = float(scores.max())
    return min(1.0, best) if math.isfinite(best) else 0.0


def _windows() -> np.ndarray:
    """Indices into a flattened 9x16 grid of its 15 windows of 7x12, one row each."""
    width, height = GRID
    rows, cols = np.arange(height - 2)[:, None], np.arange(width - 4)[None, :]
    window = (rows * width + cols).ravel()
    starts = [y * width + x for y in range(3) for x in range(5)]
    return np.array([start + window for start in starts])


_WINDOWS = _windows()


# --- Keys for the index -----------------------------------------------------------------------
# Random-hyperplane LSH (SimHash): each frame gets BANDS keys, each the signs of BITS random
# projections of a feature vector whose cosine follows similarity(): the centred grey grid
# (correlation is the cosine of centred vectors) and the square roots of the histograms, centred
# on a flat histogram (their cosine follows the overlap), each block of unit length and weighted
# as similarity() weighs it (grid 2, colour 1, luma 1, edges 2). Two frames at cosine c agree on
# a bit with probability 1 - acos(c)/pi, so they share a band with (1 - acos(c)/pi) ** BITS and
# some band with 1 - (1 - that) ** BANDS: 0.9 for c = 0.9, 0.7 for c = 0.8, and unrelated frames
# (c about 0) share one with 0.2%: at a million frames a frame has a few thousand candidates,
# ranked by how many keys they share; the best of them are ranked by similarity() itself.
# Changing BANDS, BITS or the seed changes every key: the table must then be filled again.
BANDS = 10
BITS = 12
_WEIGHTS = (2.0, 1.0, 1.0, 2.0)
_DIMENSIONS = 144 + 32 + 16 + 8
_PLANES = np.random.default_rng(20261202).standard_normal((BANDS * BITS, _DIMENSIONS))
_POWERS = 1 << np.arange(BITS)


def _block(values: np.ndarray, centre: float, weight: float) -> np.ndarray:
    v = values.astype(np.float64).ravel() - centre
    norm = float(np.linalg.norm(v))
    return v * (math.sqrt(weight) / norm) if norm > 1e-9 else np.zeros_like(v)


def keys(sig: str) -> list[int]:
    """The frame's BANDS index keys (band * 2**BITS + the band's bits); none without a signature."""
    d = unpack(sig)
    if d is None:
        return []
    grid = d.grid.astype(np.float64)
    features = np.concatenate(
        [
            _block(grid, float(grid.mean()), _WEIGHTS[0]),
            _block(np.sqrt(d.colour), math.sqrt(1 / 32), _WEIGHTS[1]),
            _block(np.sqrt(d.luma), math.sqrt(1 / 16), _WEIGHTS[2]),
            _block(np.sqrt(d.edges), math.sqrt(1 / 8), _WEIGHTS[3]),
        ]
    )
    bits = (_PLANES @ features > 0).reshape(BANDS, BITS)
    return [band << BITS | int(bits[band] @ _POWERS) for band in range(BANDS)]
