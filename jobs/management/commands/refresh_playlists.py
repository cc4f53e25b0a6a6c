from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery.models import Playlist
from jobs import pipeline, services
from jobs.models import Job

from ._progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Fetch new videos of playlists (only videos not seen before are processed). Without --wait the "
        "refreshes are queued for the cluster; with --wait they run here with a progress bar."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--curated", action="store_true", help="Every curated playlist.")
        parser.add_argument(
            "--playlist",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="This playlist (repeatable).",
        )
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="Every playlist, curated or not."
        )
        parser.add_argument("--frames", type=int, default=None, help="Frames to pull per new video.")
        parser.add_argument("--wait", action="store_true", help="Run the work in this process and wait.")

    def handle(
        self,
        *args,
        curated: bool,
        playlist: list[int],
        everything: bool,
        frames: int | None,
        wait: bool,
        **options,
    ) -> None:
        playlists = self._select(curated=curated, ids=playlist, everything=everything)
        try:
            services.frames_count(frames)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if not playlists:
            self.stdout.write("No playlists to refresh.")
            return
        if not wait:
            for chosen in playlists:
                job = services.job_start_refresh(playlist=chosen, frames_requested=frames)
                self.stdout.write(f"Queued refresh job {job.pk} for “{chosen}” (playlist {chosen.pk}).")
            return
        self._run_here(playlists, frames)

    def _select(self, *, curated: bool, ids: list[int], everything: bool) -> list[Playlist]:
        if not (curated or ids or everything):
            raise CommandError("Say which playlists: --curated, --playlist ID (repeatable) or --all.")
        found = {p.pk: p for p in Playlist.objects.filter(pk__in=ids)}
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise CommandError(f"No playlist with id {', '.join(missing)}.")
        chosen = Playlist.objects.all() if everything else Playlist.objects.curated() if curated else []
        for p in chosen:
            found.setdefault(p.pk, p)
        return sorted(found.values(), key=lambda p: p.pk)

    def _run_here(self, playlists: list[Playlist], frames: int | None) -> None:
        bar = ProgressBar(self.stdout)
        done: list[Job] = []
        with services.jobs_inline(on_progress=bar):
            for number, chosen in enumerate(playlists, 1):
                self.stdout.write(f"[{number}/{len(playlists)}] Refreshing “{chosen}” (playlist {chosen.pk})")
                job = services.job_start_refresh(playlist=chosen, frames_requested=frames)
                done.append(pipeline.job_run_inline(job_id=job.pk))
        bar.close()
        for job in done:
            self.stdout.write(f"{job.playlist or job.source_url}: {job.message}")
        failed = [job for job in done if job.status == Job.Status.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(done)} refresh(es) failed.")
