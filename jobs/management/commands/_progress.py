"""Shared by the commands that can wait for a job: run it here and draw a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from jobs import pipeline, services
from jobs.models import Job


class ProgressBar:
    """Redraws one line on a terminal; prints a line per change when piped (logs, CI)."""

    def __init__(self, stdout: OutputWrapper, width: int = 30) -> None:
        self.stdout, self.width = stdout, width
        self.interactive = sys.stdout.isatty()
        self.last_line, self.last_draw = "", 0.0

    def __call__(self, job: Job) -> None:
        line = self._line(job)
        now = time.monotonic()
        if line == self.last_line or (now - self.last_draw < 0.2 and job.progress < 1):
            return
        self.last_line, self.last_draw = line, now
        self.stdout.write(("\r" if self.interactive else "") + line, ending="" if self.interactive else "\n")

    def _line(self, job: Job) -> str:
        filled = round(job.progress * self.width)
        label = f"job {job.pk}" + (f" ({job.kind})" if job.parent_id else "")
        bar = "#" * filled + "." * (self.width - filled)
        return f"[{bar}] {job.progress * 100:3.0f}% {label}: {job.message}"[:160]

    def close(self) -> None:
        if self.interactive and self.last_line:
            self.stdout.write("")


def start_and_run(start: Callable[[], Any], stdout: OutputWrapper) -> tuple[Any, Job | None]:
    """Call `start()` inside jobs_inline (nothing is queued), run the job it made here.

    Returns what `start()` returned and the settled job, or None when it made no job.
    """
    bar = ProgressBar(stdout)
    with services.jobs_inline(on_progress=bar):
        started = start()
        job = getattr(started, "job", started)
        if job is not None:
            job = pipeline.job_run_inline(job_id=job.pk)
    bar.close()
    return started, job


def finish(job: Job, stdout: OutputWrapper) -> None:
    """Print the outcome; a failed job is an error (non-zero exit)."""
    if job.status == Job.Status.FAILED:
        raise CommandError(job.message or "The job failed.")
    stdout.write(f"Done: {job.message}")
    if job.video_id and not job.playlist_id:
        for frame in job.video.frames.order_by("timestamp_ms"):
            stdout.write(f"  {frame.timestamp_label}  {frame.image.name}")
