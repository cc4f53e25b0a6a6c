"""{% link "gallery:frame_file" frame.pk "thumb" %} and {% asset "css/site.css" %}: the {% url %} and
{% static %} tags, worked out once per process (see inspire.links)."""

import functools

from django import template
from django.templatetags.static import static

from inspire import links

register = template.Library()


@register.simple_tag
def link(name: str, *args) -> str:
    return links.link(name, *args)


@register.simple_tag
def asset(path: str) -> str:
    """{% static %} worked out once per process: the manifest does not change while it runs."""
    return _asset(path)


@functools.lru_cache(maxsize=128)
def _asset(path: str) -> str:
    return static(path)
