"""What the deployment tests share: docker/check.py as a module, the compose file, the
production environment of docker/.env.example filled in."""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

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
