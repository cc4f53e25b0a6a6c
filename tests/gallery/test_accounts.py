import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

PASSWORD = "a-Strong-passw0rd"


@pytest.mark.django_db
def test_it_signs_up_and_logs_the_new_user_in(client) -> None:
    response = client.post(
        reverse("signup"),
        {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:home")
    assert User.objects.filter(username="ada").exists()
    home = client.get(reverse("gallery:home"))
    assert home.status_code == 200
    assert b"ada" in home.content
    assert b"Log out" in home.content


@pytest.mark.django_db
def test_it_shows_signup_errors_next_to_the_field(client) -> None:
    response = client.post(
        reverse("signup"), {"username": "ada", "password1": PASSWORD, "password2": "other"}
    )
    assert response.status_code == 400
    assert "password fields didn\u2019t match" in response.content.decode()
    assert not User.objects.filter(username="ada").exists()


def test_it_logs_in_and_out(owner, client) -> None:
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("gallery:home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("gallery:favourites")).status_code == 302
    # Home is the landing page again, not the library.
    assert client.get(reverse("gallery:home")).templates[0].name == "gallery/landing.html"


def test_it_rejects_a_wrong_password(owner, client) -> None:
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_it_changes_the_password(owner, owner_client) -> None:
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-Str0ng-one",
            "new_password2": "another-Str0ng-one",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another-Str0ng-one")


def test_it_mails_a_password_reset_link(owner, client) -> None:
    response = client.post(reverse("password_reset"), {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "name",
    ["gallery:favourites", "gallery:inspire", "jobs:add", "jobs:list", "password_change"],
)  # gallery:home shows them the landing page (tests/gallery/test_views_landing.py)
def test_it_sends_anonymous_visitors_to_log_in(anon_client, name) -> None:
    response = anon_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
