"""The Postgres backend's health check: no round trip for a healthy connection, and a
connection the server closed is seen as closed (and replaced) before a request uses it."""

from __future__ import annotations

import os
import select
import time

import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" and not os.environ.get("CI"),
        reason="needs Postgres (DATABASE_URL); CI runs it there",
    ),
]


@pytest.fixture
def wrapper():
    """A connection of its own to the test database, as a web process holds one."""
    assert connection.vendor == "postgresql", "the suite must run on Postgres under CI"
    own = connection.copy()
    own.settings_dict["CONN_HEALTH_CHECKS"] = True
    own.ensure_connection()
    yield own
    own.close()


def _terminate(wrapper) -> None:
    """Have the server end the connection (as a restart or an idle timeout does), then wait
    until the news reaches the client's socket."""
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    deadline = time.monotonic() + 10
    while not select.select([wrapper.connection.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the server did not close the connection"


def test_it_uses_the_inspire_backend() -> None:
    assert connection.settings_dict["ENGINE"] == "inspire.postgresql"


def test_it_trusts_an_idle_connection_without_asking_the_server(wrapper, monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(
        django_postgresql.DatabaseWrapper, "is_usable", lambda self: asked.append(self) or True
    )
    assert wrapper.is_usable() is True
    assert asked == []


def test_it_sees_a_connection_the_server_closed(wrapper) -> None:
    _terminate(wrapper)
    assert wrapper.is_usable() is False


def test_it_replaces_a_closed_connection_before_the_next_request_uses_it(wrapper) -> None:
    _terminate(wrapper)
    # What Django does at the start of a request with a persistent connection.
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:  # the health check runs here, before the query
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone() == (42,)


def test_it_asks_the_server_when_something_arrived(wrapper, monkeypatch) -> None:
    """Anything waiting on the socket (a notice, a notification) gets Django's own check."""
    with wrapper.cursor() as cursor:
        cursor.execute("LISTEN inspire_health")
    with connection.cursor() as cursor:
        cursor.execute("NOTIFY inspire_health")
    deadline = time.monotonic() + 10
    while not select.select([wrapper.connection.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the notification did not arrive"
    asked = []
    real = django_postgresql.DatabaseWrapper.is_usable
    monkeypatch.setattr(
        django_postgresql.DatabaseWrapper, "is_usable", lambda self: asked.append(self) or real(self)
    )
    assert wrapper.is_usable() is True
    assert asked == [wrapper]
