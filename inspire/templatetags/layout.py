"""{% topbar %}: the top bar of every page, rendered once per user and page kind.

The bar (menu, the page the user is on, their name, the admin link for staff) is the same on
every page of one kind for one user, yet through the template engine it was a tenth of a
millisecond of each page (tests/bench/bench_site.py). It is rendered from
templates/partials/_topbar.html once per process for each combination of what it shows, and
kept; only the CSRF field of the logout button is made for each page.
"""

from __future__ import annotations

import functools

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from inspire import links

register = template.Library()

# Stands for the CSRF field while the bar is rendered for keeping; no user's text contains it.
_CSRF_SLOT = "\x00csrf\x00"
_CSRF_FIELD = CsrfTokenNode()  # {% csrf_token %}, written for each page


@register.simple_tag(takes_context=True)
def topbar(context: template.Context) -> SafeString:
    user = context.get("user")
    signed_in = bool(user and user.is_authenticated)
    match = getattr(context.get("request"), "resolver_match", None)
    before, after = _topbar(
        signed_in,
        user.get_username() if signed_in else "",
        signed_in and user.is_staff,
        match.view_name if match else "",
        links.base(),
    )
    if not after:  # signed out: no form, no CSRF field
        return before
    return mark_safe(before + _CSRF_FIELD.render(context) + after)  # noqa: S308 (rendered with escaping, as is the field)


@functools.lru_cache(maxsize=1024)
def _topbar(
    signed_in: bool, username: str, is_staff: bool, view: str, where: tuple[str, str | None]
) -> tuple[SafeString, SafeString]:
    """The bar, split where the CSRF field goes. `where` (links.base()) is part of the key: the
    links depend on the script prefix and the URLconf."""
    html = render_to_string(
        "partials/_topbar.html",
        {
            "signed_in": signed_in,
            "username": username,
            "is_staff": is_staff,
            "view": view,
            "csrf_input": mark_safe(_CSRF_SLOT),  # noqa: S308 (a constant)
        },
    )
    before, _, after = html.partition(_CSRF_SLOT)
    return mark_safe(before), mark_safe(after)  # noqa: S308 (rendered with escaping)
