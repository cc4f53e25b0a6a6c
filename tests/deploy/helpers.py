"""What the deployment tests share: docker/check.py as a module, the compose file, the
production environment of docker/.env.example filled in, the test database for subprocesses,
and a browser's view of a site over HTTP."""

from __future__ import annotations

import http.cookiejar
import importlib.util
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import cache
from pathlib import Path
from types import ModuleType

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


@cache
def docker_check() -> ModuleType:
    """docker/check.py (a script, not a package: docker/ is no Python package)."""
    spec = importlib.util.spec_from_file_location("inspire_docker_check", DOCKER / "check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def compose() -> dict:
    return docker_check().load_compose()


def clean_environ() -> dict[str, str]:
    """This process's environment without anything the deployment reads (DATABASE_URL of the
    test run, DEBUG, ...), so each test states the configuration it means."""
    check = docker_check()
    readers = [p.read_text(encoding="utf-8") for p in check.ENV_READERS]
    names = check.variables_read(readers, check.COMPOSE.read_text(encoding="utf-8"))
    names |= set(check.env_example_entries(check.ENV_EXAMPLE.read_text(encoding="utf-8")))
    # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it for their own thread, never a deployment.
    skip = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {k: v for k, v in os.environ.items() if k not in names and k not in skip}


def load_settings(probe: str, **env: str) -> subprocess.CompletedProcess:
    """Run `probe` (Python that prints what it reads of the settings) in a fresh interpreter
    whose environment is `env` on top of clean_environ()."""
    full = {**clean_environ(), "DJANGO_SETTINGS_MODULE": "inspire.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def production_environ() -> dict[str, str]:
    """The container environment compose gives the app from docker/.env.example, with the
    values an operator must fill in filled in."""
    check = docker_check()
    entries = check.env_example_entries(check.ENV_EXAMPLE.read_text(encoding="utf-8"))
    env = {name: value for name, (active, value) in entries.items() if active}
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["POSTGRES_PASSWORD"] = secrets.token_hex(24)
    # What compose.yaml's `environment:` adds on top (DATABASE_URL from the POSTGRES_* values).
    for name, value in compose()["services"]["web"]["environment"].items():
        env[name] = interpolate(str(value), env)
    return {**clean_environ(), **env}


_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, enough for our compose file."""

    def replace(match: re.Match) -> str:
        name, op, arg = match.groups()
        current = env.get(name)
        if current:
            return current
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg if op and op.endswith("-") else ""

    return _VARIABLE.sub(replace, value)


def database_env() -> dict[str, str]:
    """The test database for the subprocesses, in the variables settings.py reads."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(db["NAME"])}
    assert connection.vendor == "postgresql", connection.vendor
    user = urllib.parse.quote(db.get("USER") or "", safe="")
    password = urllib.parse.quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return {"DATABASE_URL": f"postgres://{auth}{host}{port}/{urllib.parse.quote(db['NAME'], safe='')}"}


class Site:
    """A browser's view of the site: a cookie jar and the CSRF dance."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes, str]:
        request = urllib.request.Request(self.base_url + path, headers=headers)
        return self._open(request)

    def post_form(
        self, path: str, fields: dict[str, str], *, form_page: str | None = None
    ) -> tuple[int, dict[str, str], bytes, str]:
        _, _, page, _ = self.get(form_page or path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1).decode(), **fields}).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, headers={"Referer": self.base_url + path}
        )
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, dict[str, str], bytes, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read(), response.geturl()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read(), exc.geturl()


def wait_for_http(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited while starting"
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # an answer is an answer (/healthz says 503 until a worker was seen)
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise AssertionError(f"nothing answered on {url} within {timeout_s} s")
