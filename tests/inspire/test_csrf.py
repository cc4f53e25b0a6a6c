"""inspire.csrf: the CSRF token of pages, masked with one random draw, is Django's token."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
from django.test import Client, RequestFactory
from django.urls import reverse

from inspire.csrf import masked_token, random_chars

SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"


def _token_on(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', html).group(1)


def test_it_masks_the_secret_as_django_unmasks_it() -> None:
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = SECRET
    tokens = {masked_token(request) for _ in range(50)}
    assert len(tokens) == 50  # a new mask each time
    assert {_unmask_cipher_token(token) for token in tokens} == {SECRET}
    assert all(len(token) == 64 and not token.strip(CSRF_ALLOWED_CHARS) for token in tokens)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True  # the cookie's expiry is renewed


def test_it_leaves_a_missing_secret_to_django() -> None:
    request = RequestFactory().get("/")
    token = masked_token(request)
    secret = request.META["CSRF_COOKIE"]  # made by Django, and sent as a new cookie
    assert len(secret) == 32 and request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token) == secret


def test_it_draws_every_character_evenly() -> None:
    counts = Counter(random_chars(62 * 4000))
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    # 4,000 expected each, give or take 63. Bytes taken modulo 62 without throwing any away
    # would favour 8 characters (about 4,840 each) and starve the rest (about 3,870).
    assert min(counts.values()) > 3_700 and max(counts.values()) < 4_300


@pytest.mark.django_db
def test_its_tokens_pass_djangos_csrf_check(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    first = client.get(reverse("gallery:home"))  # no CSRF cookie yet: Django makes the secret
    assert "csrftoken" in first.cookies
    page = client.get(reverse("gallery:home"))  # with the cookie: masked here
    token = _token_on(page.content.decode())
    assert _unmask_cipher_token(token) == client.cookies["csrftoken"].value
    forged = token[:32] + token[32:][::-1]
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": forged}).status_code == 403
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_write_this_token(owner, monkeypatch) -> None:
    client = Client()
    client.force_login(owner)
    client.get(reverse("gallery:home"))  # the CSRF cookie
    monkeypatch.setattr("inspire.csrf.random_chars", lambda length: "m" * length)
    token = _token_on(client.get(reverse("gallery:inspire")).content.decode())
    assert token.startswith("m" * 32)
