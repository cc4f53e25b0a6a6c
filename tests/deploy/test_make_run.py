"""`make run` for real: the web server and the worker start, and a stop leaves nothing behind.

Ctrl-C sends SIGINT to the terminal's foreground process group; a supervisor (or `kill`) sends
SIGTERM to make alone. Either way every process `make run` started must be gone within 10 s
and the port free again, or the next `make run` finds it taken. make runs in a session of its
own, so /proc tells which processes are its, whatever process group they moved to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.helpers import ROOT, clean_environ

STARTUP_S = 120  # migrations on a new SQLite database first, on a busy two-core machine
STOP_S = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _session(sid: int) -> list[str]:
    """The live processes of session sid, as "pid command" (zombies are already gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended while we looked
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and state != "Z":
            found.append(f"{entry.name} {command.strip()}")
    return found


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class MakeRun:
    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.log_path = tmp_path / "make-run.log"
        env = {
            **clean_environ(),  # no DATABASE_URL: SQLite in tmp_path, as on a newcomer's machine
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "CACHE_DIR": str(tmp_path / "cache"),
            "INSPIRE_TEMP_DIR": str(tmp_path / "tmp"),
        }
        # -o: this test is about processes; it never installs into the venv it runs in.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed-base", "run"]
        command += [f"PORT={self.port}", f"BIN={Path(sys.executable).parent}"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.sid = self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        url = f"http://127.0.0.1:{self.port}/accounts/login/"
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make run ended early:\n{self.log()}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        else:
            pytest.fail(f"make run did not serve {url} within {STARTUP_S} s:\n{self.log()}")
        # The worker too: the cluster says so once its processes are up.
        while " running." not in self.log() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert " running." in self.log(), f"no qcluster within {STARTUP_S} s:\n{self.log()}"

    def wait_until_gone(self) -> list[str]:
        """Whatever of the session is still alive after STOP_S (empty when all stopped)."""
        deadline = time.monotonic() + STOP_S
        while time.monotonic() < deadline:
            self.process.poll()  # reap make itself once it ends
            left = _session(self.sid)
            if not left:
                return []
            time.sleep(0.2)
        return _session(self.sid)

    def kill_everything(self) -> None:
        for line in _session(self.sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_S)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(tmp_path)
    try:
        run.wait_until_serving()
        yield run
    finally:
        run.kill_everything()  # a failed test leaves no server behind either


def test_it_stops_everything_on_ctrl_c(make_run: MakeRun) -> None:
    os.killpg(make_run.sid, signal.SIGINT)  # what the terminal does on Ctrl-C

    assert make_run.wait_until_gone() == [], make_run.log()
    assert _port_is_free(make_run.port)
    assert "another port: make run PORT=8001" in make_run.log()  # the banner


def test_it_stops_everything_when_make_is_terminated(make_run: MakeRun) -> None:
    make_run.process.send_signal(signal.SIGTERM)

    assert make_run.wait_until_gone() == [], make_run.log()
    assert _port_is_free(make_run.port)


def _dry_run(target: str, tmp_path: Path) -> str:
    """What `make target` would run on a machine without .venv (make -n runs nothing)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_it_installs_only_what_running_needs_for_make_run(tmp_path: Path) -> None:
    commands = _dry_run("run", tmp_path)

    assert "pip install --disable-pip-version-check -q --require-hashes -r requirements/base.lock" in commands
    assert "dev.lock" not in commands
    assert "(first run only, ~1 min)" in commands


@pytest.mark.parametrize("target", ["test", "lint", "bench"])
def test_it_installs_the_development_set_for_the_other_targets(tmp_path: Path, target: str) -> None:
    commands = _dry_run(target, tmp_path)

    assert "pip install --disable-pip-version-check -q --require-hashes -r requirements/dev.lock" in commands
