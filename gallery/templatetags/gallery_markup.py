"""Markup of the pieces of the two busiest pages, written out in Python: the tiles of the
favourites gallery ({% favourite_tiles page %}), the frame of "Inspire me" ({% inspire_frame %})
and a frame's colour palette ({% palette frame.palette %}).

A gallery page shows two dozen tiles of seven values each; the Inspire frame has two dozen
values too. Through the template engine every value paid its own lookup, localisation and
escaping, about ten microseconds each on the bench machine, which together were the largest
part of the time of those pages (tests/bench/bench_site.py). Here each value is escaped once and
a piece is one format string. It is the markup a template would hold; its styles are .grid,
.tile, .inspire and .palette in static/css/site.css, and static/js/inspire.js updates the
Inspire frame in place (same ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from gallery.models import GalleryTile

register = template.Library()

NOTE_EXCERPT = 40  # characters of a note shown on its tile
_CSRF_FIELD = CsrfTokenNode()  # {% csrf_token %}

_TILE = (
    '<a class="tile" href="{url}" data-testid="favourite-tile">'
    '<img src="{thumbnail_url}" alt="Saved frame of {video} at {timestamp_label}" loading="lazy" '
    'decoding="async" width="400" height="225">'
    '<div class="body"><span class="title">{video}</span>'
    '<span class="muted">{timestamp_label}{note}</span></div></a>\n'
)


@register.simple_tag
def favourite_tiles(tiles: Iterable[GalleryTile]) -> SafeString:
    return mark_safe("".join(_tile(tile) for tile in tiles))  # noqa: S308 (every value escaped)


def _tile(tile: GalleryTile) -> str:
    note = tile["note"]
    if len(note) > NOTE_EXCERPT:
        note = Truncator(note).chars(NOTE_EXCERPT)
    return _TILE.format(
        url=escape(tile["url"]),
        thumbnail_url=escape(tile["thumbnail_url"]),
        video=escape(tile["video"]),
        timestamp_label=escape(tile["timestamp_label"]),
        note=f" · {escape(note)}" if note else "",
    )


_SWATCH = '<span style="background:{0}" title="{0}" role="img" aria-label="{0}"></span>'
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@register.simple_tag
def palette(colours: list[str] | None) -> SafeString:
    """The swatches of a palette ('#rrggbb' colours from the pipeline); nothing without one.
    Anything else than such a colour is left out: it goes into a style attribute."""
    swatches = "".join(
        _SWATCH.format(c) for c in colours or () if isinstance(c, str) and _COLOUR.fullmatch(c)
    )
    if not swatches:
        return mark_safe("")
    return mark_safe(f'<div class="palette" aria-label="Colour palette">{swatches}</div>')  # noqa: S308


_INSPIRE_FRAME = """\
<section class="inspire" id="inspire" data-random-url="{random_url}" data-frame-id="{id}"
         aria-label="A random frame">
  <figure>
    <img id="frame-image" src="{image_url}" alt="Frame of {video_title} at {timestamp_label}"
         width="{width}" height="{height}">
  </figure>
  <div class="row spread">
    <div><strong><a id="frame-video" href="{video_url}">{video_title}</a></strong> ·
      <span class="muted" id="frame-time">{timestamp_label}</span></div>
    <div id="frame-palette">{palette}</div>
  </div>
  <div class="row actions">
    <form method="post" id="save-form" action="{action}"
          data-save-url="{save_url}" data-unsave-url="{unsave_url}">
      {csrf_input}<input type="hidden" name="next" value="{here}">
      <button class="button" id="save-button" type="submit" data-saved="{saved}"
              aria-pressed="{saved}">{save_label}</button>
    </form>
    <a class="button secondary" id="another" href="{here}">Another one</a>
    <a class="button secondary" id="source-link" href="{source_link}" target="_blank"
       rel="noopener noreferrer"{source_hidden}>Open the video at this moment</a>
    <a class="button secondary" id="download" href="{download_url}" download>Download</a>
  </div>
  <p class="muted" id="inspire-status" role="status" aria-live="polite"></p>
  <p class="muted hint">Keyboard: <kbd>Space</kbd> or <kbd>→</kbd> another one, <kbd>S</kbd> save.</p>
</section>"""


@register.simple_tag(takes_context=True)
def inspire_frame(context: template.Context, frame: dict, *, random_url: str, here: str) -> SafeString:
    """The frame of "Inspire me" with its buttons. `frame` is the dict of gallery.views.frame_data
    (what "Another one" fetches as JSON); `here` is the page's own address, to come back to."""
    saved = bool(frame["saved"])
    html = _INSPIRE_FRAME.format(
        random_url=escape(random_url),
        id=int(frame["id"]),
        image_url=escape(frame["image_url"]),
        video_title=escape(frame["video_title"]),
        timestamp_label=escape(frame["timestamp_label"]),
        width=int(frame["width"]),
        height=int(frame["height"]),
        video_url=escape(frame["video_url"]),
        palette=palette(frame["palette"]),
        action=escape(frame["unsave_url"] if saved else frame["save_url"]),
        save_url=escape(frame["save_url"]),
        unsave_url=escape(frame["unsave_url"]),
        csrf_input=_CSRF_FIELD.render(context),
        here=escape(here),
        saved="true" if saved else "false",
        save_label="Saved ✓" if saved else "Save",
        source_link=escape(frame["source_link"] or "#"),
        source_hidden="" if frame["source_link"] else " hidden",
        download_url=escape(frame["download_url"]),
    )
    return mark_safe(html)  # noqa: S308 (every value escaped or a number)
