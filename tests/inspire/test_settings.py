"""Settings come from the environment: each case imports them in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import load_settings

PROBE = """
import json
from django.conf import settings
import django
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]),
    "options": {k: str(v) for k, v in db.get("OPTIONS", {}).items()},
    "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "q": settings.Q_CLUSTER,
    "email": settings.EMAIL_BACKEND, "storage": settings.STORAGES["default"]["BACKEND"],
    "static": settings.STORAGES["staticfiles"]["BACKEND"], "media": str(settings.MEDIA_ROOT),
    "cache": {k: str(v) for k, v in settings.CACHES["default"].items()},
    "sessions": settings.SESSION_ENGINE,
}))
"""


def _settings(**env: str) -> subprocess.CompletedProcess:
    return load_settings(PROBE, **env)


def _ok(**env: str) -> dict:
    result = _settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_defaults_to_sqlite_with_wal_and_immediate_transactions() -> None:
    conf = _ok(SECRET_KEY="x")
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["name"].endswith("db.sqlite3")
    assert conf["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in conf["options"]["init_command"]


def test_it_passes_the_system_checks_on_sqlite_without_a_warning(tmp_path: Path) -> None:
    """`make run` migrates and serves SQLite: Django's checks there say nothing (they warned
    of the covering indexes SQLite builds without their extra columns)."""
    # With the database, as migrate and runserver check: the index checks need it.
    probe = "import django; django.setup(); from django.core.management import call_command; "
    probe += "call_command('check', databases=['default'])"
    result = load_settings(probe, SECRET_KEY="x", SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert "W040" not in result.stdout + result.stderr
    assert "System check identified no issues (3 silenced)" in result.stdout  # the three indexes


def test_it_uses_postgres_when_database_url_is_set() -> None:
    conf = _ok(SECRET_KEY="x", DATABASE_URL="postgres://postgres@127.0.0.1:5432/inspire_example")
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["name"] == "inspire_example"


def test_it_refuses_to_start_without_secret_key_when_debug_is_off() -> None:
    result = _settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_starts_without_secret_key_in_debug() -> None:
    assert _ok(DEBUG="1")["debug"] is True


def test_it_keeps_debug_off_by_default() -> None:
    assert _ok(SECRET_KEY="x")["debug"] is False


def test_it_rejects_a_bad_boolean() -> None:
    result = _settings(SECRET_KEY="x", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_it_reads_hosts_and_queue_from_env() -> None:
    conf = _ok(
        SECRET_KEY="x", ALLOWED_HOSTS="a.example, b.example", Q_WORKERS="3", Q_TIMEOUT="60", Q_RETRY="90"
    )
    assert conf["hosts"] == ["a.example", "b.example"]
    assert conf["q"]["workers"] == 3
    assert conf["q"]["timeout"] == 60
    assert conf["q"]["retry"] == 90
    assert conf["q"]["orm"] == "default"


def test_it_keeps_retry_above_timeout_and_attempts_finite() -> None:
    conf = _ok(SECRET_KEY="x")
    assert conf["q"]["retry"] > conf["q"]["timeout"]
    assert 0 < conf["q"]["max_attempts"] < 20
    result = _settings(SECRET_KEY="x", Q_TIMEOUT="100", Q_RETRY="100")
    assert result.returncode != 0
    assert "Q_RETRY" in result.stderr


def test_it_sends_mail_to_the_console_and_serves_static_files_hashed() -> None:
    conf = _ok(SECRET_KEY="x")
    assert conf["email"] == "django.core.mail.backends.console.EmailBackend"
    assert conf["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert conf["storage"] == "django.core.files.storage.FileSystemStorage"


def test_it_reads_media_root_from_env(tmp_path: Path) -> None:
    assert _ok(SECRET_KEY="x", MEDIA_ROOT=str(tmp_path))["media"] == str(tmp_path)


@pytest.mark.django_db
def test_it_runs_the_suite_on_the_configured_database() -> None:
    from django.db import connection

    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_it_shares_sessions_through_a_file_cache_by_default(tmp_path: Path) -> None:
    conf = _ok(SECRET_KEY="x", CACHE_DIR=str(tmp_path))
    assert conf["cache"]["BACKEND"].endswith("FileBasedCache")
    assert conf["cache"]["LOCATION"] == str(tmp_path)
    assert conf["sessions"] == "django.contrib.sessions.backends.cached_db"


def test_it_shares_sessions_through_redis_when_asked() -> None:
    conf = _ok(SECRET_KEY="x", CACHE_BACKEND="redis", REDIS_URL="redis://127.0.0.1:6379/3")
    assert conf["cache"]["BACKEND"].endswith("RedisCache")
    assert conf["cache"]["LOCATION"] == "redis://127.0.0.1:6379/3"
    # What it refuses: tests/deploy/test_settings_deploy.py.


def test_it_binds_parameters_as_django_does_by_default() -> None:
    url = "postgres://u:p@db.example:5432/inspire"
    assert _ok(SECRET_KEY="x", DATABASE_URL=url)["options"] == {}
