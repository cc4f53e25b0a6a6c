"""The CSRF token of forms, masked with one draw from the OS's random source.

Django masks the token of each page (so that a compressed page does not leak the secret,
BREACH) with 32 random characters, drawn one `secrets.choice` at a time: 32 calls into the OS,
about 70 microseconds on the bench machine, on every page with a form, and every signed-in page
has one (the logout button; tests/bench/bench_site.py). Here the 32 characters come from one
`secrets.token_bytes` call. The token is the one Django makes: 32 random characters of
CSRF_ALLOWED_CHARS, then the secret with each character shifted by the one above it; Django's
CsrfViewMiddleware checks it as its own (tests/inspire/test_csrf.py).

Registered after Django's csrf context processor in settings.TEMPLATES, so its `csrf_token`
is the one {% csrf_token %} writes.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.utils.functional import SimpleLazyObject

_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}
# Bytes below this map evenly onto the characters (256 is not a multiple of 62); others are
# thrown away, so each character of the mask is as likely as any other.
_EVEN_BELOW = 256 - 256 % len(CSRF_ALLOWED_CHARS)


def csrf(request: HttpRequest) -> dict[str, SimpleLazyObject]:
    """Context processor: `csrf_token`, made only if the page writes it."""
    return {"csrf_token": SimpleLazyObject(lambda: masked_token(request))}


def masked_token(request: HttpRequest) -> str:
    """What django.middleware.csrf.get_token() returns, with a cheaper mask."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None or len(secret) != CSRF_SECRET_LENGTH or secret.strip(CSRF_ALLOWED_CHARS):
        return get_token(request)  # no secret yet: Django makes one and sends its cookie
    # As get_token(): the cookie is in use, so send it again to renew its expiry.
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = random_chars(CSRF_SECRET_LENGTH)
    n = len(CSRF_ALLOWED_CHARS)
    return mask + "".join(
        CSRF_ALLOWED_CHARS[(_INDEX[s] + _INDEX[m]) % n] for s, m in zip(secret, mask, strict=True)
    )


def random_chars(length: int) -> str:
    """`length` characters of CSRF_ALLOWED_CHARS, each uniformly random, from `secrets`."""
    n = len(CSRF_ALLOWED_CHARS)
    chars: list[str] = []
    while len(chars) < length:
        chars += [
            CSRF_ALLOWED_CHARS[b % n] for b in secrets.token_bytes(length + length // 4) if b < _EVEN_BELOW
        ]
    return "".join(chars[:length])
