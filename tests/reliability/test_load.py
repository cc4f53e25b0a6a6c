"""20 signed-in users save and remove favourites for 20 s on a real gunicorn with the production
config (docker/gunicorn.conf.py), on 127.0.0.1, while its workers restart after max_requests
(set low here): no request may go unanswered, none may fail, and the database must hold exactly
the favourites the users were told they saved.

The users behave as browsers do (tests/bench/load.py Writer): a request that meets a kept
connection the server closed at that very moment gets no answer and is sent once more on a fresh
one; only what fails after that counts as unanswered."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from gallery.models import Favourite
from tests import factories
from tests.bench import load

USERS = 20
SECONDS = 20
FRAMES_EACH = 6
PAUSE_S = 6.0


def _database_env() -> dict[str, str]:
    """The test database, for the server process."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return {"SQLITE_PATH": str(db["NAME"])}
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return {
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    }


def _users() -> list[dict]:
    """Signed-in users with frames in their library: a session made as the login view makes it,
    and a CSRF secret as the cookie holds it (the header may carry the unmasked secret)."""
    users = []
    for i in range(USERS):
        user = factories.UserFactory(username=f"load{i}")
        video = factories.video_in_library(user, n_frames=FRAMES_EACH)
        client = Client()
        client.force_login(user)
        users.append(
            {
                "id": user.pk,
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "csrf": secrets.token_hex(16),
                "frames": list(video.frames.values_list("pk", flat=True)),
            }
        )
    return users


@pytest.mark.django_db(transaction=True)
def test_it_answers_every_save_across_worker_restarts(tmp_path: Path) -> None:
    users = _users()
    env = {
        **os.environ,
        **_database_env(),
        "DJANGO_SETTINGS_MODULE": "inspire.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # The test's own cache folder (tests/conftest.py): the sessions made above are in it.
        "CACHE_DIR": str(settings.CACHES["default"]["LOCATION"]),
        "INSPIRE_TEMP_DIR": str(tmp_path / "tmp"),
        # Restarts every few seconds even on a slow machine (two workers, one per core of CI's
        # runners); the rest is the production config.
        "GUNICORN_WORKERS": "2",
        "GUNICORN_MAX_REQUESTS": "40",
        "GUNICORN_MAX_REQUESTS_JITTER": "10",
    }
    log = tmp_path / "gunicorn.log"
    with load.gunicorn(env, log) as server:
        # Pauses longer than a stopping worker keeps its idle connections (2 s), some longer
        # than the old keep-alive (5 s).
        result = load.favourites_load(server, users, SECONDS, pause_s=PAUSE_S)

    text = log.read_text(errors="replace")
    print(
        f"\n{result.saves} saves, {result.removes} removes, {result.reads} reads in {result.seconds:.0f} s "
        f"({result.rate:.0f} req/s, p50 {result.quantile(0.5) * 1000:.0f} ms, p99 "
        f"{result.quantile(0.99) * 1000:.0f} ms), {result.recycles} worker restarts, "
        f"{result.retried} sent again after a kept connection closed, "
        f"{sum(result.resets.values())} unanswered, {dict(result.statuses)} failed"
    )
    assert result.recycles >= 1, f"no worker restarted after max_requests:\n{text[-3000:]}"
    assert dict(result.resets) == {}, f"requests left unanswered: {dict(result.resets)}"
    assert result.server_errors == 0 and dict(result.statuses) == {}, dict(result.statuses)
    assert "Traceback" not in text, text[-3000:]
    assert result.saves >= USERS and result.removes > 0 and result.reads > 0
    # No lost write: the database holds what each user was told, and the counts agree.
    for user in users:
        in_db = set(Favourite.objects.filter(user_id=user["id"]).values_list("frame_id", flat=True))
        assert in_db == result.saved[user["id"]], user["id"]
    assert Favourite.objects.count() == result.saves - result.removes


_ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"saved": true}'


def _serve(answers: int, connections: list[int], stop: threading.Event, server: socket.socket) -> None:
    """A raw server for the client test below: on each connection it answers `answers` requests
    with keep-alive, then closes on the next one without a byte of answer."""
    server.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        connections.append(1)
        with conn:
            conn.settimeout(5)
            for _ in range(answers):
                conn.recv(65536)
                conn.sendall(_ANSWER)
            conn.recv(65536)
            conn.shutdown(socket.SHUT_RDWR)  # the client reads the end of the stream


@pytest.mark.parametrize(
    ("answers", "retried", "connections"),
    [
        (2, 0, 1),  # kept connection answered: nothing sent again
        (1, 1, 2),  # kept connection closed under the second request: sent again on a new one
        (0, 0, 1),  # a new connection closed unanswered: an error, never sent again
    ],
)
def test_the_load_client_sends_again_only_what_a_kept_connection_dropped(
    answers: int, retried: int, connections: int
) -> None:
    """The Writer's one retry (what browsers do) covers exactly the race of a kept connection
    closed as the request goes out, so the zero above still means what it says."""
    seen: list[int] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = threading.Thread(target=_serve, args=(answers, seen, stop, server))
        thread.start()
        writer = load.Writer(server.getsockname()[1], {"session": "s", "csrf": "c"}, https=False)
        try:
            if answers == 0:
                with pytest.raises(http.client.RemoteDisconnected):
                    writer.request("POST", "/frames/1/save")
            else:
                for _ in range(2):
                    assert writer.request("POST", "/frames/1/save") == (200, b'{"saved": true}')
        finally:
            writer.close()
            stop.set()
            thread.join(5)
    assert (writer.retried, len(seen)) == (retried, connections)
