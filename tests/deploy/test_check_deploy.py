"""`manage.py check --deploy` passes, without a single warning, on the environment that
docker/.env.example gives the containers once its FILL IN values are filled in."""

from __future__ import annotations

import subprocess
import sys

from tests.deploy.helpers import ROOT, production_environ


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_it_passes_check_deploy_with_the_example_values_filled_in() -> None:
    result = _check_deploy(production_environ())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_would_fail_check_deploy_without_https_settings() -> None:
    # The same check notices a weaker configuration, so the test above can fail.
    env = production_environ()
    env.update(SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0")
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
    assert "security.W012" in result.stderr + result.stdout


def test_it_runs_the_example_in_production_mode() -> None:
    env = production_environ()
    assert env["DEBUG"] == "0"
    assert env["INSPIRE_ALLOW_PRIVATE_URLS"] == "0"
    assert env["DATABASE_URL"].startswith("postgres://inspire:") and env["DATABASE_URL"].endswith(
        "@db:5432/inspire"
    )
    assert env["MEDIA_ROOT"] == "/data/media"
