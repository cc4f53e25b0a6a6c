"""{% link "gallery:frame_file" frame.pk "thumb" %} and {% asset "css/site.css" %}: the {% url %} and
{% static %} tags, worked out once per process (see inspire.links)."""

import functools

from django import template
from django.templatetags.static import static

from inspire import links

register = template.Library()


@register.simple_tag(takes_context=True)
def link(context, name: str, *args) -> str:
    # A page has a dozen links or more: where they start from is read once per page.
    render_context = context.render_context
    where = render_context.get(_BASE)
    if where is None:
        where = render_context[_BASE] = links.base()
    return links.link_from(where, name, *args)


_BASE = object()  # the render context's key for links.base()


@register.simple_tag
def asset(path: str) -> str:
    """{% static %} worked out once per process: the manifest does not change while it runs."""
    return _asset(path)


@functools.lru_cache(maxsize=128)
def _asset(path: str) -> str:
    return static(path)
