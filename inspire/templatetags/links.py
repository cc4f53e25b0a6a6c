"""{% link "gallery:frame_file" frame.pk "thumb" %}: the {% url %} tag, by way of inspire.links."""

from django import template

from inspire.links import link as _link

register = template.Library()


@register.simple_tag
def link(name: str, *args) -> str:
    return _link(name, *args)
