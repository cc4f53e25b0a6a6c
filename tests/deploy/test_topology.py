"""The production topology, proven here without Docker: the command lines of docker/compose.yaml
(migrate, gunicorn with docker/gunicorn.conf.py, manage.py qcluster) and the image build's
collectstatic, run as real processes on this test's database, driven over HTTP like a browser.

The processes share the test database (pytest-django's; rows they commit are visible here because
the test is transactional) and nothing else, as containers on several hosts would.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.helpers import DOCKER, ROOT, Site, clean_environ, compose, database_env, wait_for_http
from tests.httpserver import MediaServer
from tests.videos import make_video

pytestmark = [
    pytest.mark.cluster,
    # Rows written by the subprocesses must be committed and visible; serialized_rollback puts
    # back what the migrations created (django-q2 schedules) for the tests that run after this.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STOP_TIMEOUT_S = 60
JOB_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(service: str) -> list[str]:
    """A compose service's command, with the image's venv replaced by the one running the tests."""
    command = compose()["services"][service]["command"]
    executable = sys.executable if command[0] == "python" else str(Path(sys.executable).with_name(command[0]))
    return [executable, *command[1:]]


def _collectstatic_command() -> list[str]:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert "python manage.py collectstatic --noinput" in dockerfile
    return [sys.executable, "manage.py", "collectstatic", "--noinput"]


class Processes:
    """The long-running services; logs go to files that a failing assertion shows."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        # Its own process group, like a container: nothing it starts can outlive the test.
        process = subprocess.Popen(
            command,
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)}" for name in self.running)

    def stop(self, name: str) -> int | None:
        """SIGTERM, as `docker stop` sends; the exit code, or None if it would not stop."""
        process = self.running[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None

    def leftovers(self, name: str, wait_s: float = 10) -> bool:
        """Whether anything of the service's process group (gunicorn or django-q2 children)
        is still alive after the main process exited."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.killpg(self.running[name].pid, 0)
            except ProcessLookupError:
                return False
            if time.monotonic() > deadline:
                return True
            time.sleep(0.2)

    def kill_all(self) -> None:
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs)
    yield procs
    # Only if the test failed before stopping them: nothing may outlive the test database.
    procs.kill_all()


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    """What docker/.env and the image give the containers, pointed at this test's files."""
    port = _free_port()
    return {
        **clean_environ(),
        **database_env(),
        "DEBUG": "0",
        "SECRET_KEY": "topology-test-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "INSPIRE_TEMP_DIR": str(tmp_path / "work"),
        "CACHE_DIR": str(tmp_path / "cache"),
        # The media server of this test lives on 127.0.0.1.
        "INSPIRE_ALLOW_PRIVATE_URLS": "1",
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "Q_POLL": "0.2",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.timeout(600)
def test_it_runs_the_compose_topology_end_to_end(tmp_path: Path, app_env: dict, processes: Processes) -> None:
    # --- the one-shot steps: the image build's collectstatic, the migrate service ------------
    for name, command in (("collectstatic", _collectstatic_command()), ("migrate", _command("migrate"))):
        done = subprocess.run(
            command, cwd=ROOT, env=app_env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    assert (Path(app_env["STATIC_ROOT"]) / "staticfiles.json").is_file()

    # --- the long-running services: web (gunicorn) and worker (qcluster) ---------------------
    web_command, worker_command = _command("web"), _command("worker")
    assert "docker/gunicorn.conf.py" in web_command
    web = processes.start("web", web_command, app_env)
    worker = processes.start("worker", worker_command, app_env)
    base_url = f"http://127.0.0.1:{app_env['PORT']}"
    wait_for_http(base_url + "/healthz", web)

    (tmp_path / "served").mkdir()
    make_video(tmp_path / "served" / "tour.mp4", seconds=8)
    site = Site(base_url)
    with MediaServer(tmp_path / "served") as media:
        # --- sign up, add a video, follow the job --------------------------------------------
        password = "a-Long-pass-phrase-42"
        status, _, _, url = site.post_form(
            "/accounts/signup/",
            {"username": "deployer", "email": "", "password1": password, "password2": password},
        )
        assert status == 200 and urllib.parse.urlsplit(url).path == "/", (status, url)
        assert any(cookie.name == "sessionid" for cookie in site.jar)

        status, _, body, url = site.post_form("/jobs/add/", {"url": media.url("tour.mp4"), "frames": "4"})
        job_path = urllib.parse.urlsplit(url).path
        assert status == 200 and re.fullmatch(r"/jobs/\d+/", job_path), (status, url, body[:2000])

        deadline = time.monotonic() + JOB_TIMEOUT_S
        while True:
            status, headers, body, _ = site.get(job_path + "status.json")
            assert status == 200 and headers["Content-Type"] == "application/json"
            job = json.loads(body)
            if job["finished"]:
                break
            assert worker.poll() is None, "qcluster exited:\n" + processes.log("worker")
            assert time.monotonic() < deadline, f"job not finished: {job}\n{processes.all_logs()}"
            time.sleep(0.5)
        assert job["status"] == "done", f"{job}\n{processes.all_logs()}"
        assert ("GET", "/tour.mp4") in media.requests  # the worker downloaded it, over HTTP

    # --- the video page, a frame image streamed by Django, a static file from whitenoise ----
    status, _, page, _ = site.get(job["result_url"])
    assert status == 200
    frame_ids = re.findall(rb'href="/frames/(\d+)/"', page)
    assert frame_ids, page[:3000]
    status, headers, image, _ = site.get(f"/frames/{frame_ids[0].decode()}/image")
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert image[:3] == b"\xff\xd8\xff" and len(image) > 1000
    assert "private" in headers["Cache-Control"]

    css = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert css, "no hashed stylesheet name in the page (collectstatic's manifest not used?)"
    status, headers, body, _ = site.get(css.group(1).decode(), **{"Accept-Encoding": "gzip"})
    assert status == 200
    # whitenoise's answer for a hashed file: cached "forever", the pre-compressed variant.
    assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    assert headers.get("Content-Encoding") == "gzip"
    assert b"{" in gzip.decompress(body)
    status, _, _, _ = site.get("/static/css/site.css-not-there")
    assert status == 404

    # --- log out: the session ends in every worker, however each cached it -----------------
    session = next(cookie.value for cookie in site.jar if cookie.name == "sessionid")

    def with_old_cookie() -> str:
        request = urllib.request.Request(
            base_url + "/favourites/", headers={"Cookie": f"sessionid={session}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return urllib.parse.urlsplit(response.geturl()).path

    assert {with_old_cookie() for _ in range(8)} == {"/favourites/"}
    status, _, _, url = site.post_form("/accounts/logout/", {}, form_page="/favourites/")
    assert status == 200 and urllib.parse.urlsplit(url).path == "/accounts/login/", (status, url)
    # Two workers of two threads that had all seen the session: none lets it in any more.
    assert {with_old_cookie() for _ in range(8)} == {"/accounts/login/"}

    # --- the image's HEALTHCHECK against this web server ------------------------------------
    health = subprocess.run(
        [sys.executable, str(DOCKER / "healthcheck.py")],
        env=app_env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert health.returncode == 0, health.stdout + health.stderr
    assert health.stdout.startswith("ok:"), health.stdout

    # --- docker stop: SIGTERM, and both exit in time -------------------------------------------
    assert processes.stop("worker") == 0, "qcluster did not stop cleanly:\n" + processes.log("worker")
    assert processes.stop("web") == 0, "gunicorn did not exit cleanly:\n" + processes.log("web")
    assert not processes.leftovers("worker"), "django-q2 processes outlived qcluster"
    assert not processes.leftovers("web"), "gunicorn workers outlived the arbiter"
    assert "Handling signal: term" in processes.log("web")
    assert '"GET /healthz HTTP/1.1"' in processes.log("web")  # the access log goes to stdout
