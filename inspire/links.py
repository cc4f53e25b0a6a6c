"""reverse() for the links every page repeats, worked out once per process.

Every page links the menu and a gallery page links each of its tiles twice; Django's reverse()
walks the URL resolver each time, tens of microseconds a call, which added up to a good share of
those pages (tests/bench/bench_site.py). A route is reversed once per shape of its arguments,
with a marker in place of each id, and later links only put the ids in.
"""

from __future__ import annotations

import functools

from django.urls import get_script_prefix, get_urlconf, reverse

# No id reaches this, and it cannot be confused with the rest of a path.
_MARK = 987_654_321_000


def link(name: str, *args: int | str) -> str:
    """reverse(name, args=args) for ids (int) and words (str, a small fixed set: part of the key)."""
    shape = tuple(arg if isinstance(arg, str) else int for arg in args)
    parts = _parts(name, shape, get_script_prefix(), get_urlconf())
    pieces = [parts[0]]
    for value, part in zip((arg for arg in args if not isinstance(arg, str)), parts[1:], strict=True):
        pieces += [str(int(value)), part]
    return "".join(pieces)


@functools.lru_cache(maxsize=512)
def _parts(name: str, shape: tuple, prefix: str, urlconf: str | None) -> list[str]:
    marks = [str(_MARK + i) for i, kind in enumerate(shape) if kind is int]
    url = reverse(
        name, args=[_MARK + i if kind is int else kind for i, kind in enumerate(shape)], urlconf=urlconf
    )
    parts = []
    for mark in marks:
        head, found, url = url.partition(mark)
        if not found:  # a converter that changes ids (never ours): no shortcut for this route
            raise ValueError(f"{name} does not keep its arguments in its path")
        parts.append(head)
    return [*parts, url]
