"""Shared by the commands that can wait for a job: run it here and draw a progress bar."""

from __future__ import annotations

import sys
import threading

from django.core.management.base import CommandError, OutputWrapper
from django.db import close_old_connections

from jobs import services
from jobs.models import Job


def run_and_report(job: Job, stdout: OutputWrapper) -> Job:
    """Run `job` (and its children) in this process while a thread draws its progress."""
    done = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            services.job_run_inline(job_id=job.pk)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            done.set()

    thread = threading.Thread(target=work, name=f"job-{job.pk}", daemon=True)
    thread.start()
    interactive = sys.stdout.isatty()
    last = ""
    while not done.wait(0.3):
        line = _bar(Job.objects.get(pk=job.pk))
        if line != last:
            stdout.write(("\r" if interactive else "") + line, ending="" if interactive else "\n")
            last = line
    thread.join()
    close_old_connections()
    job.refresh_from_db()
    stdout.write(("\r" if interactive else "") + _bar(job))
    if errors:
        raise CommandError(f"The job crashed: {errors[0]}")
    return job


def _bar(job: Job, width: int = 30) -> str:
    filled = round(job.progress * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {job.progress * 100:3.0f}% {job.message}"[:160]


def finish(job: Job, stdout: OutputWrapper) -> None:
    """Print the outcome; a failed job is an error (non-zero exit)."""
    if job.status == Job.Status.FAILED:
        raise CommandError(job.message or "The job failed.")
    target = job.playlist if job.playlist_id else job.video
    if target is not None:
        stdout.write(f"Done: {target} — {job.message}")
        for frame in (job.video.frames.order_by("timestamp_ms") if job.video_id and not job.playlist_id else []):
            stdout.write(f"  {frame.timestamp_label}  {frame.image.name}")
    else:
        stdout.write(job.message)
