"""Checks of docker/ that need no Docker engine (part of `make lint`).

* compose.yaml against the Compose specification's JSON schema (the copy vendored by the pinned
  check-jsonschema package, so this runs offline), then the rules our topology depends on:
  scalable workers, migrations before web and worker, nginx only as a profile.
* the nginx configs: private media leaves only through the internal X-Accel-Redirect location.
* .env.example lists every variable that settings.py, gunicorn.conf.py, healthcheck.py and
  compose.yaml read.
* the Dockerfile: no secrets in ENV/ARG, a non-root user, the health check, installs from the
  hashed lock (requirements/base.lock).

hadolint lints the Dockerfile itself (see the Makefile). Run: python docker/check.py
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DOCKER = Path(__file__).resolve().parent
ROOT = DOCKER.parent
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"
NGINX_CONFS = [DOCKER / "nginx" / "inspire.conf", DOCKER / "nginx" / "inspire-tls.conf.example"]
ENV_READERS = [ROOT / "inspire" / "settings.py", DOCKER / "gunicorn.conf.py", DOCKER / "healthcheck.py"]

# Where nginx mounts the media volume, and the internal prefix Django's X-Accel-Redirect uses.
MEDIA_MOUNT = "/data/media"
ACCEL_PREFIX = "/_protected/"
APP_SERVICES = ("migrate", "web", "worker")
# Values an operator must fill in; any other active line in .env.example needs a value, since
# an empty variable overrides the default with "".
FILL_IN = {"SECRET_KEY", "POSTGRES_PASSWORD"}


# --- Compose --------------------------------------------------------------------------------
def compose_schema() -> dict:
    schema = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(schema.read_text(encoding="utf-8"))


def load_compose(path: Path = COMPOSE) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def compose_schema_problems(data: dict, schema: dict | None = None) -> list[str]:
    schema = schema if schema is not None else compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = [_leaf(error) for error in validator_class(schema).iter_errors(data)]
    paths = [tuple(map(str, error.absolute_path)) for error in errors]
    problems = []
    for error, path in sorted(zip(errors, paths, strict=True), key=lambda pair: pair[1]):
        # "Unevaluated properties" at a service only repeats that something inside it failed.
        if error.validator == "unevaluatedProperties" and any(
            len(other) > len(path) and other[: len(path)] == path for other in paths
        ):
            continue
        problems.append(f"compose.yaml {'/'.join(path) or '(top)'}: {error.message}")
    return problems


def _leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For "not valid under any of the given schemas", the alternative that got furthest in."""
    while error.context:
        error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return error


def _depends_condition(service: dict, name: str) -> str | None:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return "service_started" if name in depends else None
    entry = depends.get(name)
    return None if entry is None else (entry or {}).get("condition", "service_started")


def compose_problems(data: dict) -> list[str]:
    problems: list[str] = []
    services: dict[str, Any] = data.get("services") or {}
    for name in ("db", *APP_SERVICES, "nginx"):
        if name not in services:
            problems.append(f"compose.yaml: no {name} service")
    if problems:
        return problems

    for name, service in services.items():
        # A fixed name stops `--scale`; compose names containers itself.
        if "container_name" in service:
            problems.append(f"compose.yaml {name}: container_name prevents scaling")
        if name != "nginx" and service.get("profiles"):
            problems.append(f"compose.yaml {name}: only nginx is optional (profiles)")

    worker, web, migrate, db, nginx = (services[n] for n in ("worker", "web", "migrate", "db", "nginx"))
    if worker.get("ports"):
        problems.append("compose.yaml worker: host ports make `--scale worker=N` fail")
    if worker.get("command") != ["python", "manage.py", "qcluster"]:
        problems.append("compose.yaml worker: command must be python manage.py qcluster")
    if migrate.get("command") != ["python", "manage.py", "migrate", "--noinput"]:
        problems.append("compose.yaml migrate: command must be python manage.py migrate --noinput")
    if str(migrate.get("restart", "no")) != "no":
        problems.append("compose.yaml migrate: a one-shot service must not restart")
    web_command = web.get("command") or []
    if "docker/gunicorn.conf.py" not in web_command or web_command[:1] != ["gunicorn"]:
        problems.append("compose.yaml web: command must be gunicorn --config docker/gunicorn.conf.py ...")
    for name in ("web", "worker"):
        if _depends_condition(services[name], "migrate") != "service_completed_successfully":
            problems.append(f"compose.yaml {name}: must wait for migrate (service_completed_successfully)")
    if _depends_condition(migrate, "db") != "service_healthy":
        problems.append("compose.yaml migrate: must wait for a healthy db")

    if not str(db.get("image", "")).startswith("postgres:16"):
        problems.append("compose.yaml db: image must be postgres:16")
    if "pg_isready" not in json.dumps((db.get("healthcheck") or {}).get("test", "")):
        problems.append("compose.yaml db: health check must use pg_isready")
    named = set(data.get("volumes") or {})
    if not any(str(v).split(":")[0] in named for v in db.get("volumes") or []):
        problems.append("compose.yaml db: data must live in a named volume")

    for name in APP_SERVICES:
        mounts = [str(v) for v in services[name].get("volumes") or []]
        if not any(m.split(":")[0] in named and m.split(":")[1] == MEDIA_MOUNT for m in mounts):
            problems.append(f"compose.yaml {name}: the media volume must be mounted at {MEDIA_MOUNT}")
        if (services[name].get("environment") or {}).get("MEDIA_ROOT") != MEDIA_MOUNT:
            problems.append(f"compose.yaml {name}: MEDIA_ROOT must be {MEDIA_MOUNT}")

    if nginx.get("profiles") != ["nginx"]:
        problems.append("compose.yaml nginx: must be optional (profiles: [nginx])")
    nginx_media = [str(v) for v in nginx.get("volumes") or [] if str(v).split(":")[1:2] == [MEDIA_MOUNT]]
    if not nginx_media or not all(v.endswith(":ro") for v in nginx_media):
        problems.append(f"compose.yaml nginx: mount the media volume read-only at {MEDIA_MOUNT}")

    for name, service in services.items():
        build = service.get("build")
        if isinstance(build, dict):
            context = (COMPOSE.parent / build.get("context", ".")).resolve()
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"compose.yaml {name}: no Dockerfile at {build.get('dockerfile')}")
    return problems


# --- nginx ----------------------------------------------------------------------------------
_LOCATION = re.compile(r"location\s+(?:(=|~\*?|\^~)\s+)?(\S+)\s*\{")


def nginx_locations(text: str) -> list[tuple[str, str]]:
    """(path, body) of each location block, comments removed."""
    text = re.sub(r"#[^\n]*", "", text)
    found = []
    for match in _LOCATION.finditer(text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found.append((match.group(2), text[match.end() : i - 1]))
    return found


def nginx_problems(text: str, name: str) -> list[str]:
    problems: list[str] = []
    locations = nginx_locations(text)
    media_locations = [(path, body) for path, body in locations if MEDIA_MOUNT in body]
    for path, body in media_locations:
        if not re.search(r"(^|\s)internal\s*;", body):
            problems.append(f"{name}: location {path} serves {MEDIA_MOUNT} without `internal;`")
    if [path for path, _ in media_locations] != [ACCEL_PREFIX]:
        problems.append(f"{name}: exactly one location, {ACCEL_PREFIX}, may read {MEDIA_MOUNT}")
    for path, _ in locations:
        if path.rstrip("/") == "/media" or path.startswith("/media/"):
            problems.append(f"{name}: a public {path} location would publish private media")
    static = dict(locations).get("/static/", "")
    if "alias /srv/static/" not in static or "immutable" not in static:
        problems.append(f"{name}: /static/ must be served from /srv/static/ with a long cache")
    root = dict(locations).get("/", "")
    if "proxy_pass http://inspire_web" not in root or "X-Forwarded-Proto" not in root:
        problems.append(f"{name}: location / must proxy to web and set X-Forwarded-Proto")
    if "client_max_body_size ${INSPIRE_MAX_UPLOAD_MB}m;" not in text:
        problems.append(f"{name}: client_max_body_size must follow INSPIRE_MAX_UPLOAD_MB")
    return problems


# --- .env.example ---------------------------------------------------------------------------
_PY_ENV = re.compile(
    r"(?:env_(?:str|bool|int|list)|_int|environ\.get|getenv)\(\s*['\"]([A-Z][A-Z0-9_]*)['\"]"
)
_PY_ENV_INDEX = re.compile(r"environ\[\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*\]")
_COMPOSE_VAR = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
_EXAMPLE_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def variables_read(py_sources: list[str], compose_text: str) -> set[str]:
    names: set[str] = set()
    for source in py_sources:
        names.update(_PY_ENV.findall(source))
        names.update(_PY_ENV_INDEX.findall(source))
    names.update(_COMPOSE_VAR.findall(compose_text))
    return names


def env_example_entries(text: str) -> dict[str, tuple[bool, str]]:
    """NAME -> (active, value); a commented-out `# NAME=value` line lists a default."""
    entries: dict[str, tuple[bool, str]] = {}
    for line in text.splitlines():
        match = _EXAMPLE_LINE.match(line.strip())
        if match:
            active = match.group(1) is None
            if active or match.group(2) not in entries:
                entries[match.group(2)] = (active, match.group(3))
    return entries


def env_example_problems(example_text: str, needed: set[str]) -> list[str]:
    entries = env_example_entries(example_text)
    problems = [f".env.example: {name} is read but not listed" for name in sorted(needed - set(entries))]
    for name, (active, value) in sorted(entries.items()):
        if active and not value and name not in FILL_IN:
            problems.append(f".env.example: {name}= is empty; comment it out to keep the default")
    if entries.get("DEBUG", (True, "0"))[1] not in {"0", "false", "no", "off"}:
        problems.append(".env.example: DEBUG must be off")
    if entries.get("ACCEL_REDIRECT_PREFIX", (False, ACCEL_PREFIX))[1] != ACCEL_PREFIX:
        problems.append(
            f".env.example: ACCEL_REDIRECT_PREFIX must be {ACCEL_PREFIX} (nginx's internal location)"
        )
    return problems


# --- Dockerfile -----------------------------------------------------------------------------
def dockerfile_problems(text: str) -> list[str]:
    problems: list[str] = []
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        instruction = line.strip().split(" ", 1)
        if instruction[0].upper() in {"ENV", "ARG"} and re.search(r"SECRET|PASSWORD|TOKEN|_KEY", line, re.I):
            problems.append(
                f"Dockerfile: secrets belong in the environment at run time, not in `{line.strip()}`"
            )
    users = re.findall(r"^USER\s+(\S+)", joined, re.M)
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        problems.append("Dockerfile: the app must run as a non-root USER")
    if "HEALTHCHECK" not in joined or "docker/healthcheck.py" not in joined:
        problems.append("Dockerfile: HEALTHCHECK must run docker/healthcheck.py")
    if "python:3.11-slim-bookworm" not in joined:
        problems.append("Dockerfile: base image must be python:3.11-slim-bookworm")
    # Requirements before code, for the layer cache.
    req, code = joined.find("COPY requirements/base.lock"), joined.find("COPY . .")
    if req < 0 or code < 0 or req > code:
        problems.append("Dockerfile: copy requirements/base.lock before the code")
    # Every install from the lock, checked against its hashes.
    installs = re.findall(r"pip (?:install|wheel) [^&\n]*", joined)
    if not installs or any("--require-hashes" not in i or ".lock" not in i for i in installs):
        problems.append("Dockerfile: pip must install from the lock with --require-hashes")
    if "collectstatic --noinput" not in joined:
        problems.append("Dockerfile: collectstatic must run at build time")
    return problems


# --- main -----------------------------------------------------------------------------------
def all_problems() -> list[str]:
    data = load_compose()
    compose_text = COMPOSE.read_text(encoding="utf-8")
    problems = compose_schema_problems(data) + compose_problems(data)
    for conf in NGINX_CONFS:
        problems += nginx_problems(conf.read_text(encoding="utf-8"), f"nginx/{conf.name}")
    needed = variables_read([p.read_text(encoding="utf-8") for p in ENV_READERS], compose_text)
    problems += env_example_problems(ENV_EXAMPLE.read_text(encoding="utf-8"), needed)
    problems += dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8"))
    return problems


def main() -> int:
    problems = all_problems()
    for problem in problems:
        print(f"docker/check.py: {problem}", file=sys.stderr)
    if not problems:
        print(
            "docker/check.py: compose.yaml valid against the Compose spec; nginx, .env.example, Dockerfile OK"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
