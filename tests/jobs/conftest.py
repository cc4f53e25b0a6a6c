"""Pipeline fixtures: a local media server with real generated videos, and the queue in sync mode."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_q.conf import Conf

from tests.httpserver import MediaServer
from tests.videos import make_video


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    root = tmp_path / "served"
    root.mkdir()
    with MediaServer(root) as server:
        yield server


@pytest.fixture
def server(library: Path) -> Iterator[MediaServer]:
    """A media server for the module's own `library` fixture (files made once per module)."""
    with MediaServer(library) as srv:
        yield srv


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """An empty folder to download into."""
    path = tmp_path / "dest"
    path.mkdir()
    return path


@pytest.fixture
def served_video(media_server: MediaServer) -> str:
    """URL of a 12 s H.264 mp4 with keyframes every 2 s."""
    make_video(media_server.root / "tour.mp4", seconds=12)
    return media_server.url("tour.mp4")


@pytest.fixture
def allow_private(settings) -> None:
    # The media server lives on 127.0.0.1, which production refuses on purpose.
    settings.INSPIRE_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def run_queue(monkeypatch, django_capture_on_commit_callbacks):
    """Run what the services enqueue, through django-q2's own sync mode, when the block commits."""
    monkeypatch.setattr(Conf, "SYNC", True)

    @contextlib.contextmanager
    def runner():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return runner
