from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery.models import Video
from jobs import services

from ._progress import finish, start_and_run


class Command(BaseCommand):
    help = "Pull more frames from a video already in the catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("video_id", type=int)
        parser.add_argument("--frames", type=int, default=None, help="How many more frames.")
        parser.add_argument("--wait", action="store_true", help="Run the work in this process and wait.")

    def handle(self, *args, video_id: int, frames: int | None, wait: bool, **options) -> None:
        video = Video.objects.filter(pk=video_id).first()
        if video is None:
            raise CommandError(f"No video with id {video_id}.")

        def start():
            return services.job_start_frames(user=None, video=video, frames_requested=frames)

        try:
            if wait:
                finish(start_and_run(start, self.stdout)[1], self.stdout)
                return
            job = start()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Queued job {job.pk} for {video}.")
