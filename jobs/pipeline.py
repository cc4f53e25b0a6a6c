"""Running a job in the worker: claim the video, download, extract frames, release; playlists fan out.

`job_run` is what the django-q2 task calls. It is idempotent and counts its own attempts:
django-q2's ORM broker hands a task out again after `retry` seconds when a worker died holding
it. Results are recorded through gallery.services.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_q.exceptions import TimeoutException

from gallery import queries as gallery_queries
from gallery import services as gallery_services
from gallery.models import Video

from . import frames, services, ytdlp
from .models import Job
from .units import KB, MB, duration_text, size_text

logger = logging.getLogger(__name__)

_PROGRESS_EVERY_S = 0.5


class JobFailed(Exception):
    """Ends a job as failed with this message, which users read."""


def job_run_inline(*, job_id: int) -> Job:
    """Run a job and every job it spawned (a playlist's videos) in this process, in order.

    For manage.py's --wait, inside `services.jobs_inline()` so that nothing is queued.
    """
    job_run(job_id=job_id)
    for child_id in Job.objects.filter(parent_id=job_id, status=Job.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        job_run(job_id=child_id)
    return Job.objects.get(pk=job_id)


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
    except TimeoutException:
        # django-q2's timeout is a SystemExit, which `except Exception` lets through: say so on
        # the job before the worker goes (jobs_reap is there for a worker killed outright).
        _after_interrupt()
        job.refresh_from_db()
        if not job.is_finished:
            _fail(job, timeout_message())
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def timeout_message() -> str:
    """What a job stopped at Q_TIMEOUT says: "This took longer than 30 minutes and was stopped."."""
    limit = settings.Q_TIMEOUT
    span = f"{limit // 60} minutes" if limit >= 120 and limit % 60 == 0 else duration_text(limit)
    return f"This took longer than {span} and was stopped."


def _after_interrupt() -> None:
    # The alarm may have struck in the middle of a query: start the clean-up on a new connection.
    if not connection.in_atomic_block:
        connection.close()


_EXPECTED = (JobFailed, ytdlp.SourceError, frames.FrameError, ValidationError)
_CRASHED = "Something went wrong on our side while processing this. Please try again later."


def _text(exc: Exception) -> str:
    """The user's side of an exception: our own messages as they are, a crash as a plain apology."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, _EXPECTED):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        logger.error("Storage full: %s", exc)  # the temporary folder, or media
        return gallery_services.STORAGE_FULL
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
        if _user_busy(job):
            # Two jobs of one user were handed out together; this one waits for the other.
            job.status, job.held, job.message = Job.Status.QUEUED, True, services.HELD_MESSAGE
            job.save(update_fields=["status", "held", "message", "updated_at"])
            return None
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.status = Job.Status.RUNNING
        job.worker = f"{settings.INSPIRE_WORKER_NAME}/{os.getpid()}"[:200]
        if job.attempts > settings.INSPIRE_JOB_MAX_ATTEMPTS:
            job.save(update_fields=["attempts", "started_at", "status", "worker", "updated_at"])
            give_up = job
        else:
            if job.attempts > 1:
                job.message = (
                    f"Starting again (attempt {job.attempts} of {settings.INSPIRE_JOB_MAX_ATTEMPTS})…"
                )
            job.save(update_fields=["attempts", "started_at", "status", "worker", "message", "updated_at"])
            logger.info("Job %s: attempt %s on %s", job.pk, job.attempts, job.worker)
            return job
    _fail(
        give_up,
        f"The worker stopped {give_up.attempts - 1} times while working on this, so we gave up. "
        "Try again later, or try a shorter video.",
    )
    return None


def _user_busy(job: Job) -> bool:
    """Is another job of this user already running its task (INSPIRE_USER_RUNNING_JOBS)?"""
    if job.user_id is None or services.running_inline():
        return False  # manage.py --wait runs it here and now, outside the cluster's share
    # The user's row lock makes two workers starting two of their jobs take turns here.
    get_user_model().objects.select_for_update().filter(pk=job.user_id).first()
    running = Job.objects.in_flight().filter(user_id=job.user_id, status=Job.Status.RUNNING)
    return running.exclude(pk=job.pk).count() >= settings.INSPIRE_USER_RUNNING_JOBS


def _inspect(job: Job, url: str | None = None, *, stream: bool = False) -> ytdlp.Source:
    return ytdlp.inspect(
        url or job.source_url,
        allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
        max_entries=settings.INSPIRE_MAX_PLAYLIST_LENGTH,
        cookies_file=settings.INSPIRE_COOKIES_FILE,
        socket_timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
        # A video's format and stream URL come with the same look at the link.
        stream_format=_stream_format() if stream else None,
        deadline_s=settings.INSPIRE_DOWNLOAD_DEADLINE_S,
    )


def _stream_format() -> str:
    return ytdlp.stream_format_spec(settings.INSPIRE_MAX_HEIGHT, settings.INSPIRE_MAX_FILESIZE_MB * MB)


def _run_link(job: Job, workdir: Path) -> None:
    _progress(job, 0.02, "Looking at the link…", force=True)
    source = _inspect(job, stream=True)
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
    _process_video(job, video, entry.url, workdir, stream=source.stream)


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
    gallery_services.video_attach_file(video=video, name=job.upload.name, content_type=meta.content_type)
    if job.user is not None:
        gallery_services.library_add(user=job.user, video=video)
    job.video = video
    job.save(update_fields=["video", "updated_at"])
    _process_video(job, video, "", workdir, local_file=local, meta=meta)


def _check_duration(seconds: float | None) -> None:
    limit = settings.INSPIRE_MAX_DURATION_S
    if seconds and seconds > limit:
        raise JobFailed(f"The video is longer than the {duration_text(limit)} limit.")


def _process_video(
    job: Job,
    video: Video,
    url: str,
    workdir: Path,
    *,
    more: bool = False,
    local_file: Path | None = None,
    meta: frames.VideoMeta | None = None,
    stream: ytdlp.Stream | None = None,
) -> None:
    """Read the stream in place (or download it, or read the local file) and extract frames,
    once per video however many jobs ask."""
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
        # A link is read in place when its format allows; downloaded whole otherwise.
        if path is not None or not _stream_frames(job, video, url or video.source_url, stream, wanted):
            downloaded = path is None
            if downloaded:
                path = _download(job, video, url or video.source_url, workdir)
            _analyse(job, video, path, wanted, meta, downloaded=downloaded)
    except Exception as exc:
        _release(job, video, error=_text(exc))
        return
    except TimeoutException:
        _after_interrupt()
        _release(job, video, error=timeout_message(), restart_waiting=True)
        raise
    _release(job, video)


def _analyse(
    job: Job,
    video: Video,
    path: Path | ytdlp.RangeReader,
    wanted: int,
    meta: frames.VideoMeta | None,
    *,
    downloaded: bool = False,
) -> None:
    """Measure the video (a file, or the range reader over its stream) and extract frames."""
    if meta is None:
        meta = frames.probe(path)
        _check_duration(meta.duration_ms / 1000)
    if downloaded and meta.truncated:
        # The site said the whole file was sent (its Content-Length), yet the end is missing:
        # frames from the first part only would be a quiet wrong answer.
        raise JobFailed(ytdlp.MSG_TRUNCATED)
    gallery_services.video_update_meta(
        video=video, duration=meta.duration_ms / 1000, width=meta.width, height=meta.height, fps=meta.fps
    )
    _extract(job, video, path, max(0, wanted - video.frames.count()), meta)


# --- Reading the stream in place (issue 14) ---------------------------------------------------
# Containers that FFmpeg can only seek in by bisecting bytes: read whole, from a download.
_UNINDEXED = frozenset({"video/mp2t", "video/mpeg"})
# A probe that read more than this share of a file found no index to seek by (a WebM
# written to a pipe): the frames would read it all again, so download it once instead. Below
# the floor a file is cheap to read in place however it is read.
_PROBE_SHARE = 0.5
_PROBE_SHARE_FLOOR = 16 * MB


def _stream_frames(job: Job, video: Video, url: str, stream: ytdlp.Stream | None, wanted: int) -> bool:
    """Extract frames reading only the bytes they need, with HTTP range requests; False (after
    saying why in the log) when this link must be downloaded whole instead."""
    if stream is None:
        _progress(job, 0.03, "Looking at the link…", force=True)
        source = _inspect(job, url, stream=True)  # stream URLs expire: resolved for each job
        if source.kind != "video":
            raise JobFailed(ytdlp.messages.MSG_PLAYLIST_FOR_DOWNLOAD)
        stream = source.stream
    if stream is None or not stream.single_file:
        logger.info("Job %s: %s is not one file we can read in place; downloading", job.pk, url)
        return False
    _check_duration(stream.duration)  # what the site says, before a byte of the video
    limit = settings.INSPIRE_MAX_FILESIZE_MB * MB
    if stream.filesize and stream.filesize > limit:
        raise JobFailed(f"The video is larger than the {size_text(limit)} limit.")
    _progress(job, 0.05, "Reading the video's index…", force=True)

    def refresh() -> tuple[str, dict[str, str]]:
        again = _inspect(job, url, stream=True).stream
        if again is None or not again.single_file:
            raise ytdlp.SourceError("The site stopped offering this video as one file; please try again.")
        return again.url, again.headers

    reader = ytdlp.RangeReader(
        stream.url,
        headers=stream.headers,
        allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
        timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
        max_request=stream.chunk_size,
        limits=ytdlp.Limits(
            deadline_s=settings.INSPIRE_DOWNLOAD_DEADLINE_S,
            min_speed_bps=settings.INSPIRE_MIN_SPEED_KBPS * KB,
            window_s=settings.INSPIRE_MIN_SPEED_WINDOW_S,
        ),
        refresh=refresh,
    )
    try:
        with reader:
            assert reader.size is not None
            if reader.size > limit:
                raise JobFailed(f"The video is larger than the {size_text(limit)} limit.")
            meta = frames.probe(reader)
            _check_duration(meta.duration_ms / 1000)
            unindexed = reader.size > _PROBE_SHARE_FLOOR and reader.bytes_read > _PROBE_SHARE * reader.size
            if meta.content_type in _UNINDEXED or unindexed:
                logger.info("Job %s: %s has no index to seek by; downloading", job.pk, url)
                return False
            _analyse(job, video, reader, wanted, meta)
    except ytdlp.RangesRefused:
        logger.info("Job %s: %s does not serve byte ranges; downloading", job.pk, url)
        return False
    except frames.FrameError:
        # PyAV may report a failed read as a broken file: the reader's own error says more.
        if reader.error is not None:
            raise reader.error from None
        raise
    note = f"Read {size_text(reader.bytes_read)} of {size_text(reader.size)} from the stream."
    logger.info("Job %s: %s (%s requests)", job.pk, note, reader.requests)
    job.result = {**job.result, "source_note": note}
    job.save(update_fields=["result", "updated_at"])
    return True


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


def _release(job: Job, video: Video, *, error: str | None = None, restart_waiting: bool = False) -> None:
    """Let go of the video and settle this job and every job that waited for it.

    `restart_waiting`: this job was stopped (its time ran out) rather than the video failing, so
    the jobs that waited for it get their own try instead of its failure.
    """
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
            elif restart_waiting:
                services.job_requeue(job=other)
            else:
                _fail(other, error)
    if error is None:
        # The reason this run kept fewer frames than asked, if it did; for this job alone, as
        # the jobs that waited asked for their own numbers.
        notes = [ready, job.result.get("frames_note", ""), job.result.get("source_note", "")]
        _finish(job, " ".join(filter(None, notes)))
    else:
        _fail(job, error)


LOST_MESSAGE = "The worker that took this stopped before it could start. Please try again."


def job_lost(*, job_id: int) -> bool:
    """Fail a queued job whose task was lost with a worker host (Redis); False if it moved on."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Job.Status.QUEUED or job.held:
            return False
        logger.warning("Job %s: its task is in no queue any more (its worker died); failing it", job.pk)
        _fail(job, LOST_MESSAGE)
    return True


def job_reap(*, job_id: int, cutoff) -> bool:
    """Fail a job whose task is gone (timed out or died) if it still runs an attempt started
    before `cutoff`; its video is released and the jobs waiting for it start again."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Job.Status.RUNNING or (job.started_at or job.updated_at) >= cutoff:
            return False  # it moved on while we looked
        logger.warning("Job %s ran past Q_TIMEOUT with no task left; failing it", job.pk)
        if job.holds_video and job.video_id is not None:
            _release(job, job.video, error=timeout_message(), restart_waiting=True)
        else:
            _fail(job, timeout_message())
    return True


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
        max_filesize=settings.INSPIRE_MAX_FILESIZE_MB * MB,
        max_duration=settings.INSPIRE_MAX_DURATION_S,
        allow_private=settings.INSPIRE_ALLOW_PRIVATE_URLS,
        cookies_file=settings.INSPIRE_COOKIES_FILE,
        socket_timeout=settings.INSPIRE_SOCKET_TIMEOUT_S,
        progress=on_progress,
        deadline_s=settings.INSPIRE_DOWNLOAD_DEADLINE_S,
        min_speed_bps=settings.INSPIRE_MIN_SPEED_KBPS * KB,
        speed_window_s=settings.INSPIRE_MIN_SPEED_WINDOW_S,
    )
    if not video.title:
        # For bare file links the title is the file name; a playlist's own title is better.
        gallery_services.video_update_meta(video=video, title=result.title)
    job.result = {**job.result, "source_note": f"Downloaded {size_text(result.filesize)} (read whole)."}
    job.save(update_fields=["result", "updated_at"])
    return result.path


def _extract(job: Job, video: Video, path: Path, count: int, meta: frames.VideoMeta) -> None:
    if count <= 0:
        return
    _progress(job, 0.6, f"Finding good frames (0 of {count})…", force=True)

    def on_progress(done: int, total: int) -> None:
        _progress(
            job, 0.6 + 0.4 * done / max(total, 1), f"Finding good frames ({done} of {total})…", force=True
        )

    signatures, hashes = gallery_queries.frame_likenesses(video)
    selection = frames.select_stills(
        path, count=count, meta=meta, avoid=signatures, known_hashes=hashes, on_progress=on_progress
    )
    if isinstance(path, ytdlp.RangeReader) and path.error is not None:
        # A read failed and PyAV carried on as if the file had ended: the selection is partial.
        raise path.error
    # Why fewer frames than asked ("only 3 distinct scenes…"): said again when the job ends.
    job.result = {**job.result, "frames_note": selection.message}
    job.save(update_fields=["result", "updated_at"])
    # All or nothing: a disk that fills half-way leaves no frames and no half-written file.
    gallery_services.frames_add(video=video, stills=selection.stills)


# --- Playlists ------------------------------------------------------------------------------
def _run_playlist(job: Job, source: ytdlp.Source | None) -> None:
    if source is None:
        _progress(job, 0.02, "Reading the playlist…", force=True)
        source = _inspect(job)
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
        # Entries whose link is not http(s) (javascript:, data:) never get here: inspect leaves
        # them out, and lists them in source.skipped for the job's final message.
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
        job.result = {
            **job.result,
            "videos": len(videos),
            "added": len(added),
            "skipped": list(source.skipped),
        }
        job.save(update_fields=["playlist", "result", "updated_at"])
        existing = {c.video_id: c for c in job.children.all()}
        for video in todo:
            child = existing.get(video.pk)
            if child is None:
                services.job_create_child(parent=job, video=video)
            elif child.status == Job.Status.QUEUED and child.attempts == 0:
                # A killed earlier attempt may have died before enqueueing it.
                services.job_enqueue(job=child)
        if not todo:
            if job.kind == Job.Kind.REFRESH:
                done = f"Up to date: {len(videos)} video{pluralize(videos)}, no new ones."
            elif len(videos) == 1:
                done = "The video is ready."
            else:
                done = f"All {len(videos)} videos are ready."
            _finish(job, done + _skipped_note(job))
            return
        _progress(job, 0.05, f"Processing {len(todo)} video{pluralize(todo)}…", force=True)
    _parent_check(job.pk)


def _skipped_note(job: Job) -> str:
    """What the playlist's final message says about entries refused for their link."""
    skipped = len(job.result.get("skipped") or [])
    if not skipped:
        return ""
    entries = "1 entry" if skipped == 1 else f"{skipped} entries"
    return f" Skipped {entries} whose link is not an http(s) web link."


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
            parent.message = f"{len(settled)} of {len(children)} video{pluralize(children)} processed…"
            parent.save(update_fields=["result", "progress", "message", "updated_at"])
            return
        parent.progress, parent.finished_at = 1.0, timezone.now()
        if failed and not ok:
            parent.status = Job.Status.FAILED
            if len(children) == 1:
                parent.message = f"Its video could not be processed: {failed[0].message}"
            else:
                parent.message = f"None of the {len(children)} videos could be processed: {failed[0].message}"
            parent.message += _skipped_note(parent)
        else:
            parent.status = Job.Status.DONE
            parent.message = f"{ok} of {len(children)} video{pluralize(children)} ready."
            if failed:
                parent.message += f" {len(failed)} failed."
            parent.message += _skipped_note(parent)
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
    listener = services.progress_listener()
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
    services.jobs_release_held(user_id=job.user_id)


def _fail(job: Job, message: str) -> None:
    logger.info("Job %s failed: %s", job.pk, message)
    job.status, job.message, job.finished_at = Job.Status.FAILED, message[:1000], timezone.now()
    job.holds_video = False
    job.save(update_fields=["status", "message", "finished_at", "holds_video", "updated_at"])
    _last_write.pop(job.pk, None)
    _notify(job)
    _parent_check(job.parent_id)
    services.jobs_release_held(user_id=job.user_id)
