from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from gallery.models import Favourite, Frame, Playlist, Video
from inspire.health import measure, media_usage, uses_orm_broker
from jobs.models import Job


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class Command(BaseCommand):
    help = (
        "Print the queue, the cluster's last sign of life, jobs, catalogue and media. Exit code 2 when "
        "the queue looks stuck (a task waited longer than --stuck-after and the cluster did nothing for "
        "as long), 3 when the cluster has not been seen within INSPIRE_CLUSTER_STALE_S, else 0."
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
        health = measure()
        if health.db != "ok":
            raise CommandError("The database is unreachable.")
        now = timezone.now()
        out = self.stdout.write
        if uses_orm_broker():
            waiting = OrmQ.objects.filter(lock__lte=now).count()
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
        by_status = dict(Job.objects.order_by().values_list("status").annotate(n=Count("pk")))
        out("Jobs        " + ", ".join(f"{value} {by_status.get(value, 0)}" for value in Job.Status.values))
        videos = dict(Video.objects.order_by().values_list("status").annotate(n=Count("pk")))
        frames = Frame.objects.aggregate(n=Count("pk"), hidden=Count("pk", filter=Q(is_hidden=True)))
        playlists = Playlist.objects.aggregate(n=Count("pk"), curated=Count("pk", filter=Q(is_curated=True)))
        out(
            f"Videos      {sum(videos.values())} ("
            + ", ".join(f"{value} {videos.get(value, 0)}" for value in Video.Status.values)
            + ")"
        )
        out(
            f"Frames      {frames['n']} ({frames['hidden']} hidden), {Favourite.objects.count()} favourite(s)"
        )
        out(f"Playlists   {playlists['n']} ({playlists['curated']} curated)")
        usage = media_usage()
        if usage is None:
            out("Media       not on the local disk (remote storage): not measured")
        else:
            out(f"Media       {_size(usage[1])} in {usage[0]} file(s) under {settings.MEDIA_ROOT}")
        for schedule in Schedule.objects.filter(name__startswith="inspire-").order_by("name"):
            due = (schedule.next_run - now).total_seconds() if schedule.next_run else None
            when = "not scheduled" if due is None else "due now" if due <= 0 else f"next in {_duration(due)}"
            out(f"Schedule    {schedule.name}: {when}")

        if health.stuck(stuck_after):
            raise CommandError(
                f"The queue looks stuck: a task has waited {_duration(health.oldest_queued_s)} and the "
                f"cluster was last seen {_duration(health.cluster_seen_s)} ago. "
                "Is `manage.py qcluster` running?",
                returncode=2,
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
