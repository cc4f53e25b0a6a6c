"""Several hosts on one machine: a web host, worker hosts, an S3 bucket and (optionally) Redis,
each a process group of its own with its own working directory, temporary directory, cache and
loopback address, sharing nothing but Postgres (and Redis when it is the broker).

Used by tests/deploy/test_multihost.py and tests/bench/bench_hosts.py. The README section
"Running on several hosts" follows the same steps.

Addresses: the web host listens on 127.0.0.2; worker hosts listen on nothing (they only connect
out), so theirs (127.0.0.3, 127.0.0.4, ...) is their name on the jobs they take (Job.worker);
the bucket is on 127.0.0.10, Redis on 127.0.0.11, the test's video server on 127.0.0.12.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from tests.deploy.helpers import ROOT, clean_environ, compose, wait_for_http

WEB_ADDRESS = "127.0.0.2"
WORKER_ADDRESSES = ("127.0.0.3", "127.0.0.4", "127.0.0.5")
BUCKET_ADDRESS = "127.0.0.10"
REDIS_ADDRESS = "127.0.0.11"
MEDIA_ADDRESS = "127.0.0.12"
BUCKET = "inspire-media"
REGION = "eu-central-1"
STOP_TIMEOUT_S = 60


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@dataclass
class Host:
    """One machine: its folders (created here, used by nobody else) and its process group."""

    name: str
    address: str
    root: Path
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for folder in ("cwd", "tmp", "work", "cache", "home"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        return self.root / "host.log"

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def start(self, command: list[str]) -> subprocess.Popen:
        log = self.log_path.open("ab")
        # A process group of its own, like a machine: a SIGKILL of the group takes everything.
        self.process = subprocess.Popen(
            command, cwd=self.root / "cwd", env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        log.close()
        return self.process

    def run(self, command: list[str], timeout_s: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            command, cwd=self.root / "cwd", env=self.env, capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def group_alive(self, wait_s: float = 10) -> bool:
        """Whether anything of the host's process group is still alive after `wait_s` (killed
        children linger a moment until init reaps them)."""
        if self.process is None:
            return False
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return False
            if time.monotonic() > deadline:
                return True
            time.sleep(0.1)

    def kill(self) -> None:
        """The machine dies: SIGKILL to the whole group, no chance to clean up."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, a graceful stop (what draining a worker host does); exit code or None."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None


class Topology:
    """The hosts of one site. Start what you need, then close() (kills whatever is left)."""

    def __init__(
        self,
        root: Path,
        *,
        database: dict[str, str],
        broker: str = "orm",
        q_timeout_s: int = 60,
        q_retry_s: int = 70,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.database = database
        self.broker = broker
        self.q_timeout_s, self.q_retry_s = q_timeout_s, q_retry_s
        self.extra_env = extra_env or {}
        self.secret_key = "multihost-" + secrets.token_urlsafe(40)
        self.hosts: dict[str, Host] = {}
        self.services: dict[str, Host] = {}  # the bucket and Redis: "hosts" too, not Inspire's
        self.bucket_env: dict[str, str] = {}
        self.redis_url = ""
        self.web_port = 0

    # --- shared services ----------------------------------------------------------------------
    def start_bucket(self) -> None:
        """moto's S3 server, a process of its own on BUCKET_ADDRESS, with one private bucket."""
        host = Host("bucket", BUCKET_ADDRESS, self.root / "bucket", env=clean_environ())
        port = free_port(BUCKET_ADDRESS)
        host.start([sys.executable, "-m", "moto.server", "-H", BUCKET_ADDRESS, "-p", str(port)])
        self.services["bucket"] = host
        endpoint = f"http://{BUCKET_ADDRESS}:{port}"
        self.bucket_env = {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": "multihost-" + secrets.token_hex(6),
            "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
        }
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s3().create_bucket(
                    Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
                )
                return
            except Exception:  # not listening yet (botocore's connection errors have no common base)
                if not host.alive() or time.monotonic() > deadline:
                    raise AssertionError("moto's S3 server did not start:\n" + host.log()) from None
                time.sleep(0.2)

    def s3(self):  # -> botocore's S3 client, for the test's own look at the bucket
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.bucket_env["AWS_S3_ENDPOINT_URL"],
            region_name=REGION,
            aws_access_key_id=self.bucket_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.bucket_env["AWS_SECRET_ACCESS_KEY"],
        )

    def bucket_keys(self) -> set[str]:
        keys: set[str] = set()
        for page in self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def start_redis(self) -> None:
        """A redis-server of this topology only: loopback, no persistence, no password needed."""
        host = Host("redis", REDIS_ADDRESS, self.root / "redis", env=clean_environ())
        port = free_port(REDIS_ADDRESS)
        host.start(
            ["redis-server", "--bind", REDIS_ADDRESS, "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(host.root / "cwd"), "--protected-mode", "yes"]
        )  # fmt: skip
        self.services["redis"] = host
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection((REDIS_ADDRESS, port), timeout=1):
                break
            if not host.alive() or time.monotonic() > deadline:
                raise AssertionError("redis-server did not start:\n" + host.log())
            time.sleep(0.1)
        self.redis_url = f"redis://{REDIS_ADDRESS}:{port}/0"

    # --- Inspire's hosts ------------------------------------------------------------------------
    def _host(self, name: str, address: str, **env: str) -> Host:
        host = Host(name, address, self.root / name)
        broker = {"Q_BROKER": "redis", "REDIS_URL": self.redis_url} if self.broker == "redis" else {}
        host.env = {
            **clean_environ(),
            **self.database,
            **self.bucket_env,
            **broker,
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": WEB_ADDRESS,
            # Nothing of a host is another's: its own temp dir, downloads, cache, static files.
            # MEDIA_ROOT points at a folder that must stay absent: media only go to the bucket.
            "HOME": str(host.root / "home"),
            "TMPDIR": str(host.root / "tmp"),
            "INSPIRE_TEMP_DIR": str(host.root / "work"),
            "CACHE_DIR": str(host.root / "cache"),
            "MEDIA_ROOT": str(host.root / "media-never-used"),
            "STATIC_ROOT": str(host.root / "staticfiles"),
            "PYTHONPATH": str(ROOT),  # the code, read-only, as the image would hold it
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # The test's video server is on loopback too.
            "INSPIRE_ALLOW_PRIVATE_URLS": "1",
            "Q_TIMEOUT": str(self.q_timeout_s),
            "Q_RETRY": str(self.q_retry_s),
            "Q_POLL": "0.2",
            **self.extra_env,
            **env,
        }
        self.hosts[name] = host
        return host

    def prepare(self) -> None:
        """What a deploy does once, from the web host: migrate, the schedules (migrate made them;
        `ensure_schedules` makes sure they are there and due, e.g. the reaper's, whatever earlier
        tests did to this database) and the image's collectstatic."""
        web = self.hosts.get("web") or self._host("web", WEB_ADDRESS)
        manage = str(ROOT / "manage.py")
        for step in (["migrate", "--noinput"], ["ensure_schedules"], ["collectstatic", "--noinput"]):
            done = web.run([sys.executable, manage, *step])
            assert done.returncode == 0, f"{step[0]} failed:\n{done.stdout}\n{done.stderr}"

    def start_web(self) -> Host:
        web = self.hosts.get("web") or self._host("web", WEB_ADDRESS)
        self.web_port = free_port(WEB_ADDRESS)
        web.env.update({"PORT": str(self.web_port), "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2"})
        command = compose()["services"]["web"]["command"]
        assert command[:3] == ["gunicorn", "--config", "docker/gunicorn.conf.py"], command
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        # The image's command, run from the host's own folder, on the host's own address.
        web.start(
            [gunicorn, "--config", str(ROOT / "docker/gunicorn.conf.py"),
             "--bind", f"{WEB_ADDRESS}:{self.web_port}", *command[3:]]
        )  # fmt: skip
        wait_for_http(self.web_url + "/healthz", web.process)
        return web

    @property
    def web_url(self) -> str:
        return f"http://{WEB_ADDRESS}:{self.web_port}"

    def start_worker(self, index: int, *, workers: int = 1) -> Host:
        name = f"worker-{'abc'[index]}"
        host = self._host(
            name, WORKER_ADDRESSES[index], INSPIRE_WORKER_NAME=f"{name}@{WORKER_ADDRESSES[index]}",
            Q_WORKERS=str(workers),
        )  # fmt: skip
        assert compose()["services"]["worker"]["command"] == ["python", "manage.py", "qcluster"]
        host.start([sys.executable, str(ROOT / "manage.py"), "qcluster"])
        return host

    def logs(self) -> str:
        every = {**self.hosts, **self.services}
        return "\n".join(f"--- {name} ---\n{host.log()}" for name, host in every.items())

    def close(self) -> None:
        for host in [*self.hosts.values(), *self.services.values()]:
            host.kill()
