"""inspire.links and the {% link %} tag: the same URLs as reverse(), worked out once."""

from __future__ import annotations

import pytest
from django.template import engines
from django.urls import NoReverseMatch, reverse, set_script_prefix

from inspire.links import base, link, linker

ROUTES = [
    ("gallery:home", ()),
    ("gallery:favourite", (7,)),
    ("gallery:frame_file", (12345, "thumb")),
    ("gallery:frame_file", (9, "download")),
]


@pytest.fixture
def prefix():
    """A site served under a sub-path (SCRIPT_NAME), as Django sets it for each request."""
    set_script_prefix("/sub/")
    yield "/sub/"
    set_script_prefix("/")


@pytest.mark.parametrize(("name", "args"), ROUTES)
def test_it_links_as_reverse_does(name, args) -> None:
    assert link(name, *args) == reverse(name, args=args)
    assert link(name, *args) == reverse(name, args=args)  # the second time from what it kept


@pytest.mark.parametrize(("name", "args"), ROUTES)
def test_it_links_under_the_script_prefix(prefix, name, args) -> None:
    assert link(name, *args) == reverse(name, args=args)
    assert link(name, *args).startswith(prefix)


def test_it_links_many_ids_of_one_route(prefix) -> None:
    thumbnail = linker("gallery:frame_file", int, "thumb")
    assert [thumbnail(pk) for pk in (1, 22, 333)] == [
        reverse("gallery:frame_file", args=[pk, "thumb"]) for pk in (1, 22, 333)
    ]


def test_it_refuses_arguments_that_do_not_fit_the_route_as_reverse_does() -> None:
    with pytest.raises(NoReverseMatch):
        link("gallery:favourite", "seven")  # a word where the route takes an id


def test_the_tag_links_as_reverse_does(prefix) -> None:
    template = engines["django"].from_string(
        "{% link 'gallery:home' %}|{% link 'gallery:frame_file' pk 'thumb' %}|"
        "{% link 'gallery:favourite' pk %}"
    )
    assert template.render({"pk": 42}).split("|") == [
        reverse("gallery:home"),
        reverse("gallery:frame_file", args=[42, "thumb"]),
        reverse("gallery:favourite", args=[42]),
    ]


@pytest.mark.django_db
def test_pages_link_under_the_script_prefix(prefix, owner_client) -> None:
    html = owner_client.get("/").content.decode()  # the path after the prefix
    assert 'href="/sub/inspire/"' in html and 'href="/inspire/"' not in html
    assert base() == ("/sub/", None)  # outside a request, read as it is now


def test_it_reads_the_base_of_the_request_it_is_in(rf) -> None:
    from django.http import HttpResponse

    from inspire.links import LinkBaseMiddleware

    seen = []
    set_script_prefix("/mounted/")
    try:
        LinkBaseMiddleware(lambda request: seen.append(link("gallery:home")) or HttpResponse())(rf.get("/"))
    finally:
        set_script_prefix("/")
    assert seen == ["/mounted/"]
    assert link("gallery:home") == "/"
