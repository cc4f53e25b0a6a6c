"""Is the site working? One measurement for `/healthz` and `manage.py inspire_status`.

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

import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError, connection
from django.db.models import Max, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.models import OrmQ, Task

from jobs.models import Job

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    db: str
    queue_depth: int | None
    oldest_queued_s: float | None
    cluster_seen_s: float | None

    @property
    def cluster_alive(self) -> bool:
        return self.cluster_seen_s is not None and self.cluster_seen_s <= settings.INSPIRE_CLUSTER_STALE_S

    @property
    def ok(self) -> bool:
        return self.db == "ok" and self.cluster_alive

    def stuck(self, after_s: float) -> bool:
        """Work waits and nothing moved: a task queued longer than `after_s`, and the cluster
        not seen for as long. A long backlog behind busy workers is not stuck."""
        waiting = self.oldest_queued_s is not None and self.oldest_queued_s > after_s
        idle = self.cluster_seen_s is None or self.cluster_seen_s > after_s
        return waiting and idle


def measure() -> Health:
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
        return Health(db="error", queue_depth=None, oldest_queued_s=None, cluster_seen_s=None)
    seen = max((t for t in (last_task, last_progress) if t is not None), default=None)
    return Health(
        db="ok", queue_depth=depth, oldest_queued_s=_age(now, oldest), cluster_seen_s=_age(now, seen)
    )


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
    if not isinstance(default_storage, FileSystemStorage):
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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and the cluster was seen lately, else 503; no login."""
    health = measure()
    data = asdict(health)
    return JsonResponse(data, status=200 if health.ok else 503)
