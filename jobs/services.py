"""The ingest pipeline: start jobs, run them in the worker, record results through gallery.

A job runs as a django-q2 task (`jobs.tasks.run_job`) that only calls `job_run`. The task is
idempotent and counts its own attempts: django-q2's ORM broker hands a task out again after
`retry` seconds when a worker died holding it.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from gallery import services as gallery_services
from gallery.models import Frame, Playlist, Video

from . import frames, ytdlp
from .models import Job

logger = logging.getLogger(__name__)

_TASK = "jobs.tasks.run_job"
_PROGRESS_EVERY_S = 0.5


class JobFailed(Exception):
    """Ends a job as failed with this message, which users read."""


# --- Starting work (web requests, manage.py, admin) -----------------------------------------
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
    if known is not None and known.status == Video.Status.READY:
        gallery_services.library_add(user=user, video=known)
        return Started(video=known)
    job = Job.objects.create(
        user=user,
        kind=Job.Kind.VIDEO,
        source_url=url,
        frames_requested=count,
        message="Waiting for a worker…",
    )
    _enqueue(job)
    return Started(job=job)


def job_start_upload(*, user, upload: UploadedFile, frames_requested: int | None = None) -> Job:
    """Queue a user's own video file; its type is sniffed from its first bytes, not its name."""
    count = frames_count(frames_requested)
    max_bytes = settings.INSPIRE_MAX_UPLOAD_MB * 1024 * 1024
    if upload.size is None or upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > max_bytes:
        raise ValidationError(
            f"The file is larger than the {settings.INSPIRE_MAX_UPLOAD_MB} MB upload limit."
        )
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    if frames.sniff_container(head) is None:
        raise ValidationError("This file is not a video we can read (try MP4, WebM, MKV, MOV or AVI).")
    name = Path(upload.name or "video").name[:255]
    job = Job(
        user=user,
        kind=Job.Kind.UPLOAD,
        upload_name=name,
        frames_requested=count,
        message="Waiting for a worker…",
    )
    job.upload.save("upload", upload, save=False)
    job.save()
    _enqueue(job)
    return job


def job_start_frames(*, user, video: Video, frames_requested: int | None = None) -> Job:
    """Pull more frames from a video already in the catalogue."""
    count = frames_count(frames_requested)
    job = Job.objects.create(
        user=user,
        kind=Job.Kind.FRAMES,
        video=video,
        source_url=video.source_url,
        frames_requested=count,
        message="Waiting for a worker…",
    )
    _enqueue(job)
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
        message="Waiting for a worker…",
    )
    _enqueue(job)
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
                _enqueue(child)
            job.status, job.finished_at = Job.Status.RUNNING, None
            job.message = f"Retrying {len(failed_children)} video(s)…"
            job.save(update_fields=["status", "finished_at", "message", "updated_at"])
        else:
            _reset(job)
            _enqueue(job)
    return job


def _reset(job: Job) -> None:
    job.status, job.progress, job.attempts = Job.Status.QUEUED, 0.0, 0
    job.message, job.finished_at, job.holds_video = "Waiting for a worker…", None, False
    job.save(
        update_fields=[
            "status",
            "progress",
            "attempts",
            "message",
            "finished_at",
            "holds_video",
            "updated_at",
        ]
    )


# Set while manage.py runs jobs in its own process (--wait): nothing goes to the cluster then,
# and every progress update is also handed to the caller's listener (its progress bar).
_inline = contextvars.ContextVar("inline_jobs", default=False)
_listener: contextvars.ContextVar[Callable[[Job], None] | None] = contextvars.ContextVar(
    "job_listener", default=None
)


def _enqueue(job: Job) -> None:
    if _inline.get():
        return
    job_id = job.pk
    transaction.on_commit(lambda: async_task(_TASK, job_id, task_name=f"job-{job_id}"))


@contextlib.contextmanager
def jobs_inline(*, on_progress: Callable[[Job], None] | None = None) -> Iterator[None]:
    """Within this block jobs are created but not queued: the caller runs them (job_run_inline)."""
    token, listener_token = _inline.set(True), _listener.set(on_progress)
    try:
        yield
    finally:
        _inline.reset(token)
        _listener.reset(listener_token)


def job_run_inline(*, job_id: int) -> Job:
    """Run a job and every job it spawned (a playlist's videos) in this process, in order."""
    job_run(job_id=job_id)
    for child_id in Job.objects.filter(parent_id=job_id, status=Job.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        job_run(job_id=child_id)
    return Job.objects.get(pk=job_id)


def _known_video(url: str) -> Video | None:
    match = ytdlp.quick_match(url)
    if match is not None:
        found = Video.objects.filter(provider=match[0], provider_id=match[1]).first()
        if found is not None:
            return found
    return Video.objects.filter(source_url=url).first()


# --- Running work (the worker) --------------------------------------------------------------
def job_run(*, job_id: int) -> None:
    """Entry point of the task: run one job to done or failed, whatever goes wrong."""
    job = _begin(job_id)
    if job is None:
        return
    workdir = Path(settings.INSPIRE_TEMP_DIR) / f"job-{job.pk}"
    # A killed earlier attempt may have left a partial download behind.
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        if job.kind == Job.Kind.UPLOAD:
            _run_upload(job, workdir)
        elif job.kind in (Job.Kind.PLAYLIST, Job.Kind.REFRESH):
            _run_playlist(job, None)
        elif job.kind == Job.Kind.FRAMES:
            _process_video(job, job.video, job.video.source_url, workdir, more=True)
        elif job.video_id is not None:
            _process_video(job, job.video, job.source_url, workdir)  # one video of a playlist
        else:
            _run_link(job, workdir)
    except Exception as exc:
        _fail(job, _text(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


_EXPECTED = (JobFailed, ytdlp.SourceError, frames.FrameError, ValidationError)
_CRASHED = "Something went wrong on our side while processing this. Please try again later."


def _text(exc: Exception) -> str:
    """The user's side of an exception: our own messages as they are, a crash as a plain apology."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, _EXPECTED):
        return str(exc)
    logger.error("Job crashed", exc_info=exc)
    return _CRASHED


def _begin(job_id: int) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("Job %s no longer exists; nothing to do", job_id)
            return None
        if job.is_finished or job.status == Job.Status.WAITING:
            return None  # a redelivered task whose work is already settled
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.status = Job.Status.RUNNING
        if job.attempts > settings.INSPIRE_JOB_MAX_ATTEMPTS:
            job.save(update_fields=["attempts", "started_at", "status", "updated_at"])
            give_up = job
        else:
            if job.attempts > 1:
                job.message = (
                    f"Starting again (attempt {job.attempts} of {settings.INSPIRE_JOB_MAX_ATTEMPTS})…"
                )
            job.save(update_fields=["attempts", "started_at", "status", "message", "updated_at"])
            return job
    _fail(
        give_up,
        f"The worker stopped {give_up.attempts - 1} times while working on this, so we gave up. "
        "Try again later, or try a shorter video.",
    )
    return None


def _run_link(job: Job, workdir: Path) -> None:
    _progress(job, 0.02, "Looking at the link…", force=True)
    source = ytdlp.inspect(
        job.source_url,
        allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
        max_entries=settings.INSPIRE_MAX_PLAYLIST_LENGTH,
        cookies_file=settings.INSPIRE_COOKIES_FILE,
        socket_timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
    )
    if source.kind == "playlist":
        job.kind = Job.Kind.PLAYLIST
        job.save(update_fields=["kind", "updated_at"])
        _run_playlist(job, source)
        return
    entry = source.entries[0]
    video = gallery_services.video_register(
        provider=entry.provider, provider_id=entry.provider_id, source_url=entry.url, title=entry.title
    )
    if job.user is not None:
        gallery_services.library_add(user=job.user, video=video)
    job.video = video
    job.save(update_fields=["video", "updated_at"])
    _process_video(job, video, entry.url, workdir)


def _run_upload(job: Job, workdir: Path) -> None:
    _progress(job, 0.05, "Reading your file…", force=True)
    local = workdir / "upload"
    digest = hashlib.sha256()
    # Through the storage API so an S3 bucket works as well as the local disk.
    with default_storage.open(job.upload.name, "rb") as src, open(local, "wb") as dst:
        for chunk in iter(lambda: src.read(1024 * 1024), b""):
            digest.update(chunk)
            dst.write(chunk)
    meta = frames.probe(local)
    _check_duration(meta.duration_ms / 1000)
    video = gallery_services.video_register(
        provider=Video.UPLOAD_PROVIDER, provider_id=digest.hexdigest()[:40], title=Path(job.upload_name).stem
    )
    gallery_services.video_attach_file(video=video, name=job.upload.name, content_type=_content_type(local))
    if job.user is not None:
        gallery_services.library_add(user=job.user, video=video)
    job.video = video
    job.save(update_fields=["video", "updated_at"])
    _process_video(job, video, "", workdir, local_file=local, meta=meta)


def _content_type(path: Path) -> str:
    with open(path, "rb") as fh:
        kind = frames.sniff_container(fh.read(64))
    return {
        "webm": "video/webm",
        "mkv": "video/x-matroska",
        "avi": "video/x-msvideo",
        "ogg": "video/ogg",
        "mov": "video/quicktime",
        "mpegts": "video/mp2t",
        "flv": "video/x-flv",
    }.get(kind or "", "video/mp4")


def _check_duration(seconds: float | None) -> None:
    limit = settings.INSPIRE_MAX_DURATION_S
    if seconds and seconds > limit:
        raise JobFailed(f"The video is longer than the {_duration_label(limit)} limit.")


def _duration_label(seconds: float) -> str:
    hours, minutes = int(seconds // 3600), int(seconds % 3600 // 60)
    return f"{hours} h {minutes} min" if hours and minutes else f"{hours} h" if hours else f"{minutes} min"


def _process_video(
    job: Job,
    video: Video,
    url: str,
    workdir: Path,
    *,
    more: bool = False,
    local_file: Path | None = None,
    meta: frames.VideoMeta | None = None,
) -> None:
    """Download (unless local) and extract frames, once per video however many jobs ask."""
    if not _claim(job, video, more=more):
        return
    try:
        before = job.result.get("frames_before")
        if before is None:
            before = video.frames.count()
            job.result = {**job.result, "frames_before": before}
            job.save(update_fields=["result", "updated_at"])
        wanted = before + job.frames_requested if (more or before == 0) else before
        path = local_file
        if path is None and video.is_upload:
            path = workdir / "video"
            with default_storage.open(video.file.name, "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        if path is None:
            path = _download(job, video, url or video.source_url, workdir)
        if meta is None:
            meta = frames.probe(path)
            _check_duration(meta.duration_ms / 1000)
        gallery_services.video_update_meta(
            video=video, duration=meta.duration_ms / 1000, width=meta.width, height=meta.height, fps=meta.fps
        )
        _extract(job, video, path, max(0, wanted - video.frames.count()), meta)
    except Exception as exc:
        _release(job, video, error=_text(exc))
        return
    _release(job, video)


def _claim(job: Job, video: Video, *, more: bool) -> bool:
    """Make this job the one that downloads `video`, or park it behind the job that is.

    The video row lock orders claim and release, so a parked job is always finished by the
    holder's release (no job can be parked after the holder let go).
    """
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        holder = Job.objects.filter(video=video, holds_video=True).exclude(pk=job.pk).first()
        if holder is not None:
            job.video, job.status = video, Job.Status.WAITING
            job.message = "This video is already being processed for another request; it will be ready soon."
            job.save(update_fields=["video", "status", "message", "updated_at"])
            return False
        if not more and video.status == Video.Status.READY and video.frames.exists():
            job.video = video
            job.save(update_fields=["video", "updated_at"])
            _finish(job, _ready_message(video))
            return False
        job.video, job.holds_video = video, True
        job.save(update_fields=["video", "holds_video", "updated_at"])
        gallery_services.video_set_status(video=video, status=Video.Status.PROCESSING)
    return True


def _release(job: Job, video: Video, *, error: str | None = None) -> None:
    """Let go of the video and settle this job and every job that waited for it."""
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        n_frames = video.frames.count()
        if error is None and n_frames == 0:
            error = "We could not find any clear frames in this video (it may be too dark, flat or blurred)."
        # Frames from an earlier run stay usable even when pulling more failed.
        if n_frames:
            gallery_services.video_set_status(video=video, status=Video.Status.READY)
        else:
            gallery_services.video_set_status(video=video, status=Video.Status.FAILED, error=error)
        Job.objects.filter(pk=job.pk).update(holds_video=False)
        job.holds_video = False
        ready = _ready_message(video, n_frames)
        for other in Job.objects.select_for_update().filter(video=video, status=Job.Status.WAITING):
            if n_frames:
                _finish(other, ready)
            else:
                _fail(other, error)
    if error is None:
        _finish(job, ready)
    else:
        _fail(job, error)


def _ready_message(video: Video, n: int | None = None) -> str:
    n = video.frames.count() if n is None else n
    return f"Ready: {n} frame{'s' if n != 1 else ''} from “{video}”."


def _download(job: Job, video: Video, url: str, workdir: Path) -> Path:
    _progress(job, 0.05, "Downloading the video…", force=True)

    last = [0.0]

    def on_progress(fraction: float | None, message: str) -> None:
        # Unknown sizes report None: keep the bar where it was rather than jump back.
        last[0] = fraction if fraction is not None else last[0]
        _progress(job, 0.05 + 0.55 * last[0], message)

    result = ytdlp.download(
        url,
        dest_dir=workdir,
        max_height=settings.INSPIRE_MAX_HEIGHT,
        max_filesize=settings.INSPIRE_MAX_FILESIZE_MB * 1024 * 1024,
        max_duration=settings.INSPIRE_MAX_DURATION_S,
        allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
        cookies_file=settings.INSPIRE_COOKIES_FILE,
        socket_timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
        progress=on_progress,
    )
    if not video.title:
        # For bare file links the title is the file name; a playlist's own title is better.
        gallery_services.video_update_meta(video=video, title=result.title)
    return result.path


def _extract(job: Job, video: Video, path: Path, count: int, meta: frames.VideoMeta) -> None:
    if count <= 0:
        return
    _progress(job, 0.6, f"Finding good frames (0 of {count})…", force=True)

    def on_progress(done: int, total: int) -> None:
        _progress(
            job, 0.6 + 0.4 * done / max(total, 1), f"Finding good frames ({done} of {total})…", force=True
        )

    for still in frames.extract_stills(
        path,
        count=count,
        meta=meta,
        known_hashes=gallery_services.frame_hashes(video=video),
        on_progress=on_progress,
    ):
        gallery_services.frame_add(
            video=video,
            timestamp_ms=still.timestamp_ms,
            width=still.width,
            height=still.height,
            jpeg=still.jpeg,
            thumbnail=still.thumbnail,
            thumbnail_ext=still.thumbnail_ext,
            dhash=still.dhash,
            brightness=still.brightness,
            contrast=still.contrast,
            sharpness=still.sharpness,
            palette=still.palette,
        )


# --- Playlists ------------------------------------------------------------------------------
def _run_playlist(job: Job, source: ytdlp.Source | None) -> None:
    if source is None:
        _progress(job, 0.02, "Reading the playlist…", force=True)
        source = ytdlp.inspect(
            job.source_url,
            allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
            max_entries=settings.INSPIRE_MAX_PLAYLIST_LENGTH,
            cookies_file=settings.INSPIRE_COOKIES_FILE,
            socket_timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
        )
    with transaction.atomic():
        if job.playlist is not None:
            playlist = gallery_services.playlist_identify(
                playlist=job.playlist,
                provider=source.provider,
                provider_id=source.provider_id,
                title=source.title,
            )
        else:
            playlist = gallery_services.playlist_register(
                provider=source.provider,
                provider_id=source.provider_id,
                source_url=source.url,
                title=source.title,
                owner=job.user,
            )
        if job.user is not None:
            gallery_services.library_add(user=job.user, playlist=playlist)
        videos = [
            gallery_services.video_register(
                provider=e.provider, provider_id=e.provider_id, source_url=e.url, title=e.title
            )
            for e in source.entries
        ]
        added = gallery_services.playlist_add_entries(playlist=playlist, videos=videos)
        # A refresh only works on videos new to the playlist; a first import on every video
        # that is not ready yet (others may already be ready from another user's request).
        todo = (
            added if job.kind == Job.Kind.REFRESH else [v for v in videos if v.status != Video.Status.READY]
        )
        job.playlist = playlist
        job.result = {**job.result, "videos": len(videos), "added": len(added)}
        job.save(update_fields=["playlist", "result", "updated_at"])
        existing = {c.video_id: c for c in job.children.all()}
        for video in todo:
            child = existing.get(video.pk)
            if child is None:
                child = Job.objects.create(
                    user=job.user,
                    kind=Job.Kind.VIDEO,
                    source_url=video.source_url,
                    video=video,
                    parent=job,
                    frames_requested=job.frames_requested,
                    message="Waiting for a worker…",
                )
                _enqueue(child)
            elif child.status == Job.Status.QUEUED and child.attempts == 0:
                _enqueue(child)  # a killed earlier attempt may have died before enqueueing it
        if not todo:
            _finish(
                job,
                f"Up to date: {len(videos)} video(s), no new ones."
                if job.kind == Job.Kind.REFRESH
                else f"All {len(videos)} video(s) are ready.",
            )
            return
        _progress(job, 0.05, f"Processing {len(todo)} video(s)…", force=True)
    _parent_check(job.pk)


def _parent_check(parent_id: int | None) -> None:
    """Recount a playlist job from its children; finish it when the last one settles."""
    if parent_id is None:
        return
    with transaction.atomic():
        parent = Job.objects.select_for_update().get(pk=parent_id)
        if parent.is_finished:
            return
        children = list(parent.children.select_related("video"))
        settled = [c for c in children if c.is_finished]
        failed = [c for c in children if c.status == Job.Status.FAILED]
        ok = len(settled) - len(failed)
        parent.result = {
            **parent.result,
            "ok": ok,
            "failed": [
                {"title": str(c.video or c.source_url), "url": c.source_url, "reason": c.message}
                for c in failed
            ],
        }
        parent.progress = min(1.0, 0.05 + 0.95 * len(settled) / max(len(children), 1))
        if len(settled) < len(children):
            parent.message = f"{len(settled)} of {len(children)} video(s) processed…"
            parent.save(update_fields=["result", "progress", "message", "updated_at"])
            return
        parent.progress, parent.finished_at = 1.0, timezone.now()
        if failed and not ok:
            parent.status = Job.Status.FAILED
            parent.message = f"None of the {len(children)} video(s) could be processed: {failed[0].message}"
        else:
            parent.status = Job.Status.DONE
            parent.message = f"{ok} of {len(children)} video(s) ready."
            if failed:
                parent.message += f" {len(failed)} failed."
        parent.save(update_fields=["result", "progress", "status", "message", "finished_at", "updated_at"])


# --- Progress and outcome -------------------------------------------------------------------
_last_write: dict[int, float] = {}


def _progress(job: Job, fraction: float, message: str, *, force: bool = False) -> None:
    """Record progress, at most every half second: hooks fire far more often than that."""
    now = time.monotonic()
    if not force and now - _last_write.get(job.pk, 0.0) < _PROGRESS_EVERY_S:
        return
    _last_write[job.pk] = now
    job.progress = max(0.0, min(1.0, fraction))
    job.message = message[:1000]
    Job.objects.filter(pk=job.pk).update(
        progress=job.progress, message=job.message, updated_at=timezone.now()
    )
    _notify(job)


def _notify(job: Job) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(job)


def _finish(job: Job, message: str) -> None:
    job.status, job.progress, job.message, job.finished_at = (
        Job.Status.DONE,
        1.0,
        message[:1000],
        timezone.now(),
    )
    job.save(update_fields=["status", "progress", "message", "finished_at", "updated_at"])
    _last_write.pop(job.pk, None)
    _notify(job)
    _parent_check(job.parent_id)


def _fail(job: Job, message: str) -> None:
    logger.info("Job %s failed: %s", job.pk, message)
    job.status, job.message, job.finished_at = Job.Status.FAILED, message[:1000], timezone.now()
    job.holds_video = False
    job.save(update_fields=["status", "message", "finished_at", "holds_video", "updated_at"])
    _last_write.pop(job.pk, None)
    _notify(job)
    _parent_check(job.parent_id)


# --- Curation and operations (admin, schedules, manage.py) ----------------------------------
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
    videos = Video.objects.filter(playlist_entries__playlist=playlist, status=Video.Status.READY).order_by(
        "playlist_entries__position", "pk"
    )
    return [job_start_frames(user=user, video=video, frames_requested=count) for video in videos]


def _refuse_if_busy(video: Video) -> None:
    # The job holding the video would write frames back, or read the upload we delete.
    if Job.objects.filter(video=video, holds_video=True).exists():
        raise ValidationError(f"“{video}” is being processed right now; try again when that job is done.")


@transaction.atomic
def video_purge(*, video: Video) -> gallery_services.FilesDeleted:
    """The admin's "Delete files": unsaved frames and, when nothing saved is left, the upload."""
    # The row lock orders us with `_claim`: no job can start on this video until we commit.
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


HEARTBEAT_TASK = "jobs.tasks.heartbeat"


def cluster_heartbeat() -> str:
    """Nothing to do but finish: django-q2's row of the finished task is the heartbeat.

    With the ORM broker django-q2 keeps its own cluster status (`Stat`) in Django's cache,
    which is per process here, so other processes cannot see it; the task rows they can.
    """
    return timezone.now().isoformat()


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str
    minutes: int | None
    first_run_after: timedelta

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes or 60)


def schedule_specs() -> list[ScheduleSpec]:
    """The schedules the site needs. jobs/migrations/0002 holds a frozen copy of this list."""
    return [
        ScheduleSpec("inspire-heartbeat", HEARTBEAT_TASK, Schedule.MINUTES, 1, timedelta(0)),
        # Not at once after a deploy: the first refresh comes one interval later.
        ScheduleSpec(
            "inspire-refresh-curated",
            "jobs.tasks.refresh_curated",
            Schedule.MINUTES,
            settings.INSPIRE_REFRESH_MINUTES,
            timedelta(minutes=settings.INSPIRE_REFRESH_MINUTES),
        ),
        ScheduleSpec("inspire-cleanup", "jobs.tasks.cleanup", Schedule.HOURLY, None, timedelta(hours=1)),
    ]


def schedules_ensure() -> list[Schedule]:
    """Create or update our schedules by name: exactly one row per name however often it runs.

    The next run of an existing schedule is kept (a deploy does not reset the clock) unless a
    shorter interval brings it closer.
    """
    now = timezone.now()
    ensured = []
    for spec in schedule_specs():
        with transaction.atomic():
            rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
            schedule = rows[0] if rows else Schedule(name=spec.name, next_run=now + spec.first_run_after)
            for extra in rows[1:]:
                extra.delete()
            schedule.func, schedule.schedule_type = spec.func, spec.schedule_type
            schedule.minutes = spec.minutes
            schedule.args = schedule.kwargs = schedule.hook = schedule.cluster = None
            schedule.repeats = -1
            if schedule.next_run is None or schedule.next_run > now + spec.interval:
                schedule.next_run = now + min(spec.first_run_after, spec.interval)
            schedule.save()
        ensured.append(schedule)
    return ensured


_JOB_DIR = re.compile(r"job-(\d+)")
_FINISHED = (Job.Status.DONE, Job.Status.FAILED)


def temp_dirs_cleanup(*, older_than_s: float | None = None, dry_run: bool = False) -> list[Path]:
    """Remove job-<id> folders of INSPIRE_TEMP_DIR left by killed workers (job finished or gone).

    Only folders named like ours are touched, in case the setting points at a shared /tmp; a
    folder counts as old when nothing in it changed for `older_than_s`.
    """
    if older_than_s is None:
        older_than_s = settings.INSPIRE_TEMP_MAX_AGE_H * 3600
    root = Path(settings.INSPIRE_TEMP_DIR)
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than_s
    found: dict[int, Path] = {}
    for entry in root.iterdir():
        match = _JOB_DIR.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and _last_change(entry) < cutoff:
            found[int(match.group(1))] = entry
    unfinished = set(
        Job.objects.filter(pk__in=found).exclude(status__in=_FINISHED).values_list("pk", flat=True)
    )
    doomed = [path for pk, path in sorted(found.items()) if pk not in unfinished]
    if not dry_run:
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
            logger.info("Removed the leftover temporary folder %s", path)
    return doomed


def _last_change(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    return newest


def task_results_cleanup(*, older_than_days: int | None = None) -> int:
    """Delete django-q2's finished-task rows older than the limit, and all but the last heartbeat.

    A heartbeat a minute would otherwise crowd every other result out of Q_CLUSTER's save_limit.
    """
    if older_than_days is None:
        older_than_days = settings.INSPIRE_TASK_RESULTS_DAYS
    deleted, _ = Task.objects.filter(stopped__lt=timezone.now() - timedelta(days=older_than_days)).delete()
    heartbeats = Task.objects.filter(func=HEARTBEAT_TASK, success=True)
    newest = heartbeats.order_by("-stopped").values_list("pk", flat=True).first()
    if newest is not None:
        deleted += heartbeats.exclude(pk=newest).delete()[0]
    return deleted


@dataclass(frozen=True)
class Pruned:
    files: list[str]
    bytes: int
    temp_dirs: list[Path]


MEDIA_FOLDERS = ("frames", "thumbs", "uploads")


def media_prune(*, dry_run: bool = False, grace_s: float = 3600) -> Pruned:
    """Remove media files no row points at, and temporary folders of finished jobs.

    Kept: every Frame.image and Frame.thumbnail, every Video.file, and the upload of every job
    not finished yet. Files younger than `grace_s` are kept as well: a frame's files are written
    just before its row is saved, and an upload just before its job.
    """
    referenced: set[str] = set()
    for image, thumbnail in Frame.objects.values_list("image", "thumbnail").iterator(chunk_size=5000):
        referenced.update((image, thumbnail))
    referenced.update(Video.objects.exclude(file="").values_list("file", flat=True))
    referenced.update(
        Job.objects.exclude(upload="").exclude(status__in=_FINISHED).values_list("upload", flat=True)
    )
    cutoff = timezone.now() - timedelta(seconds=grace_s)
    orphans, size = [], 0
    for folder in MEDIA_FOLDERS:
        for name in _storage_walk(folder):
            if name in referenced or default_storage.get_modified_time(name) > cutoff:
                continue
            orphans.append(name)
            size += default_storage.size(name)
    if not dry_run:
        for name in orphans:
            default_storage.delete(name)
        logger.info("Pruned %d media file(s), %d bytes", len(orphans), size)
    temp_dirs = temp_dirs_cleanup(older_than_s=grace_s, dry_run=dry_run)
    return Pruned(files=orphans, bytes=size, temp_dirs=temp_dirs)


def _storage_walk(top: str) -> Iterator[str]:
    try:
        folders, files = default_storage.listdir(top)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files):
        yield f"{top}/{name}"
    for folder in sorted(folders):
        yield from _storage_walk(f"{top}/{folder}")
