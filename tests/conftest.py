"""Fixtures shared by the whole suite: three users, media in tmp_path, a local media server."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests import factories


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path: Path) -> None:
    """Every test writes media and temporary downloads into its own folder."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media, "base_url": "/media/"},
        },
        # No collectstatic in unit tests: plain storage, no manifest needed.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.INSPIRE_TEMP_DIR = tmp_path / "work"
    # A cache of its own too: no session from another test.
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": tmp_path / "cache"}
        if settings.CACHE_BACKEND == "file"
        else settings.CACHES["default"],
    }


@pytest.fixture
def owner(db):
    return factories.UserFactory(username="owner")


@pytest.fixture
def other(db):
    return factories.UserFactory(username="other")


@pytest.fixture
def staff(db):
    return factories.UserFactory(username="staff", is_staff=True, is_superuser=True)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _signed_in(owner)


@pytest.fixture
def other_client(other) -> Client:
    return _signed_in(other)


@pytest.fixture
def staff_client(staff) -> Client:
    return _signed_in(staff)


@pytest.fixture
def anon_client(db) -> Client:
    return Client()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # PBKDF2 on purpose costs ~0.3 s per hash; tests create many users and log in often.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
