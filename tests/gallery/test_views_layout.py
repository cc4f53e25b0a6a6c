"""What every page shares (templates/base.html, partials/_topbar.html): the top bar each user
sees, and the CSRF field of its logout form."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _bar(client: Client, name: str = "gallery:home") -> str:
    html = client.get(reverse(name)).content.decode()
    return html[html.index('<header class="topbar">') : html.index("</header>")]


def test_it_shows_each_user_their_own_name(owner_client, other_client) -> None:
    assert 'data-testid="username">owner<' in _bar(owner_client)
    assert 'data-testid="username">other<' in _bar(other_client)
    assert "owner" not in _bar(other_client)


def test_it_escapes_the_name() -> None:
    client = Client()
    client.force_login(factories.UserFactory(username="<b>&amp"))
    assert 'data-testid="username">&lt;b&gt;&amp;amp<' in _bar(client)


def test_it_marks_the_page_the_user_is_on(owner_client) -> None:
    current = re.compile(r'<a href="([^"]+)" aria-current="page">')
    assert current.findall(_bar(owner_client, "gallery:home")) == [reverse("gallery:home")]
    assert current.findall(_bar(owner_client, "gallery:favourites")) == [reverse("gallery:favourites")]
    assert current.findall(_bar(owner_client, "jobs:add")) == []


def test_it_links_the_admin_for_staff_only(owner_client, staff_client) -> None:
    assert reverse("admin:index") in _bar(staff_client)
    assert reverse("admin:index") not in _bar(owner_client)


def test_it_follows_a_change_of_name_or_staff_status(owner, owner_client) -> None:
    _bar(owner_client)
    owner.username, owner.is_staff = "renamed", True
    owner.save()
    bar = _bar(owner_client)
    assert 'data-testid="username">renamed<' in bar and reverse("admin:index") in bar


def test_it_offers_log_in_and_sign_up_when_signed_out(anon_client) -> None:
    bar = _bar(anon_client, "login")
    assert reverse("signup") in bar and "Log out" not in bar and "csrfmiddlewaretoken" not in bar


def test_it_logs_out_with_the_token_of_the_page_only(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(reverse("gallery:home"))  # the CSRF cookie
    bar = _bar(client)
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', bar).group(1)
    assert token != re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', _bar(client)).group(1)
    forged = token[:32] + token[32:][::-1]
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": forged}).status_code == 403
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_serves_assets_through_the_static_tag(owner_client) -> None:
    html = owner_client.get(reverse("gallery:inspire")).content.decode()
    assert 'href="/static/css/site.css"' in html and 'src="/static/js/inspire.js"' in html
