"""Keeping the site running: schedules, heartbeat, cleanup and prune, and the health measures.

`inspire/health.py` (`/healthz`) and `manage.py inspire_status` read the site's state through
`health_measure` and `status_report`.

How "cluster seen" is measured with the ORM broker: django-q2 keeps its own cluster status
(`django_q.status.Stat`) in Django's cache, and this site has no shared cache (the default is
per process), so `Stat.get_all()` is always empty outside the cluster itself. What every process
can read is the database. The cluster was last seen at the latest of:

- the end of the last task it finished (django-q2's Success/Failure rows, `Task.stopped`): a
  heartbeat task scheduled every minute (`jobs.tasks.heartbeat`) keeps this fresh when idle;
- the last progress a running job wrote (`Job.updated_at`): while every worker is busy with
  long downloads the heartbeat waits in the queue, but those jobs still show life.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule, Task

from gallery.models import Favourite, Frame, Playlist, Video

from .models import Job
from .units import MB

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "jobs.tasks.heartbeat"
REAP_TASK = "jobs.tasks.reap"
# "job-<id>": the name of a job's task (jobs.services.job_enqueue) and of its temporary folder.
_JOB_NAME = re.compile(r"job-(\d+)")
_FINISHED = (Job.Status.DONE, Job.Status.FAILED)


# --- Schedules and heartbeat ----------------------------------------------------------------
def cluster_heartbeat() -> str:
    """Nothing to do but finish: django-q2's row of the finished task is the heartbeat.

    With the ORM broker django-q2 keeps its own cluster status (`Stat`) in Django's cache,
    which is per process here, so other processes cannot see it; the task rows they can.
    """
    return timezone.now().isoformat()


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str
    minutes: int | None
    first_run_after: timedelta

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes or 60)


def schedule_specs() -> list[ScheduleSpec]:
    """The schedules the site needs. jobs/migrations/0002 holds a frozen copy of this list."""
    return [
        ScheduleSpec("inspire-heartbeat", HEARTBEAT_TASK, Schedule.MINUTES, 1, timedelta(0)),
        # Not at once after a deploy: the first refresh comes one interval later.
        ScheduleSpec(
            "inspire-refresh-curated",
            "jobs.tasks.refresh_curated",
            Schedule.MINUTES,
            settings.INSPIRE_REFRESH_MINUTES,
            timedelta(minutes=settings.INSPIRE_REFRESH_MINUTES),
        ),
        ScheduleSpec("inspire-cleanup", "jobs.tasks.cleanup", Schedule.HOURLY, None, timedelta(hours=1)),
        ScheduleSpec("inspire-reap", REAP_TASK, Schedule.MINUTES, 1, timedelta(0)),
    ]


def schedules_ensure() -> list[Schedule]:
    """Create or update our schedules by name: exactly one row per name however often it runs.

    The next run of an existing schedule is kept (a deploy does not reset the clock) unless a
    shorter interval brings it closer.
    """
    now = timezone.now()
    ensured = []
    for spec in schedule_specs():
        with transaction.atomic():
            rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
            schedule = rows[0] if rows else Schedule(name=spec.name, next_run=now + spec.first_run_after)
            for extra in rows[1:]:
                extra.delete()
            schedule.func, schedule.schedule_type = spec.func, spec.schedule_type
            schedule.minutes = spec.minutes
            schedule.args = schedule.kwargs = schedule.hook = schedule.cluster = None
            schedule.repeats = -1
            if schedule.next_run is None or schedule.next_run > now + spec.interval:
                schedule.next_run = now + min(spec.first_run_after, spec.interval)
            schedule.save()
        ensured.append(schedule)
    return ensured


# --- Every job ends -------------------------------------------------------------------------
def jobs_reap() -> int:
    """Fail the running jobs whose task is gone; returns how many. Runs every minute.

    A task past Q_TIMEOUT is stopped by django-q2 and, with ack_failures, never handed out
    again; the pipeline says so on the job itself, but the worker may be killed before it can
    (django-q2's guard gives it 3 seconds), and a worker killed outright says nothing. So any job
    whose attempt started more than Q_TIMEOUT + INSPIRE_REAP_GRACE_S ago is over, unless the ORM
    broker still holds its task: then the task will be handed out again and the attempt counted
    (pipeline._begin). Also hands over held jobs whose user has room again, in case the job
    that was to release them never ended by itself.
    """
    # Imported here: the pipeline imports this module's neighbours, and only this needs it.
    from . import pipeline, services

    cutoff = timezone.now() - timedelta(seconds=settings.Q_TIMEOUT + settings.INSPIRE_REAP_GRACE_S)
    stale = list(
        Job.objects.filter(status=Job.Status.RUNNING, children__isnull=True)
        .filter(Q(started_at__lt=cutoff) | Q(started_at__isnull=True, updated_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
    redelivered = _queued_job_ids() if stale else set()
    reaped = sum(pipeline.job_reap(job_id=pk, cutoff=cutoff) for pk in stale if pk not in redelivered)
    reaped += sum(pipeline.job_lost(job_id=pk) for pk in _lost_in_redis())
    users = Job.objects.filter(held=True, status=Job.Status.QUEUED).values_list("user_id", flat=True)
    for user_id in set(users):
        services.jobs_release_held(user_id=user_id)
    return reaped


def _queued_job_ids() -> set[int]:
    """Ids of the jobs whose task the ORM broker still holds (it will hand them out again)."""
    if not uses_orm_broker():
        return set()  # Redis does not hand out a dead worker's task again
    ids = set()
    for row in OrmQ.objects.all().iterator():
        match = _JOB_NAME.fullmatch(str(row.name() or ""))
        if match:
            ids.add(int(match.group(1)))
    return ids


def _lost_in_redis() -> list[int]:
    """Redis: queued jobs whose task is in no queue any more, so no worker will ever start it.

    A cluster takes tasks ahead of its workers (django-q2's queue_limit, workers² by default,
    plus one in its pusher's hand); when its host dies those go with it, still "queued" here.
    A task that a living cluster holds ahead waits at most one Q_TIMEOUT per task in front of
    it, so only jobs queued longer than (queue_limit + 2) * Q_TIMEOUT + grace are looked at.
    Failing such a job is safe even if its task turns up after all: the task then finds the
    job finished and does nothing (pipeline._begin).
    """
    if uses_orm_broker():
        return []  # the ORM broker hands such tasks out again after Q_RETRY
    from django_q.conf import Conf
    from django_q.signing import BadSignature, SignedPackage

    wait = (Conf.QUEUE_LIMIT or 0) + 2
    cutoff = timezone.now() - timedelta(seconds=wait * settings.Q_TIMEOUT + settings.INSPIRE_REAP_GRACE_S)
    candidates = list(
        Job.objects.filter(
            status=Job.Status.QUEUED, held=False, children__isnull=True, updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    if not candidates:
        return []
    broker = get_broker()
    waiting = set()
    for package in broker.connection.lrange(broker.list_key, 0, -1):
        try:
            task = SignedPackage.loads(package)
        except (TypeError, BadSignature):
            continue  # not one of ours to judge; django-q2 fails it when it dequeues it
        match = _JOB_NAME.fullmatch(str(task.get("name") or ""))
        if match:
            waiting.add(int(match.group(1)))
    return [pk for pk in candidates if pk not in waiting]


# --- Cleanup --------------------------------------------------------------------------------


def temp_dirs_cleanup(*, older_than_s: float | None = None, dry_run: bool = False) -> list[Path]:
    """Remove job-<id> folders of INSPIRE_TEMP_DIR left by killed workers (job finished or gone).

    Only folders named like ours are touched, in case the setting points at a shared /tmp; a
    folder counts as old when nothing in it changed for `older_than_s`.
    """
    if older_than_s is None:
        older_than_s = settings.INSPIRE_TEMP_MAX_AGE_H * 3600
    root = Path(settings.INSPIRE_TEMP_DIR)
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than_s
    found: dict[int, Path] = {}
    for entry in root.iterdir():
        match = _JOB_NAME.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and _last_change(entry) < cutoff:
            found[int(match.group(1))] = entry
    unfinished = set(
        Job.objects.filter(pk__in=found).exclude(status__in=_FINISHED).values_list("pk", flat=True)
    )
    doomed = [path for pk, path in sorted(found.items()) if pk not in unfinished]
    if not dry_run:
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
            logger.info("Removed the leftover temporary folder %s", path)
    return doomed


def _last_change(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    return newest


def task_results_cleanup(*, older_than_days: int | None = None) -> int:
    """Delete django-q2's finished-task rows older than the limit, and all but the last heartbeat.

    A heartbeat a minute would otherwise crowd every other result out of Q_CLUSTER's save_limit.
    """
    if older_than_days is None:
        older_than_days = settings.INSPIRE_TASK_RESULTS_DAYS
    deleted, _ = Task.objects.filter(stopped__lt=timezone.now() - timedelta(days=older_than_days)).delete()
    heartbeats = Task.objects.filter(func=HEARTBEAT_TASK, success=True)
    newest = heartbeats.order_by("-stopped").values_list("pk", flat=True).first()
    if newest is not None:
        deleted += heartbeats.exclude(pk=newest).delete()[0]
    return deleted


@dataclass(frozen=True)
class Pruned:
    files: list[str]
    bytes: int
    temp_dirs: list[Path]


MEDIA_FOLDERS = ("frames", "thumbs", "uploads")


def media_prune(*, dry_run: bool = False, grace_s: float = 3600) -> Pruned:
    """Remove media files no row points at, and temporary folders of finished jobs.

    Kept: every Frame.image and Frame.thumbnail, every Video.file, and the upload of every job
    not finished yet. Files younger than `grace_s` are kept as well: a frame's files are written
    just before its row is saved, and an upload just before its job.
    """
    referenced: set[str] = set()
    for image, thumbnail in Frame.objects.values_list("image", "thumbnail").iterator(chunk_size=5000):
        referenced.update((image, thumbnail))
    referenced.update(Video.objects.exclude(file="").values_list("file", flat=True))
    referenced.update(
        Job.objects.exclude(upload="").exclude(status__in=_FINISHED).values_list("upload", flat=True)
    )
    cutoff = timezone.now() - timedelta(seconds=grace_s)
    orphans, size = [], 0
    for folder in MEDIA_FOLDERS:
        for name in _storage_walk(folder):
            if name in referenced or default_storage.get_modified_time(name) > cutoff:
                continue
            orphans.append(name)
            size += default_storage.size(name)
    if not dry_run:
        for name in orphans:
            default_storage.delete(name)
        logger.info("Pruned %d media file(s), %d bytes", len(orphans), size)
    temp_dirs = temp_dirs_cleanup(older_than_s=grace_s, dry_run=dry_run)
    return Pruned(files=orphans, bytes=size, temp_dirs=temp_dirs)


def media_orphans_cleanup() -> int:
    """The hourly cleanup's share of `media_prune`: files nothing points at, once past the grace
    (INSPIRE_ORPHAN_GRACE_H), e.g. left by a worker killed between a file and its row."""
    return len(media_prune(grace_s=settings.INSPIRE_ORPHAN_GRACE_H * 3600).files)


def _storage_walk(top: str) -> Iterator[str]:
    try:
        folders, files = default_storage.listdir(top)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files):
        yield f"{top}/{name}"
    for folder in sorted(folders):
        yield from _storage_walk(f"{top}/{folder}")


# --- Health ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Health:
    db: str
    queue_depth: int | None
    oldest_queued_s: float | None
    cluster_seen_s: float | None
    # "ok", or "full" when media or the temporary folder has less than INSPIRE_STORAGE_MIN_FREE_MB
    # left: every job then fails with "The server's storage is full; nothing was saved".
    storage: str = "ok"
    media_free_mb: int | None = None  # None: media are not on a local disk (S3)
    temp_free_mb: int | None = None

    @property
    def cluster_alive(self) -> bool:
        return self.cluster_seen_s is not None and self.cluster_seen_s <= settings.INSPIRE_CLUSTER_STALE_S

    @property
    def ok(self) -> bool:
        return self.db == "ok" and self.cluster_alive and self.storage == "ok"

    def stuck(self, after_s: float) -> bool:
        """Work waits and nothing moved: a task queued longer than `after_s`, and the cluster
        not seen for as long. A long backlog behind busy workers is not stuck."""
        waiting = self.oldest_queued_s is not None and self.oldest_queued_s > after_s
        idle = self.cluster_seen_s is None or self.cluster_seen_s > after_s
        return waiting and idle


def health_measure() -> Health:
    """Is the database up, how long is the queue, when was the cluster last seen."""
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if uses_orm_broker():
            depth = OrmQ.objects.count()
            # The ORM broker sets `lock` to the enqueue time, and to "now + retry" when a worker
            # takes the task: a lock in the past is a task waiting for a worker.
            oldest = OrmQ.objects.filter(lock__lte=now).aggregate(m=Min("lock"))["m"]
        else:
            depth, oldest = _broker_queue_size(), None
        last_task = Task.objects.aggregate(m=Max("stopped"))["m"]
        last_progress = Job.objects.filter(status=Job.Status.RUNNING).aggregate(m=Max("updated_at"))["m"]
    except DatabaseError:
        logger.exception("Health check: the database is unreachable")
        return Health(db="error", queue_depth=None, oldest_queued_s=None, cluster_seen_s=None, **_storage())
    seen = max((t for t in (last_task, last_progress) if t is not None), default=None)
    return Health(
        db="ok",
        queue_depth=depth,
        oldest_queued_s=_age(now, oldest),
        cluster_seen_s=_age(now, seen),
        **_storage(),
    )


def _storage() -> dict:
    """Health's storage fields: free space under media and the temporary folder."""
    media_free = _free_mb(Path(default_storage.location)) if _local_media() else None
    temp_free = _free_mb(Path(settings.INSPIRE_TEMP_DIR))
    low = settings.INSPIRE_STORAGE_MIN_FREE_MB
    full = any(free is not None and free < low for free in (media_free, temp_free))
    return {"storage": "full" if full else "ok", "media_free_mb": media_free, "temp_free_mb": temp_free}


def _local_media() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def _free_mb(folder: Path) -> int | None:
    """Megabytes free on the disk holding `folder` (or the nearest folder above it that exists)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free // MB
            except OSError:
                return None
    return None


def uses_orm_broker() -> bool:
    return "orm" in settings.Q_CLUSTER


def _broker_queue_size() -> int | None:
    """Tasks waiting in another broker (Redis), which says how many but not since when."""
    try:
        return get_broker().queue_size()
    except Exception:  # an unreachable broker must not turn the health check into a 500
        logger.exception("Health check: the task broker is unreachable")
        return None


def _age(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 1)


def media_usage() -> tuple[int, int] | None:
    """(files, bytes) under MEDIA_ROOT, or None when media are not on the local disk."""
    if not _local_media():
        return None
    files = size = 0
    for dirpath, _, filenames in os.walk(default_storage.location):
        for name in filenames:
            try:
                size += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue  # removed while we walked
            files += 1
    return files, size


@dataclass(frozen=True)
class StatusReport:
    """Everything `manage.py inspire_status` prints."""

    health: Health
    waiting: int | None  # tasks waiting for a worker (ORM broker only)
    jobs: dict[str, int]  # by status
    videos: dict[str, int]  # by status
    frames: int
    frames_hidden: int
    favourites: int
    playlists: int
    playlists_curated: int
    media: tuple[int, int] | None  # (files, bytes), None when not on the local disk
    schedules: list[tuple[str, datetime | None]]  # (name, next run) of our schedules


def status_report(*, health: Health) -> StatusReport:
    """The rest of the report, once `health` says the database answers."""
    waiting = OrmQ.objects.filter(lock__lte=timezone.now()).count() if uses_orm_broker() else None
    frames = Frame.objects.aggregate(n=Count("pk"), hidden=Count("pk", filter=Q(is_hidden=True)))
    playlists = Playlist.objects.aggregate(n=Count("pk"), curated=Count("pk", filter=Q(is_curated=True)))
    return StatusReport(
        health=health,
        waiting=waiting,
        jobs=dict(Job.objects.order_by().values_list("status").annotate(n=Count("pk"))),
        videos=dict(Video.objects.order_by().values_list("status").annotate(n=Count("pk"))),
        frames=frames["n"],
        frames_hidden=frames["hidden"],
        favourites=Favourite.objects.count(),
        playlists=playlists["n"],
        playlists_curated=playlists["curated"],
        media=media_usage(),
        schedules=list(
            Schedule.objects.filter(name__startswith="inspire-")
            .order_by("name")
            .values_list("name", "next_run")
        ),
    )
