"""Create the schedules the site needs: a heartbeat, the curated refresh and the cleanup.

A frozen copy of jobs.maintenance.schedule_specs(), as migrations must not depend on code that
changes later; `manage.py ensure_schedules` applies the current definition (e.g. after a change
of INSPIRE_REFRESH_MINUTES). Both match schedules by name, so running either again leaves
exactly one row per name.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

MINUTES, HOURLY = "I", "H"  # django_q.models.Schedule.MINUTES / HOURLY


def _specs():
    refresh = settings.INSPIRE_REFRESH_MINUTES
    return [
        ("inspire-heartbeat", "jobs.tasks.heartbeat", MINUTES, 1, timedelta(0)),
        ("inspire-refresh-curated", "jobs.tasks.refresh_curated", MINUTES, refresh, timedelta(minutes=refresh)),
        ("inspire-cleanup", "jobs.tasks.cleanup", HOURLY, None, timedelta(hours=1)),
    ]


def ensure_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    now = timezone.now()
    for name, func, schedule_type, minutes, first_run_after in _specs():
        interval = timedelta(minutes=minutes or 60)
        rows = list(Schedule.objects.filter(name=name).order_by("pk"))
        schedule = rows[0] if rows else Schedule(name=name, next_run=now + first_run_after)
        for extra in rows[1:]:
            extra.delete()
        schedule.func, schedule.schedule_type, schedule.minutes = func, schedule_type, minutes
        schedule.args = schedule.kwargs = schedule.hook = schedule.cluster = None
        schedule.repeats = -1
        if schedule.next_run is None or schedule.next_run > now + interval:
            schedule.next_run = now + min(first_run_after, interval)
        schedule.save()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    # Going back leaves the schedules in place: they are harmless without our tasks running,
    # and going forward again finds them by name.
    operations = [migrations.RunPython(ensure_schedules, migrations.RunPython.noop)]
