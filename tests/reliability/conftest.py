"""The fault suite: real cluster processes against local servers that misbehave on purpose.

Each test asserts the end state in the database and on disk, and the message the user sees.
Timeouts and windows are short (through the cluster's environment) to keep the suite quick.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from jobs.models import Job
from tests.jobs.conftest import allow_private, media_server  # noqa: F401  (fixtures)


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path, str], Path]]:
    """Mount a real, small tmpfs at a folder (`mount -t tmpfs -o size=...`); unmounted after."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        with contextlib.suppress(OSError):
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(folder: Path, *, leave_bytes: int) -> Path:
    """Write a ballast file until only about `leave_bytes` are free on folder's disk."""
    ballast = folder / "ballast.bin"
    free = shutil.disk_usage(folder).free
    with ballast.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))
    return ballast


def users(n: int, prefix: str = "user") -> list[User]:
    return [User.objects.create_user(f"{prefix}{i}", password="x-Strong-passw0rd") for i in range(n)]


def job(pk: int) -> Job:
    return Job.objects.get(pk=pk)
