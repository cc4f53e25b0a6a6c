"""reverse() for the links every page repeats, worked out once per process.

Every page links the menu and a gallery page links each of its tiles twice; Django's reverse()
walks the URL resolver each time, tens of microseconds a call, which added up to a good share of
those pages (tests/bench/bench_site.py). A route is reversed once per shape of its arguments,
with a marker in place of each id, and later links only put the ids in.

Where links start from (the script prefix and the URLconf) is read once per request by
LinkBaseMiddleware: Django keeps both in context-locals that cost several microseconds a read,
more than the rest of a link.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, get_urlconf, reverse

# No id reaches this, and it cannot be confused with the rest of a path.
_MARK = 987_654_321_000


def link(name: str, *args: int | str) -> str:
    """reverse(name, args=args) for ids (int) and words (str, a small fixed set: part of the key)."""
    shape = tuple(arg if isinstance(arg, str) else int for arg in args)
    return _join(_parts(name, shape, *base()), args)


def base() -> tuple[str, str | None]:
    """What links are made relative to: the script prefix and the URLconf of this request, as
    LinkBaseMiddleware read them; outside a request, read now."""
    where = _request_base.get()
    return where if where is not None else (get_script_prefix(), get_urlconf())


_request_base: ContextVar[tuple[str, str | None] | None] = ContextVar("inspire_link_base", default=None)


class LinkBaseMiddleware:
    """Reads base() once for the whole request (last in MIDDLEWARE: Django has set the script
    prefix and the URLconf by then; a request's own urlconf is the one it will resolve with)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        urlconf = getattr(request, "urlconf", None) or get_urlconf()
        token = _request_base.set((get_script_prefix(), urlconf))
        try:
            return self.get_response(request)
        finally:
            _request_base.reset(token)


def linker(name: str, *shape: str | type[int]) -> Callable[..., str]:
    """link() for many ids of one route, the route looked up once: a page of tiles links each
    of them. `int` stands for an id: linker("gallery:frame_file", int, "thumb")(frame_id)."""
    parts = _parts(name, shape, *base())
    return lambda *args: _join(parts, args)


def _join(parts: list[str], args: tuple) -> str:
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
