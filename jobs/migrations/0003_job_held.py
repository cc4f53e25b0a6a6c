"""Job.held (a job waiting for its user's turn), and the reaper's schedule.

The schedule is a frozen copy of its entry in jobs.maintenance.schedule_specs(), matched by
name as in 0002, so running `manage.py ensure_schedules` too leaves exactly one row.
"""

from django.db import migrations, models
from django.utils import timezone

MINUTES = "I"  # django_q.models.Schedule.MINUTES


def reap_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    if not Schedule.objects.filter(name="inspire-reap").exists():
        Schedule.objects.create(
            name="inspire-reap",
            func="jobs.tasks.reap",
            schedule_type=MINUTES,
            minutes=1,
            repeats=-1,
            next_run=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_schedules"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="held",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(reap_schedule, migrations.RunPython.noop),
    ]
