"""A real `manage.py qcluster` process for tests that go through the cluster code path.

The cluster runs in its own process, against the test database of the running test (which must
therefore commit its data: use `transactional_db` or `live_server`), with the test's media and
temporary folders, so what it writes is what the test and the live server read.

    with run_cluster({"Q_TIMEOUT": "60"}) as cluster:
        ...  # queue work; the cluster picks it up
    # stopped here: SIGTERM, then SIGKILL of its whole process group after a timeout

`run_cluster` waits until django-q2 says the cluster is running, so work queued afterwards is
picked up without a race; if the process dies first, the error carries its output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_READY_MARK = "running."  # django-q2 logs "Q Cluster <name> running." once workers are up


class ClusterProcess(subprocess.Popen):
    """A Popen that also keeps every line the cluster printed (stdout and stderr together)."""

    lines: list[str]

    @property
    def output(self) -> str:
        return "".join(self.lines)


def db_env() -> dict[str, str]:
    """Environment variables that point a subprocess's settings at the current (test) database.

    Postgres: DATABASE_URL built from the live connection's settings (during tests its NAME is
    the test database). SQLite: SQLITE_PATH set to the test database file itself; the subprocess
    is not running tests, so it opens exactly that file (settings derive TEST NAME only in tests).
    """
    sd = connection.settings_dict
    engine = sd["ENGINE"]
    if "postgresql" in engine:
        user = quote(sd.get("USER") or "", safe="")
        password = quote(sd.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = sd.get("HOST") or "127.0.0.1"
        port = sd.get("PORT") or "5432"
        return {"DATABASE_URL": f"postgres://{credentials}{host}:{port}/{quote(str(sd['NAME']), safe='')}"}
    if "sqlite3" in engine:
        name = str(sd["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("A cluster process cannot share an in-memory SQLite database; use a file.")
        # An empty DATABASE_URL means SQLite to the settings, whatever the parent process had.
        return {"DATABASE_URL": "", "SQLITE_PATH": name}
    raise RuntimeError(f"No subprocess environment for database engine {engine}")


def cluster_env(env_overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a cluster process: this one's, plus the test's configuration."""
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "INSPIRE_TEMP_DIR": str(settings.INSPIRE_TEMP_DIR),
            "INSPIRE_ALLOW_PRIVATE_URLS": "1" if settings.INSPIRE_ALLOW_PRIVATE_URLS else "0",
            "Q_WORKERS": "1",
            "Q_TIMEOUT": "120",
            "Q_RETRY": "180",
            "Q_POLL": "0.2",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(db_env())
    env.update(env_overrides or {})
    return env


def _drain(proc: ClusterProcess, ready: threading.Event) -> None:
    # Always read: a full pipe would block the cluster's logging, and so the cluster.
    assert proc.stdout is not None
    for line in proc.stdout:
        proc.lines.append(line)
        if _READY_MARK in line and "Q Cluster" in line:
            ready.set()


def _stop(proc: ClusterProcess, timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.warning("qcluster %s did not stop within %ss; killing its process group", proc.pid, timeout)
    # The group holds the sentinel and worker processes; none may outlive the test.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def run_cluster(
    env_overrides: Mapping[str, str] | None = None,
    *,
    start_timeout: float = START_TIMEOUT_S,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> Iterator[ClusterProcess]:
    """Start `manage.py qcluster` on the test database, wait until it runs, stop it afterwards."""
    proc = ClusterProcess(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=cluster_env(env_overrides),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        # Its own process group, so the sentinel and workers can be stopped with it.
        start_new_session=True,
    )
    proc.lines = []
    ready = threading.Event()
    reader = threading.Thread(target=_drain, args=(proc, ready), name=f"qcluster-{proc.pid}", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not ready.wait(0.1):
            if proc.poll() is not None:
                reader.join(timeout=2)
                raise RuntimeError(f"qcluster exited with {proc.returncode} before it ran:\n{proc.output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"qcluster did not start within {start_timeout}s:\n{proc.output}")
        yield proc
    finally:
        _stop(proc, stop_timeout)
        reader.join(timeout=5)


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, cluster=None) -> None:
    """Poll `predicate` until true; on timeout fail with the cluster's last output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    output = cluster.output[-4000:] if cluster is not None else ""
    raise AssertionError(f"Timed out waiting for {what}\n{output}")


def process_using(cluster: ClusterProcess, folder: Path) -> int | None:
    """The pid of the cluster's process (a worker) with a file open under `folder`, if any:
    the one downloading into, or decoding from, a job's temporary folder."""
    group = cluster.pid
    prefix = str(folder)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getpgid(pid) != group:
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd).startswith(prefix):
                    return pid
        except OSError:
            continue  # gone, or not ours to read
    return None
