from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gallery.models import Video
from jobs import maintenance
from jobs.models import Job
from jobs.units import MB, duration_text, size_text


def _free(mb: int | None) -> str:
    return "not measured (remote)" if mb is None else f"{size_text(mb * MB)} free"


def _duration(seconds: float | None) -> str:
    return "never" if seconds is None else duration_text(seconds)


class Command(BaseCommand):
    help = (
        "Print the queue, the cluster's last sign of life, jobs, catalogue and media. Exit code 2 when "
        "the queue looks stuck (a task waited longer than --stuck-after and the cluster did nothing for "
        "as long), 3 when the cluster has not been seen within INSPIRE_CLUSTER_STALE_S, 4 when the "
        "storage is full (INSPIRE_STORAGE_MIN_FREE_MB), else 0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stuck-after",
            type=int,
            default=None,
            metavar="SECONDS",
            help="How long a task may wait with no sign of the cluster (default INSPIRE_QUEUE_STUCK_S).",
        )

    def handle(self, *args, stuck_after: int | None, **options) -> None:
        if stuck_after is None:
            stuck_after = settings.INSPIRE_QUEUE_STUCK_S
        if stuck_after < 0:
            raise CommandError("--stuck-after must be 0 or more seconds.")
        health = maintenance.health_measure()
        if health.db != "ok":
            raise CommandError("The database is unreachable.")
        report = maintenance.status_report(health=health)
        now = timezone.now()
        out = self.stdout.write
        if report.waiting is not None:
            waiting = report.waiting
            out(
                f"Queue       {health.queue_depth} task(s): {waiting} waiting for a worker"
                + (f" (oldest for {_duration(health.oldest_queued_s)})" if waiting else "")
                + f", {health.queue_depth - waiting} being worked on"
            )
        else:
            depth = "unknown (broker unreachable)" if health.queue_depth is None else health.queue_depth
            out(f"Queue       {depth} task(s) waiting (this broker does not say since when)")
        out(
            f"Cluster     last seen {_duration(health.cluster_seen_s)}"
            + (" ago" if health.cluster_seen_s is not None else "")
            + ("" if health.cluster_alive else f"  (NOT SEEN within {settings.INSPIRE_CLUSTER_STALE_S} s)")
        )
        out("Jobs        " + ", ".join(f"{value} {report.jobs.get(value, 0)}" for value in Job.Status.values))
        out(
            f"Videos      {sum(report.videos.values())} ("
            + ", ".join(f"{value} {report.videos.get(value, 0)}" for value in Video.Status.values)
            + ")"
        )
        out(f"Frames      {report.frames} ({report.frames_hidden} hidden), {report.favourites} favourite(s)")
        out(f"Playlists   {report.playlists} ({report.playlists_curated} curated)")
        if report.media is None:
            out("Media       not on the local disk (remote storage): not measured")
        else:
            files, size = report.media
            out(f"Media       {size_text(size)} in {files} file(s) under {settings.MEDIA_ROOT}")
        out(
            f"Storage     media {_free(health.media_free_mb)}, temporary folder {_free(health.temp_free_mb)}"
            + (
                f"  (FULL: below {settings.INSPIRE_STORAGE_MIN_FREE_MB} MB; jobs fail until space is freed)"
                if health.storage != "ok"
                else ""
            )
        )
        for name, next_run in report.schedules:
            due = (next_run - now).total_seconds() if next_run else None
            when = "not scheduled" if due is None else "due now" if due <= 0 else f"next in {_duration(due)}"
            out(f"Schedule    {name}: {when}")

        if health.stuck(stuck_after):
            raise CommandError(
                f"The queue looks stuck: a task has waited {_duration(health.oldest_queued_s)} and the "
                f"cluster was last seen {_duration(health.cluster_seen_s)} ago. "
                "Is `manage.py qcluster` running?",
                returncode=2,
            )
        if health.storage != "ok":
            raise CommandError(
                "The storage is full: free space under MEDIA_ROOT or INSPIRE_TEMP_DIR "
                "(`manage.py prune` removes media files nothing uses).",
                returncode=4,
            )
        if not health.cluster_alive:
            raise CommandError(
                (
                    "The cluster has never been seen"
                    if health.cluster_seen_s is None
                    else f"The cluster has not been seen for {_duration(health.cluster_seen_s)}"
                )
                + f" (limit {settings.INSPIRE_CLUSTER_STALE_S} s). Is `manage.py qcluster` running?",
                returncode=3,
            )
