"""Colours as people see them: CIE Lab (D65) through coloraide, and the bins of the colour index.

"Frames with this colour" ranks by CIE ΔE76, the Euclidean distance in Lab, rather than ΔE2000:
being a distance in the space the index cuts into cubes, the cubes within a radius hold exactly
the colours within that ΔE, and the database can rank them with plain arithmetic (ORM
expressions) and send only a page of frames. ΔE2000 refines ΔE76 for small differences near the
threshold of seeing; it is not a distance in Lab, so it could only be ranked in Python over every
candidate the cubes hold (hundreds of thousands at a million frames).
"""

from __future__ import annotations

import functools
import math
import re

from coloraide import Color

SPACE = "lab-d65"  # what coloraide's ΔE76 measures in
BIN = 10.0  # the side of a bin (a cube of Lab), in ΔE
SEARCH_RADIUS = 15.0  # ΔE76 within which a colour counts as "this colour"
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
# Bins numbered from the cube's coordinates: L in 0..100, a and b within ±160 (sRGB reaches
# about ±128); 64 values per axis leaves room either side.
_AXIS = 64
_OFFSET = 32


def parse_hex(value: str) -> str | None:
    """'#rrggbb' in lower case from what a user typed or a picker sent ('#AbC123', 'abc123');
    None when it is not a colour of six hex digits."""
    match = _HEX.fullmatch((value or "").strip())
    return f"#{match.group(1).lower()}" if match else None


@functools.lru_cache(maxsize=65536)
def lab(hex_colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB '#rrggbb' colour."""
    lightness, a, b = Color(hex_colour).convert(SPACE).coords()
    return float(lightness), float(a), float(b)


def delta_e(hex_a: str, hex_b: str) -> float:
    """CIE ΔE76 between two '#rrggbb' colours, by coloraide."""
    return float(Color(hex_a).delta_e(hex_b, method="76"))


def _cell(value: float) -> int:
    return math.floor(value / BIN)


def _number(cells: tuple[int, int, int]) -> int:
    """The number of the bin at these cube coordinates (L, a, b)."""
    lightness, a, b = (c + _OFFSET for c in cells)
    return (lightness * _AXIS + a) * _AXIS + b


def bin_of(point: tuple[float, float, float]) -> int:
    """The number of the bin (a cube of side BIN) that holds a Lab point."""
    return _number((_cell(point[0]), _cell(point[1]), _cell(point[2])))


def bins_within(point: tuple[float, float, float], radius: float) -> list[int]:
    """Every bin with a point within `radius` (ΔE76) of `point`: the cubes the ball touches."""
    ranges = [range(_cell(v - radius), _cell(v + radius) + 1) for v in point]
    found = []
    for i in ranges[0]:
        for j in ranges[1]:
            for k in ranges[2]:
                # The cube's nearest point to `point`, axis by axis.
                gap = 0.0
                for cell, v in zip((i, j, k), point, strict=True):
                    low, high = cell * BIN, (cell + 1) * BIN
                    nearest = min(max(v, low), high)
                    gap += (v - nearest) ** 2
                if gap <= radius * radius:
                    found.append(_number((i, j, k)))
    return found


def palette_points(palette: object) -> list[tuple[int, int, tuple[float, float, float]]]:
    """(position, bin, Lab) of each distinct '#rrggbb' colour of a stored palette (anything else
    in it is left out, as Frame.swatches does)."""
    points, seen = [], set()
    for position, value in enumerate(palette if isinstance(palette, list) else ()):
        colour = parse_hex(value) if isinstance(value, str) and value.startswith("#") else None
        if colour is None or colour in seen:
            continue
        seen.add(colour)
        point = lab(colour)
        points.append((position, bin_of(point), point))
    return points
