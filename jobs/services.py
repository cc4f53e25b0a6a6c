"""Starting work: what views, the admin and manage.py call to queue, retry and curate jobs.

A job runs as a django-q2 task (`jobs.tasks.run_job`) that only calls `jobs.pipeline.job_run`;
every job is enqueued here, by that dotted path, once the transaction that created it commits.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_q.tasks import async_task

from gallery import services as gallery_services
from gallery.models import Playlist, Video

from . import frames, ytdlp
from .models import Job
from .units import MB

RUN_TASK = "jobs.tasks.run_job"
_WAITING = "Waiting for a worker…"


@dataclass(frozen=True)
class Started:
    """What a submission led to: a new job, or a video already in the catalogue."""

    job: Job | None = None
    video: Video | None = None


def frames_count(requested: int | None) -> int:
    if requested is None:
        return settings.INSPIRE_FRAMES_DEFAULT
    if not 1 <= requested <= settings.INSPIRE_FRAMES_MAX:
        raise ValidationError(f"Choose between 1 and {settings.INSPIRE_FRAMES_MAX} frames.")
    return requested


def source_check(*, url: str) -> str:
    """The URL, normalised, or a ValidationError a user can read (scheme, host, private address)."""
    try:
        return ytdlp.check_url(url, allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS)
    except ytdlp.SourceError as exc:
        raise ValidationError(str(exc)) from None


def job_start(*, user, url: str, frames_requested: int | None = None) -> Started:
    """Queue a video or playlist URL; a URL already in the catalogue needs no new download."""
    url = source_check(url=url)
    count = frames_count(frames_requested)
    known = _known_video(url)
    if known is None or known.status != Video.Status.READY:
        submissions_check(user=user)
    if known is not None and known.status == Video.Status.READY:
        gallery_services.library_add(user=user, video=known)
        return Started(video=known)
    job = Job.objects.create(
        user=user, kind=Job.Kind.VIDEO, source_url=url, frames_requested=count, message=_WAITING
    )
    job_enqueue(job=job)
    return Started(job=job)


def job_start_upload(*, user, upload: UploadedFile, frames_requested: int | None = None) -> Job:
    """Queue a user's own video file; its type is read from its content, not its name."""
    count = frames_count(frames_requested)
    submissions_check(user=user)
    if upload.size is None or upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > settings.INSPIRE_MAX_UPLOAD_MB * MB:
        raise ValidationError(
            f"The file is larger than the {settings.INSPIRE_MAX_UPLOAD_MB} MB upload limit."
        )
    try:
        frames.content_type(upload)
    except frames.FrameError as exc:
        audio_only = "audio" in str(exc)
        raise ValidationError(
            str(exc)
            if audio_only
            else "This file is not a video we can read (try MP4, WebM, MKV, MOV or AVI)."
        ) from None
    name = Path(upload.name or "video").name[:255]
    job = Job(user=user, kind=Job.Kind.UPLOAD, upload_name=name, frames_requested=count, message=_WAITING)
    # Django has streamed the file to a temporary file (or memory) already; it is copied into
    # media only now, complete, and a copy the disk cannot hold leaves nothing behind.
    job.upload.name = gallery_services.file_save(
        name=job._meta.get_field("upload").generate_filename(job, "upload"), content=upload
    )
    try:
        job.save()
    except BaseException:
        default_storage.delete(job.upload.name)
        raise
    job_enqueue(job=job)
    return job


def job_start_frames(*, user, video: Video, frames_requested: int | None = None) -> Job:
    """Pull more frames from a video already in the catalogue."""
    count = frames_count(frames_requested)
    submissions_check(user=user)
    return _frames_job_create(user, video, count)


def _frames_job_create(user, video: Video, count: int) -> Job:
    job = Job.objects.create(
        user=user,
        kind=Job.Kind.FRAMES,
        video=video,
        source_url=video.source_url,
        frames_requested=count,
        message=_WAITING,
    )
    job_enqueue(job=job)
    return job


def job_start_refresh(*, playlist: Playlist, user=None, frames_requested: int | None = None) -> Job:
    """Fetch a playlist again and process only the videos not seen before."""
    return _playlist_job_start(Job.Kind.REFRESH, playlist, user, frames_requested)


def _playlist_job_start(kind: str, playlist: Playlist, user, frames_requested: int | None) -> Job:
    job = Job.objects.create(
        user=user,
        kind=kind,
        playlist=playlist,
        source_url=playlist.source_url,
        frames_requested=frames_count(frames_requested),
        message=_WAITING,
    )
    job_enqueue(job=job)
    return job


def job_retry(*, job: Job) -> Job:
    """Queue a failed job again from the start (a playlist retries only its failed videos)."""
    if job.status != Job.Status.FAILED:
        raise ValidationError("Only a failed job can be retried.")
    if job.kind == Job.Kind.UPLOAD and not (job.upload and default_storage.exists(job.upload.name)):
        raise ValidationError("The uploaded file is no longer kept; please upload it again.")
    with transaction.atomic():
        failed_children = list(job.children.filter(status=Job.Status.FAILED))
        if failed_children:
            for child in failed_children:
                _reset(child)
                job_enqueue(job=child)
            job.status, job.finished_at = Job.Status.RUNNING, None
            job.message = f"Retrying {len(failed_children)} video{pluralize(failed_children)}…"
            job.save(update_fields=["status", "finished_at", "message", "updated_at"])
        else:
            _reset(job)
            job_enqueue(job=job)
            if job.parent is not None and job.parent.is_finished:
                # One video of a settled playlist: the playlist counts again when it ends.
                parent = job.parent
                parent.status, parent.finished_at = Job.Status.RUNNING, None
                parent.message = "Retrying 1 video…"
                parent.save(update_fields=["status", "finished_at", "message", "updated_at"])
    return job


def job_requeue(*, job: Job) -> Job:
    """Start a job again from the beginning (one that waited for a job that was stopped)."""
    _reset(job)
    job_enqueue(job=job)
    return job


def _reset(job: Job) -> None:
    job.status, job.progress, job.attempts = Job.Status.QUEUED, 0.0, 0
    job.message, job.finished_at, job.holds_video, job.held = _WAITING, None, False, False
    job.save(
        update_fields=[
            "status",
            "progress",
            "attempts",
            "message",
            "finished_at",
            "holds_video",
            "held",
            "updated_at",
        ]
    )


def job_create_child(*, parent: Job, video: Video) -> Job:
    """One video of a playlist job, queued on its own (the pipeline's fan-out)."""
    child = Job.objects.create(
        user=parent.user,
        kind=Job.Kind.VIDEO,
        source_url=video.source_url,
        video=video,
        parent=parent,
        frames_requested=parent.frames_requested,
        message=_WAITING,
    )
    job_enqueue(job=child)
    return child


# Set while manage.py runs jobs in its own process (--wait): nothing goes to the cluster then,
# and every progress update is also handed to the caller's listener (its progress bar).
_inline = contextvars.ContextVar("inline_jobs", default=False)
_listener: contextvars.ContextVar[Callable[[Job], None] | None] = contextvars.ContextVar(
    "job_listener", default=None
)


HELD_MESSAGE = "Waiting for your other job to finish first…"


def job_enqueue(*, job: Job) -> None:
    """Hand the job to the cluster once this transaction commits (never from inside it).

    A user with INSPIRE_USER_RUNNING_JOBS jobs already there gets this one held back instead, so
    that one user's slow links cannot take every worker: `jobs_release_held` hands it over when
    one of theirs ends. The worker checks the limit again (`jobs.pipeline`), as two requests of
    one user may both pass here at once.
    """
    if _inline.get():
        return
    if user_at_limit(user_id=job.user_id, exclude_pk=job.pk):
        job.held, job.message = True, HELD_MESSAGE
        Job.objects.filter(pk=job.pk).update(held=True, message=HELD_MESSAGE, updated_at=timezone.now())
        return
    if job.held:
        job.held, job.message = False, _WAITING
        Job.objects.filter(pk=job.pk).update(held=False, message=_WAITING, updated_at=timezone.now())
    job_id = job.pk
    transaction.on_commit(lambda: async_task(RUN_TASK, job_id, task_name=f"job-{job_id}"))


def user_at_limit(*, user_id: int | None, exclude_pk: int | None = None) -> bool:
    """Does this user already have as many jobs in the cluster as INSPIRE_USER_RUNNING_JOBS?

    The scheduler's own work (no user) is never held.
    """
    if user_id is None:
        return False
    busy = Job.objects.in_flight().filter(user_id=user_id).exclude(pk=exclude_pk)
    return busy.count() >= settings.INSPIRE_USER_RUNNING_JOBS


def jobs_release_held(*, user_id: int | None) -> int:
    """Hand the user's held jobs to the cluster, oldest first, while they are under the limit."""
    if user_id is None:
        return 0
    released = 0
    with transaction.atomic():
        for job in Job.objects.filter(user_id=user_id, held=True, status=Job.Status.QUEUED).order_by(
            "created_at", "pk"
        ):
            job_enqueue(job=job)
            if job.held:
                break
            released += 1
    return released


def submissions_check(*, user) -> None:
    """Refuse a submission past INSPIRE_USER_JOBS_PER_HOUR, saying when the next one is allowed.

    Counted: what the user asked for (links, uploads, more frames), not a playlist's own video
    jobs. Staff are not limited: curation imports whole playlists at once.
    """
    limit = settings.INSPIRE_USER_JOBS_PER_HOUR
    if user is None or user.is_staff:
        return
    since = timezone.now() - timedelta(hours=1)
    recent = list(
        Job.objects.filter(user=user, parent__isnull=True, created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return
    wait_s = max(60, (recent[-1] + timedelta(hours=1) - timezone.now()).total_seconds())
    raise ValidationError(
        f"You have added {limit} videos in the last hour, which is the limit. "
        f"Please try again in {round(wait_s / 60)} minutes.",
        code="rate_limited",
    )


@contextlib.contextmanager
def jobs_inline(*, on_progress: Callable[[Job], None] | None = None) -> Iterator[None]:
    """Within this block jobs are created but not queued: the caller runs them
    (`jobs.pipeline.job_run_inline`), and `on_progress` sees every update."""
    token, listener_token = _inline.set(True), _listener.set(on_progress)
    try:
        yield
    finally:
        _inline.reset(token)
        _listener.reset(listener_token)


def running_inline() -> bool:
    """Inside a `jobs_inline` block (manage.py --wait): the caller runs the job itself, now."""
    return _inline.get()


def progress_listener() -> Callable[[Job], None] | None:
    """The listener of the enclosing `jobs_inline` block, if any."""
    return _listener.get()


def _known_video(url: str) -> Video | None:
    match = ytdlp.quick_match(url)
    if match is not None:
        found = Video.objects.filter(provider=match[0], provider_id=match[1]).first()
        if found is not None:
            return found
    return Video.objects.filter(source_url=url).first()


# --- Curation (admin, schedules, manage.py) -------------------------------------------------
def playlist_import_start(*, playlist: Playlist, user=None, frames_requested: int | None = None) -> Job:
    """Import a playlist staff created in the admin from a bare URL.

    Unlike a refresh, every video of the playlist that is not ready yet gets processed. The
    row has no provider id yet: the worker identifies it first (merging it into an existing
    row with the same identity, if there is one).
    """
    return _playlist_job_start(Job.Kind.PLAYLIST, playlist, user, frames_requested)


@transaction.atomic
def playlist_frames_more_start(
    *, playlist: Playlist, user=None, frames_requested: int | None = None
) -> list[Job]:
    """Pull `frames_requested` more frames from every ready video of a playlist, one job each.

    Videos not ready yet get their frames from the job already working on them; failed ones
    need a retry of that job, not more frames.
    """
    count = frames_count(frames_requested)
    submissions_check(user=user)  # one request, however many videos the playlist has
    videos = Video.objects.filter(playlist_entries__playlist=playlist, status=Video.Status.READY).order_by(
        "playlist_entries__position", "pk"
    )
    return [_frames_job_create(user, video, count) for video in videos]


def _refuse_if_busy(video: Video) -> None:
    # The job holding the video would write frames back, or read the upload we delete.
    if Job.objects.filter(video=video, holds_video=True).exists():
        raise ValidationError(f"“{video}” is being processed right now; try again when that job is done.")


@transaction.atomic
def video_purge(*, video: Video) -> gallery_services.FilesDeleted:
    """The admin's "Delete files": unsaved frames and, when nothing saved is left, the upload."""
    # The row lock orders us with the pipeline's claim: no job can start on this video until
    # we commit.
    video = Video.objects.select_for_update().get(pk=video.pk)
    _refuse_if_busy(video)
    return gallery_services.video_delete_files(video=video)


@transaction.atomic
def frames_reextract_start(*, video: Video, user=None) -> Job:
    """Replace a video's unsaved frames: delete them, then pull as many again.

    Saved frames stay and count as already taken, so the new ones differ from them. A video
    with nothing to replace (no frames yet) gets the default number.
    """
    video = Video.objects.select_for_update().get(pk=video.pk)
    _refuse_if_busy(video)
    if video.is_upload and not video.file:
        raise ValidationError(f"The uploaded file of “{video}” was deleted, so it cannot be read again.")
    deleted = gallery_services.frames_delete_unsaved(video=video)
    count = min(deleted or settings.INSPIRE_FRAMES_DEFAULT, settings.INSPIRE_FRAMES_MAX)
    return job_start_frames(user=user, video=video, frames_requested=count)


def curated_refresh_start() -> list[Job]:
    """The scheduled refresh: one job per curated playlist, fetching only its new videos.

    A playlist whose import or refresh is still going is skipped, so a slow run never piles
    up behind itself; an active job older than a day no longer counts (it is stuck, not slow).
    """
    busy = (
        Job.objects.active()
        .filter(parent__isnull=True, playlist__isnull=False, kind__in=[Job.Kind.PLAYLIST, Job.Kind.REFRESH])
        .filter(created_at__gte=timezone.now() - timedelta(days=1))
        .values("playlist_id")
    )
    playlists = Playlist.objects.curated().exclude(pk__in=busy).order_by("pk")
    return [job_start_refresh(playlist=playlist) for playlist in playlists]
