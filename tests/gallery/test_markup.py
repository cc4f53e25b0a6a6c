"""gallery's markup tags ({% palette %}, {% favourite_tiles %}, {% inspire_frame %}) and the
filter form's text input: the markup a template would write, every value escaped."""

from __future__ import annotations

import re

from django import forms
from django.template import engines
from django.test import RequestFactory

from gallery.forms import FastTextInput
from gallery.models import GalleryTile

HOSTILE = '"><script>alert(1)</script>&'
ESCAPED = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;"


def _attributes(tag: str) -> dict[str, str]:
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def _render(source: str, **context) -> str:
    return engines["django"].from_string("{% load gallery_markup %}" + source).render(context)


def test_it_draws_a_swatch_per_colour() -> None:
    html = _render("{% palette colours %}", colours=["#102030", "#A0B0C0"])
    assert html.count('role="img"') == 2
    assert '<span style="background:#102030" title="#102030" role="img" aria-label="#102030"></span>' in html
    assert html.startswith('<div class="palette" aria-label="Colour palette">')


def test_it_leaves_out_anything_but_a_colour() -> None:
    # A palette goes into a style attribute: nothing else may reach it.
    html = _render("{% palette colours %}", colours=["#102030", "red;background:url(x)", 5, None, "#12345"])
    assert html.count('role="img"') == 1 and "url(" not in html
    assert _render("{% palette colours %}", colours=[]) == ""
    assert _render("{% palette colours %}", colours=None) == ""


def test_it_escapes_every_value_of_a_tile() -> None:
    tile = GalleryTile(
        id=1, url=HOSTILE, thumbnail_url=HOSTILE, video=HOSTILE, timestamp_label="1:05", note=HOSTILE
    )
    html = _render("{% favourite_tiles tiles %}", tiles=[tile])
    assert "<script>" not in html
    assert html.count(ESCAPED) == 5  # link, image, alt text, title, note


def test_it_cuts_a_long_note_on_its_tile() -> None:
    tile = GalleryTile(
        id=1, url="/f/1", thumbnail_url="/t/1", video="V", timestamp_label="0:01", note="x" * 100
    )
    html = _render("{% favourite_tiles tiles %}", tiles=[tile])
    assert "x" * 39 + "…" in html and "x" * 41 not in html


def test_it_escapes_every_value_of_the_inspire_frame() -> None:
    frame = {
        "id": 7,
        "image_url": HOSTILE,
        "video_title": HOSTILE,
        "timestamp_label": "1:05",
        "width": 854,
        "height": 480,
        "video_url": HOSTILE,
        "palette": ["#102030"],
        "saved": True,
        "save_url": HOSTILE,
        "unsave_url": HOSTILE,
        "source_link": "",
        "download_url": HOSTILE,
    }
    request = RequestFactory().get("/")
    html = (
        engines["django"]
        .from_string("{% load gallery_markup %}{% inspire_frame frame random_url=url here=url %}")
        .render({"frame": frame, "url": HOSTILE}, request)
    )
    assert "<script>" not in html
    assert 'data-saved="true"' in html and "Saved ✓" in html
    assert 'id="source-link" href="#"' in html and 'rel="noopener noreferrer" hidden>' in html
    assert 'name="csrfmiddlewaretoken" value="' in html  # a form of this request


def test_its_text_input_renders_as_djangos() -> None:
    for value in (None, "", HOSTILE):
        attrs = {"id": "id_title", "maxlength": 200}
        ours = FastTextInput(attrs={"type": "search", "placeholder": "Words"}).render("title", value, attrs)
        django = forms.TextInput(attrs={"type": "search", "placeholder": "Words"}).render(
            "title", value, attrs
        )
        assert ours.startswith("<input ") and ours.endswith(">")
        assert _attributes(ours) == _attributes(django)
