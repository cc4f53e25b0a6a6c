"""Who is asking, and how often: the address axes locks out, its lockout page, and the sign-up
throttle (axes only watches logins)."""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

SIGNUP_WINDOW_S = 3600


def client_ip(request: HttpRequest) -> str:
    """The address of the person asking. Behind the proxy (BEHIND_PROXY=1) every connection comes
    from nginx, so it is the last entry of X-Forwarded-For: the one nginx appended itself, which
    a client cannot forge (the entries before it are whatever the client sent)."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """axes' AXES_LOCKOUT_CALLABLE: the lockout page in the site's layout, saying when to come back.
    Each try during the lockout starts the cool-off again (axes' default), so the whole cool-off
    is what is left now."""
    wait = settings.AXES_COOLOFF_TIME.total_seconds()
    return render(
        request,
        "registration/lockout.html",
        {"wait": wait_text(wait), "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


def signup_wait(request: HttpRequest) -> float | None:
    """Counts one sign-up attempt from the request's address. Seconds until it may try again when
    it is over SIGNUP_ATTEMPTS_PER_HOUR in this clock hour, else None.

    A fixed window in the shared cache: the smallest thing that works across processes and
    hosts, with nothing to install or migrate. On the file cache `incr` is a read and a write,
    so racing requests may each count once less; that only loosens the limit by a few."""
    limit = settings.SIGNUP_ATTEMPTS_PER_HOUR
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // SIGNUP_WINDOW_S)
    key = f"signup-attempts:{client_ip(request)}:{window}"
    cache.add(key, 0, timeout=SIGNUP_WINDOW_S + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=SIGNUP_WINDOW_S + 60)
        count = 1
    if count <= limit:
        return None
    if count == limit + 1:
        logger.warning("Sign-ups throttled for %s: %d attempts this hour", client_ip(request), count)
    return (window + 1) * SIGNUP_WINDOW_S - now
