from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import services

from ._progress import finish, start_and_run


class Command(BaseCommand):
    help = "Queue a video or playlist URL for a user; --wait runs it here with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        parser.add_argument("--user", required=True, help="Username whose library gets the video.")
        parser.add_argument("--frames", type=int, default=None, help="Frames to pull per video.")
        parser.add_argument("--wait", action="store_true", help="Run the work in this process and wait.")

    def handle(self, *args, url: str, user: str, frames: int | None, wait: bool, **options) -> None:
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")

        def start() -> services.Started:
            return services.job_start(user=owner, url=url, frames_requested=frames)

        try:
            if wait:
                started, job = start_and_run(start, self.stdout)
                if job is not None:
                    finish(job, self.stdout)
                    return
            else:
                started = start()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if started.job is None:
            self.stdout.write(
                f"Already in the catalogue: {started.video} (video {started.video.pk}), "
                f"now in {user}'s library."
            )
        else:
            self.stdout.write(
                f"Queued job {started.job.pk}. Follow it with `manage.py inspire_status` or on the site."
            )
