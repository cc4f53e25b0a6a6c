"""Scheduled work: the schedules exist once, the scheduler runs them, and what they run does its job."""

from __future__ import annotations

import importlib
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Success, Task
from django_q.scheduler import scheduler

from jobs import maintenance, tasks
from jobs.models import Job
from tests import factories

pytestmark = pytest.mark.django_db

NAMES = ["inspire-cleanup", "inspire-heartbeat", "inspire-reap", "inspire-refresh-curated"]


def _ours() -> list[str]:
    return sorted(Schedule.objects.filter(name__startswith="inspire-").values_list("name", flat=True))


def _run_migration_again() -> None:
    """The data migration's own function, on the historical models it was written for."""
    migration = importlib.import_module("jobs.migrations.0002_schedules")
    state = MigrationLoader(connection).project_state(("jobs", "0002_schedules"))
    migration.ensure_schedules(state.apps, None)


def test_it_creates_the_schedules_when_migrating(settings) -> None:
    assert _ours() == NAMES
    by_name = {s.name: s for s in Schedule.objects.filter(name__in=NAMES)}
    assert by_name["inspire-heartbeat"].func == "jobs.tasks.heartbeat"
    assert (by_name["inspire-heartbeat"].schedule_type, by_name["inspire-heartbeat"].minutes) == (
        Schedule.MINUTES,
        1,
    )
    refresh = by_name["inspire-refresh-curated"]
    assert (refresh.func, refresh.schedule_type) == ("jobs.tasks.refresh_curated", Schedule.MINUTES)
    assert refresh.minutes == settings.INSPIRE_REFRESH_MINUTES
    assert by_name["inspire-cleanup"].schedule_type == Schedule.HOURLY
    assert all(s.repeats == -1 for s in by_name.values())


def test_it_matches_the_migration_and_the_current_definition() -> None:
    from_migration = {
        s.name: (s.func, s.schedule_type, s.minutes) for s in Schedule.objects.filter(name__in=NAMES)
    }
    call_command("ensure_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from_command = {
        s.name: (s.func, s.schedule_type, s.minutes) for s in Schedule.objects.filter(name__in=NAMES)
    }
    assert from_command == from_migration
    assert {spec.name for spec in maintenance.schedule_specs()} == set(NAMES)


def test_it_keeps_one_schedule_per_name_however_often_it_runs() -> None:
    for _ in range(2):
        _run_migration_again()
        assert _ours() == NAMES
        call_command("ensure_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115
        assert _ours() == NAMES


def test_it_merges_duplicates_made_by_hand() -> None:
    Schedule.objects.create(
        name="inspire-heartbeat", func="jobs.tasks.heartbeat", schedule_type=Schedule.ONCE
    )
    Schedule.objects.create(name="inspire-cleanup", func="somewhere.else", schedule_type=Schedule.DAILY)
    maintenance.schedules_ensure()
    assert _ours() == NAMES
    assert Schedule.objects.get(name="inspire-cleanup").func == "jobs.tasks.cleanup"


def test_it_keeps_the_clock_but_follows_a_shorter_interval(settings) -> None:
    refresh = Schedule.objects.get(name="inspire-refresh-curated")
    planned = timezone.now() + timedelta(minutes=30)
    Schedule.objects.filter(pk=refresh.pk).update(next_run=planned)
    maintenance.schedules_ensure()
    assert Schedule.objects.get(pk=refresh.pk).next_run == planned

    settings.INSPIRE_REFRESH_MINUTES = 10
    maintenance.schedules_ensure()
    refresh.refresh_from_db()
    assert refresh.minutes == 10
    assert refresh.next_run <= timezone.now() + timedelta(minutes=10)


def test_it_runs_the_heartbeat_through_django_q2s_scheduler(monkeypatch) -> None:
    monkeypatch.setattr(Conf, "SYNC", True)  # the scheduled task then runs here, inline
    Schedule.objects.filter(name="inspire-heartbeat").update(next_run=timezone.now() - timedelta(seconds=5))
    assert maintenance.health_measure().cluster_seen_s is None

    scheduler(broker=get_broker())

    beat = Success.objects.get(func="jobs.tasks.heartbeat")
    assert beat.group == "inspire-heartbeat"
    assert Schedule.objects.get(name="inspire-heartbeat").next_run > timezone.now()
    assert maintenance.health_measure().cluster_seen_s < 5
    assert not Job.objects.exists()  # only the due schedule ran


# --- What the schedules run -----------------------------------------------------------------
def test_it_refreshes_every_curated_playlist_once(django_capture_on_commit_callbacks) -> None:
    first, second = factories.PlaylistFactory.create_batch(2, is_curated=True)
    factories.PlaylistFactory(is_curated=False)
    with django_capture_on_commit_callbacks(execute=True):
        started = tasks.refresh_curated()
    jobs = Job.objects.filter(pk__in=started).order_by("playlist_id")
    assert [(j.kind, j.playlist, j.user) for j in jobs] == [
        (Job.Kind.REFRESH, first, None),
        (Job.Kind.REFRESH, second, None),
    ]
    # A slow refresh is not queued again behind itself.
    assert tasks.refresh_curated() == []
    Job.objects.filter(playlist=first).update(status=Job.Status.DONE)
    assert [Job.objects.get(pk=pk).playlist for pk in tasks.refresh_curated()] == [first]


def test_it_no_longer_waits_for_a_refresh_stuck_for_a_day() -> None:
    playlist = factories.PlaylistFactory(is_curated=True)
    stuck = factories.JobFactory(
        kind=Job.Kind.REFRESH, playlist=playlist, status=Job.Status.RUNNING, user=None
    )
    Job.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert len(tasks.refresh_curated()) == 1


def _aged(path: Path, hours: float) -> Path:
    moment = time.time() - hours * 3600
    for item in [path, *path.rglob("*")]:
        os.utime(item, (moment, moment))
    return path


def test_it_cleans_old_temporary_folders_of_finished_or_missing_jobs(settings, owner) -> None:
    root = Path(settings.INSPIRE_TEMP_DIR)
    finished = factories.JobFactory(user=owner, status=Job.Status.FAILED)
    running = factories.JobFactory(user=owner, status=Job.Status.RUNNING)
    done_recently = factories.JobFactory(user=owner, status=Job.Status.DONE)
    folders = {}
    for key, name in [
        ("finished", f"job-{finished.pk}"),
        ("running", f"job-{running.pk}"),
        ("missing", "job-999999"),
        ("recent", f"job-{done_recently.pk}"),
        ("not ours", "notes"),
    ]:
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "video.part").write_bytes(b"x" * 100)
        folders[key] = _aged(folder, 1 if key == "recent" else 10)

    result = tasks.cleanup()

    assert result["temp_dirs"] == 2
    assert not folders["finished"].exists()
    assert not folders["missing"].exists()
    assert folders["running"].exists()
    assert folders["recent"].exists()
    assert folders["not ours"].exists()


def _task(name: str, *, func: str = "jobs.tasks.run_job", days_ago: float = 0, success: bool = True) -> Task:
    moment = timezone.now() - timedelta(days=days_ago)
    return Task.objects.create(
        id=name, name=name, func=func, started=moment, stopped=moment, success=success, group=None
    )


def test_it_cleans_old_task_results_and_surplus_heartbeats(settings) -> None:
    settings.INSPIRE_TASK_RESULTS_DAYS = 14
    _task("old-success", days_ago=30)
    _task("old-failure", days_ago=30, success=False)
    _task("recent-success", days_ago=1)
    _task("recent-failure", days_ago=1, success=False)
    for minutes in (3, 2, 1):
        _task(f"beat-{minutes}", func="jobs.tasks.heartbeat", days_ago=minutes / 1440)

    result = tasks.cleanup()

    assert result["task_rows"] == 4
    assert sorted(Task.objects.values_list("name", flat=True)) == [
        "beat-1",
        "recent-failure",
        "recent-success",
    ]
