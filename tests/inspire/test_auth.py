"""Who is signed in comes from the shared cache, and every change to a user reaches it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from inspire.auth import CachedModelBackend, _key

FAVOURITES = "/favourites/"


def _copy_of(client: Client) -> Client:
    """A second browser holding the same session cookie, e.g. a stolen one."""
    twin = Client()
    twin.cookies = client.cookies
    return twin


def test_it_loads_the_user_once_then_serves_it_from_the_cache(owner, django_assert_num_queries) -> None:
    client = Client()
    client.force_login(owner)  # saves last_login, which drops any cached copy
    assert cache.get(_key(owner.pk)) is None
    client.get(FAVOURITES)
    assert cache.get(_key(owner.pk)) == owner
    # Then no query for the session or the user: the gallery's own two only.
    with django_assert_num_queries(2):
        assert client.get(FAVOURITES).status_code == 200


def test_it_ends_the_session_everywhere_on_log_out(owner_client) -> None:
    twin = _copy_of(owner_client)
    assert twin.get(FAVOURITES).status_code == 200
    owner_client.post(reverse("logout"))
    response = twin.get(FAVOURITES)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_signs_out_other_sessions_when_the_password_changes(owner, owner_client) -> None:
    assert owner_client.get(FAVOURITES).status_code == 200
    user = get_user_model().objects.get(pk=owner.pk)  # as a management command would
    user.set_password("An0ther-passw0rd!")
    user.save()
    assert owner_client.get(FAVOURITES).status_code == 302


def test_it_signs_out_a_deactivated_or_deleted_user(owner, owner_client, other, other_client) -> None:
    assert owner_client.get(FAVOURITES).status_code == 200
    owner.is_active = False
    owner.save()
    assert owner_client.get(FAVOURITES).status_code == 302
    assert other_client.get(FAVOURITES).status_code == 200
    other.delete()
    assert other_client.get(FAVOURITES).status_code == 302


def test_it_survives_losing_the_cache(owner, owner_client) -> None:
    cache.clear()  # sessions are written through to the database
    assert owner_client.get(FAVOURITES).status_code == 200
    assert CachedModelBackend().get_user(owner.pk) == owner
