from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs import maintenance


class Command(BaseCommand):
    help = (
        "Create or update the site's django-q2 schedules (heartbeat, curated refresh, cleanup) by name; "
        "safe to run any number of times. Run it after changing INSPIRE_REFRESH_MINUTES."
    )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        for schedule in maintenance.schedules_ensure():
            wait = max(0, int((schedule.next_run - now).total_seconds()))
            every = (
                f"every {schedule.minutes} min" if schedule.minutes else schedule.get_schedule_type_display()
            )
            self.stdout.write(f"{schedule.name}: {schedule.func}, {every.lower()}, next run in {wait} s")
