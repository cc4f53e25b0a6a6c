"""Brute force: django-axes locks an account and an address out after a few wrong passwords;
sign-ups are throttled per address (gallery/throttle.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from gallery import throttle
from tests import factories

PASSWORD = "a-Strong-passw0rd"


def _log_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client: Client, username: str, times: int, address: str = "127.0.0.1") -> list[int]:
    return [_log_in(client, username, "wrong", address).status_code for _ in range(times)]


def test_it_locks_an_account_out_after_the_failure_limit(owner, client, settings) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert _fail(client, "owner", 4) == [200] * 4
    assert _fail(client, "owner", 1) == [429]
    # The right password does not get through either while the lockout lasts.
    response = _log_in(client, "owner", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_says_when_to_try_again_in_the_sites_layout(owner, client) -> None:
    _fail(client, "owner", 5)
    response = _log_in(client, "owner", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please try again in 15 minutes." in html
    assert "after 5 wrong passwords" in html
    assert 'class="topbar"' in html and "/static/css/site.css" in html  # base.html
    assert reverse("password_reset") in html


def test_it_locks_the_account_for_every_address(owner, client) -> None:
    _fail(client, "owner", 5, address="10.0.0.1")
    assert _log_in(client, "owner", PASSWORD, address="10.0.0.2").status_code == 429


def test_it_locks_the_address_for_every_account(owner, other, client) -> None:
    for name in ("a", "b", "c", "d", "e"):
        _fail(client, name, 1, address="10.0.0.1")
    assert _log_in(client, "other", PASSWORD, address="10.0.0.1").status_code == 429
    # The same account from elsewhere is not locked: nobody failed on it.
    assert _log_in(client, "other", PASSWORD, address="10.0.0.2").status_code == 302


def test_it_forgets_the_failures_after_a_successful_login(owner, client) -> None:
    _fail(client, "owner", 4)
    assert _log_in(client, "owner", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    assert _fail(client, "owner", 4) == [200] * 4
    assert _log_in(client, "owner", PASSWORD).status_code == 302


def test_it_lets_the_account_in_again_after_the_cool_off(owner, client) -> None:
    _fail(client, "owner", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _log_in(client, "owner", PASSWORD).status_code == 302


def test_it_locks_the_admin_login_too(staff, client) -> None:
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "staff", "password": "wrong"})
    response = client.post(reverse("admin:login"), {"username": "staff", "password": PASSWORD})
    assert response.status_code == 429


def test_it_lets_staff_unlock_an_account_in_the_admin(owner, staff_client, client) -> None:
    _fail(client, "owner", 5)
    changelist = reverse("admin:axes_accessattempt_changelist")
    listing = staff_client.get(changelist)
    assert listing.status_code == 200
    assert "owner" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="owner")
    # Django's own "Delete selected" action, confirmed.
    response = staff_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _log_in(client, "owner", PASSWORD).status_code == 302


def test_it_keeps_the_access_attempts_from_other_users(owner, other_client) -> None:
    assert other_client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 302


def _sign_up(client: Client, username: str, address: str = "127.0.0.1"):
    data = {
        "username": username,
        "email": f"{username}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    return client.post(reverse("signup"), data, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_it_throttles_sign_ups_from_one_address(settings) -> None:
    settings.SIGNUP_ATTEMPTS_PER_HOUR = 3
    assert [_sign_up(Client(), f"user{i}").status_code for i in range(3)] == [302] * 3
    response = _sign_up(Client(), "one-too-many")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many sign-ups from your network. Please try again in" in html
    assert 'name="username"' in html  # the form is still there, for later
    assert not User.objects.filter(username="one-too-many").exists()
    # Failed forms count too: they are how a script probes for taken names.
    assert _sign_up(Client(), "user0").status_code == 429
    # Another address is not held back.
    assert _sign_up(Client(), "elsewhere", address="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_it_does_not_count_the_signup_page_itself(settings, client) -> None:
    settings.SIGNUP_ATTEMPTS_PER_HOUR = 1
    for _ in range(3):
        assert client.get(reverse("signup")).status_code == 200
    assert _sign_up(client, "ada").status_code == 302


def test_it_reads_the_address_nginx_saw_behind_the_proxy(settings) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.BEHIND_PROXY = True
    # The client wrote 6.6.6.6 itself; nginx appended the address it really came from.
    assert throttle.client_ip(request) == "203.0.113.7"
    settings.BEHIND_PROXY = False
    assert throttle.client_ip(request) == "172.18.0.5"


def test_it_tells_the_wait_in_whole_minutes() -> None:
    assert throttle.wait_text(1) == "1 minute"
    assert throttle.wait_text(61) == "2 minutes"
    assert throttle.wait_text(900) == "15 minutes"


def test_it_locks_out_through_the_proxy_by_the_real_address(settings, db) -> None:
    settings.BEHIND_PROXY = True
    factories.UserFactory(username="owner")
    client = Client()
    for name in ("a", "b", "c", "d", "e"):
        client.post(
            reverse("login"),
            {"username": name, "password": "x"},
            REMOTE_ADDR="172.18.0.5",
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    # Another visitor behind the same nginx is not locked out with them.
    ok = client.post(
        reverse("login"),
        {"username": "owner", "password": PASSWORD},
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert ok.status_code == 302
